#include "sync/sources/people_jobs.hpp"

#include "connectors/people.hpp"

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

namespace {

SourceRecord record_of(const connectors::PeopleJob& j) {
  SourceRecord out;
  out.key = j.id;
  out.record = job_record(j);
  return out;
}

}  // namespace

boost::asio::awaitable<connectors::Expected<connectors::Page<SourceRecord>>> PeopleJobsSource::page(int index) {
  connectors::JobQuery q;
  q.s_index = index * connectors::PeopleClient::kPageSize;
  q.limit = connectors::PeopleClient::kPageSize;
  auto got = co_await people_.get_jobs(q);
  if (auto* e = std::get_if<connectors::CallError>(&got)) co_return *e;
  const auto& pg = std::get<connectors::Page<connectors::PeopleJob>>(got);
  connectors::Page<SourceRecord> out;
  out.more = pg.more;
  for (const auto& j : pg.items) out.items.push_back(record_of(j));
  co_return out;
}

}  // namespace peoplesync::sync
