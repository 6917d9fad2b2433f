#pragma once
// CRM records of one module as a watermark source: If-Modified-Since walks
// (the client keeps ties on a second and walks a crowded one by id) and the
// module's deleted records.
#include <string>
#include <vector>

#include "sync/source.hpp"

namespace peoplesync::connectors {
class CrmClient;
}

namespace peoplesync::sync {

class CrmRecordsSource final : public WatermarkSource {
 public:
  CrmRecordsSource(connectors::CrmClient& crm, std::string module, std::vector<std::string> fields)
      : crm_(crm), module_(std::move(module)), fields_(std::move(fields)) {}

  boost::asio::awaitable<connectors::Expected<WalkStats>> read_since(const Watermark& from, Sink sink) override;
  boost::asio::awaitable<connectors::Expected<connectors::Page<Deletion>>> deleted_since(
      const std::optional<std::string>& since, int page) override;

 private:
  connectors::CrmClient& crm_;
  std::string module_;
  std::vector<std::string> fields_;
};

}  // namespace peoplesync::sync
