#pragma once
// CRM records updated from People (the write-back): values typed by the
// module's field metadata (read once per pass), sent 100 records per call as
// the source is read, the last ones when it ends. An update sets values, so
// one that failed is simply sent again on the next pass: nothing to read back.
#include <string>
#include <vector>

#include "connectors/crm.hpp"
#include "sync/target.hpp"

namespace peoplesync::sync {

// The mapped values as the module's field types want them (numbers as JSON
// numbers, booleans, CRM dates), appended to `u`; or why one of them cannot
// be written (an unknown or read-only field, a value the type cannot hold),
// naming the field, the value and the type. The preflight uses it too.
std::optional<std::string> typed_update(const std::string& module, const std::vector<connectors::CrmField>& fields,
                                        const Mapped& m, connectors::CrmUpdate& u);

class CrmUpdateTarget final : public Target {
 public:
  CrmUpdateTarget(Pass& pass, connectors::CrmClient& crm) : pass_(pass), crm_(crm) {}

  boost::asio::awaitable<bool> prepare(const config::Stream& s, StreamReport& rep) override;
  boost::asio::awaitable<Step> write(const config::Stream& s, std::vector<Ready>& items, state::Commit& c,
                                     StreamReport& rep, Shown& shown) override;
  boost::asio::awaitable<Step> flush(const config::Stream& s, StreamReport& rep, Shown& shown) override;
  boost::asio::awaitable<std::optional<std::vector<ReadBack>>> read_back(const config::Stream& s,
                                                                         const std::vector<state::OutboxEntry>& doubtful,
                                                                         std::set<std::string>& mapped,
                                                                         StreamReport& rep) override;

 private:
  struct Pending {
    Work w;
    Mapped m;
    connectors::CrmUpdate u;
  };
  // Sends the pending updates, 100 a call; `all`: a last part-full call too.
  boost::asio::awaitable<bool> send(const config::Stream& s, bool all, StreamReport& rep, Shown& shown);
  boost::asio::awaitable<bool> send_batch(const config::Stream& s, std::size_t i, std::size_t end, StreamReport& rep,
                                          Shown& shown);

  Pass& pass_;
  connectors::CrmClient& crm_;
  std::vector<connectors::CrmField> fields_;  // of the stream's module, this pass
  std::vector<Pending> pending_;
};

}  // namespace peoplesync::sync
