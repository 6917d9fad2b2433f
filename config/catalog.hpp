#pragma once
// What the vendor documents (or we chose where it does not): data-centre hosts
// and per-endpoint limits. Plain data; connectors/ builds URLs from Config.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace peoplesync::config {

struct DataCenterHosts {
  DataCenter dc;
  std::string_view name;  // as written in config: "com", "com.au", ...
  std::string_view accounts_url;
  std::string_view crm_url;
  std::string_view people_url;
};

const std::vector<DataCenterHosts>& data_centers();
std::optional<DataCenterHosts> find_data_center(std::string_view name);
const DataCenterHosts& hosts_of(DataCenter dc);

enum class LimitKind { crm, people_endpoint, people_daily };

struct EndpointDefault {
  std::string_view name;  // "people/addupdatetimelogs"
  LimitKind kind;
  Limit limit;
  bool documented;  // false: threshold not published, conservative choice
};

// Every endpoint the daemon may call, with its default limit.
const std::vector<EndpointDefault>& endpoint_defaults();
const EndpointDefault* find_endpoint(std::string_view name);

}  // namespace peoplesync::config
