#include "config/catalog.hpp"

#include <chrono>

namespace peoplesync::config {

const std::vector<DataCenterHosts>& data_centers() {
  // BEHAVIOUR.md: accounts -> API host is confirmed (C) for every DC; People
  // hosts are confirmed for com/eu only, the rest follow the same pattern (U),
  // and Canada's accounts server lives on zohocloud.ca (C), so we assume its
  // People host does too. Every host can be overridden in config.
  static const std::vector<DataCenterHosts> table{
      {DataCenter::com, "com", "https://accounts.zoho.com", "https://www.zohoapis.com",
       "https://people.zoho.com"},
      {DataCenter::eu, "eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu",
       "https://people.zoho.eu"},
      {DataCenter::in, "in", "https://accounts.zoho.in", "https://www.zohoapis.in",
       "https://people.zoho.in"},
      {DataCenter::com_au, "com.au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au",
       "https://people.zoho.com.au"},
      {DataCenter::jp, "jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp",
       "https://people.zoho.jp"},
      {DataCenter::ca, "ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca",
       "https://people.zohocloud.ca"},
      {DataCenter::sa, "sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa",
       "https://people.zoho.sa"},
      {DataCenter::com_cn, "com.cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn",
       "https://people.zoho.com.cn"},
  };
  return table;
}

std::optional<DataCenterHosts> find_data_center(std::string_view name) {
  for (const auto& d : data_centers())
    if (d.name == name) return d;
  return std::nullopt;
}

const DataCenterHosts& hosts_of(DataCenter dc) {
  for (const auto& d : data_centers())
    if (d.dc == dc) return d;
  return data_centers().front();
}

const std::vector<EndpointDefault>& endpoint_defaults() {
  using std::chrono::minutes;
  constexpr Duration kLock = minutes{5};
  // Threshold = calls per minute, enforced by us over any sliding 60 s window.
  // Documented (C): getRecordIdsByReferenceIds 50, getprojects/getclients/
  // modifyjobstatus 20, addupdatetimelogs 30, deletetimelog 20, forms
  // insertRecord 100 (one page says 300; we take the stricter). Not
  // published (U): the rest get 20, the strictest documented People value.
  static const std::vector<EndpointDefault> table{
      {"crm", LimitKind::crm, Limit{100, Duration{0}, 10, 50000, 0}, false},
      {"people", LimitKind::people_daily, Limit{0, Duration{0}, 0, 0, 0}, false},
      {"people/addjob", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, false},
      {"people/addupdatetimelogs", LimitKind::people_endpoint, Limit{30, kLock, 0, 0, 0}, true},
      {"people/deletejob", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, false},
      {"people/deletetimelog", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, true},
      {"people/getRecordIdsByReferenceIds", LimitKind::people_endpoint, Limit{50, kLock, 0, 0, 0}, true},
      {"people/getclients", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, true},
      {"people/getjobdetails", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, false},
      {"people/getjobs", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, false},
      {"people/getprojects", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, true},
      {"people/gettimelogs", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, false},
      {"people/insertRecord", LimitKind::people_endpoint, Limit{100, kLock, 0, 0, 0}, true},
      {"people/modifyjob", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, false},
      {"people/modifyjobstatus", LimitKind::people_endpoint, Limit{20, kLock, 0, 0, 0}, true},
      // The employee records view (assignee emails -> erecnos): 30/min (C, fetch-record page).
      {"people/records", LimitKind::people_endpoint, Limit{30, kLock, 0, 0, 0}, false},
      {"people/updateRecord", LimitKind::people_endpoint, Limit{100, kLock, 0, 0, 0}, false},
  };
  return table;
}

const EndpointDefault* find_endpoint(std::string_view name) {
  for (const auto& e : endpoint_defaults())
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace peoplesync::config
