// Every People reply parser behind PeopleClient (shared/api/people-*.txt):
// projects, jobs, job details, the id of an added job or forms record, job
// status and deletion, bulk time logs with per-item errorLogs, time logs,
// deleted time logs and reference-id lookups. The first line names the call;
// the rest is the reply script (fuzz/support.hpp). Whatever the replies, the
// call completes with a value or a CallError naming its endpoint.
#include <array>

#include "connectors/people.hpp"
#include "rig.hpp"

using namespace peoplesync;
using namespace peoplesync::connectors;

namespace {

constexpr std::array<std::string_view, 13> kOps = {
    "getprojects", "getjobs",          "getjobdetails",   "addjob",        "insertRecord",
    "updateRecord", "modifyjob",       "modifyjobstatus", "deletejob",     "addupdatetimelogs",
    "gettimelogs",  "deletetimelog",   "getRecordIdsByReferenceIds"};

template <class T>
void check_error(const Expected<T>& r) {
  if (const auto* e = std::get_if<CallError>(&r)) {
    fuzz::check(e->message.find("people/") != std::string::npos, "a People error that names no endpoint");
  }
}

JobInput job() {
  JobInput j;
  j.name = "CRM deal 4150868000000624002";
  j.assignees = {{"ada@example.com", "10:00", "50"}, {"bob@example.com", "", ""}};
  j.project_id = "100000000038121";
  j.from_date = "2024-05-01";
  j.to_date = "2024-05-31";
  return j;
}

std::vector<TimelogInput> timelogs() {
  std::vector<TimelogInput> v(4);
  v[0].user = "ada@example.com", v[0].job_id = "100000000038135", v[0].date = "2024-05-01", v[0].hours = "01:30";
  v[1].user = "ada@example.com", v[1].job_id = "100000000038135", v[1].date = "2024-05-01", v[1].hours = "02:00";
  v[2].user = "bob@example.com", v[2].job_id = "100000000038137", v[2].date = "2024-05-02",
  v[2].timelog_id = "100000000042017", v[2].hours = "00:45";
  v[3].user = "bob@example.com", v[3].job_id = "100000000038137", v[3].date = "2024-05-03",
  v[3].start_time = "09:00", v[3].end_time = "10:15";
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = fuzz::as_text(data, size);
  const std::size_t op = fuzz::pick_op(in, kOps);
  Response none;  // replies exhausted: the connection drops
  none.status = 503;
  fuzz::Rig rig(in, none);
  PeopleClient people(rig.api, "https://people.zoho.com");
  rig.run([&]() -> boost::asio::awaitable<void> {
    switch (op) {
      case 0: {
        auto r = co_await people.get_projects(0);
        check_error(r);
        if (auto* p = std::get_if<Page<PeopleProject>>(&r))
          for (const auto& x : p->items) fuzz::check(!x.id.empty(), "a project without an id");
        break;
      }
      case 1: {
        auto r = co_await people.get_jobs(JobQuery{});
        check_error(r);
        if (auto* p = std::get_if<Page<PeopleJob>>(&r))
          for (const auto& x : p->items) fuzz::check(!x.id.empty(), "a job without an id");
        break;
      }
      case 2: check_error(co_await people.get_job_details("100000000038135")); break;
      case 3: {
        auto r = co_await people.add_job(job());
        check_error(r);
        if (auto* id = std::get_if<std::string>(&r)) fuzz::check(!id->empty(), "addjob: an empty job id");
        break;
      }
      case 4: {
        auto r = co_await people.insert_job_record(job());
        check_error(r);
        if (auto* id = std::get_if<std::string>(&r)) fuzz::check(!id->empty(), "insertRecord: an empty pkId");
        break;
      }
      case 5: check_error(co_await people.update_job_record("100000000038135", job())); break;
      case 6: check_error(co_await people.modify_job("100000000038135", job())); break;
      case 7: check_error(co_await people.modify_job_status("100000000038135", "Completed")); break;
      case 8: check_error(co_await people.delete_jobs({"100000000038135", "100000000038137"})); break;
      case 9: {
        const auto items = timelogs();
        auto r = co_await people.add_update_timelogs(items);
        check_error(r);
        if (auto* b = std::get_if<BulkTimelogResult>(&r)) {
          fuzz::check(b->items.size() == items.size(), "addupdatetimelogs: not one result per item");
          for (const auto& it : b->items) {
            if (it.kind != TimelogItemResult::Kind::failed)
              fuzz::check(!it.timelog_id.empty(), "addupdatetimelogs: an item confirmed without a time log id");
            else
              fuzz::check(it.outcome != Outcome::ok, "addupdatetimelogs: a failed item with outcome ok");
          }
        }
        break;
      }
      case 10: {
        TimelogQuery q;
        q.from_date = "2024-05-01";
        q.to_date = "2024-05-31";
        auto r = co_await people.get_timelogs(q);
        check_error(r);
        if (auto* p = std::get_if<Page<PeopleTimelog>>(&r))
          for (const auto& x : p->items) fuzz::check(!x.id.empty(), "a time log without an id");
        break;
      }
      case 11: check_error(co_await people.delete_timelogs({"100000000042017", "100000000042019"})); break;
      default: {
        auto r = co_await people.record_ids_by_reference("Zoho CRM", "job", {"4150868000000624002", "4150868000000624003"});
        check_error(r);
        if (auto* m = std::get_if<std::map<std::string, std::string>>(&r))
          for (const auto& [k, v] : *m) fuzz::check(!v.empty(), "a reference mapped to an empty id");
        break;
      }
    }
  });
  return 0;
}
