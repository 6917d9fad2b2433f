#include "sync/writeback.hpp"

#include <algorithm>

namespace peoplesync::sync {

Value job_record(const connectors::PeopleJob& j) {
  Value::Object o;
  auto put = [&](const char* k, const std::string& v) { o.emplace(k, Value::string(v)); };
  put("jobId", j.id);
  put("jobName", j.name);
  put("projectId", j.project_id);
  put("projectName", j.project_name);
  put("clientId", j.client_id);
  put("clientName", j.client_name);
  put("jobStatus", j.status);
  put("fromDate", j.from_date);
  put("toDate", j.to_date);
  put("description", j.description);
  put("hours", j.hours);
  put("totalhours", j.total_hours);
  put("id", j.id);
  return Value::object(std::move(o));
}

std::optional<std::string> typed_update(const std::string& module, const std::vector<connectors::CrmField>& fields,
                                        const Mapped& m, connectors::CrmUpdate& u) {
  const auto* obj = m.fields.as_object();
  if (!obj) return "the mapping gave no fields";
  for (const auto& [name, v] : *obj) {
    auto f = std::find_if(fields.begin(), fields.end(), [&](const connectors::CrmField& x) { return x.api_name == name; });
    if (f == fields.end()) return "CRM module " + module + " has no field " + name;
    auto typed = connectors::crm_typed_value(*f, v.text());
    if (auto* why = std::get_if<std::string>(&typed)) return *why;
    u.fields.emplace_back(name, std::get<Value>(std::move(typed)));
  }
  return std::nullopt;
}

}  // namespace peoplesync::sync
