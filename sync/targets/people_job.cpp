#include "sync/targets/people_job.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "common/timefmt.hpp"
#include "connectors/people.hpp"
#include "state/outbox_ops.hpp"
#include "state/store.hpp"
#include "sync/intent.hpp"
#include "sync/parking.hpp"

namespace peoplesync::sync {
namespace {

using boost::asio::awaitable;
using connectors::CallError;
using connectors::JobInput;
using connectors::PeopleClient;

constexpr const char* kEmployeeService = "Zoho People";
constexpr const char* kEmployeeEntity = "employee";
constexpr std::string_view kAllAssignees = "All";

// The id-map hash of a job keeps the fields and the status apart, so a
// status change alone is one modifyjobstatus call.
struct JobHash {
  std::string fields, status;
  static JobHash parse(const std::string& s) {
    const auto c = s.find(':');
    if (c == std::string::npos) return {s, ""};
    return {s.substr(0, c), s.substr(c + 1)};
  }
  std::string str() const { return fields + ":" + status; }
};

// The job a stream's mapping describes (its `map` keys are the people.job
// fields of PRODUCT.md).
JobInput job_input(const Value& f) {
  JobInput j;
  j.name = text_of(f, "jobName");
  j.project_id = text_of(f, "projectId");
  j.from_date = text_of(f, "fromDate");
  j.to_date = text_of(f, "toDate");
  j.description = text_of(f, "description");
  j.rate_per_hour = text_of(f, "ratePerHour");
  if (const Value* a = f.get("assignees")) {
    if (const auto* arr = a->as_array()) {
      for (const auto& x : *arr)
        j.assignees.push_back({text_of(x, "assignedTo"), text_of(x, "hours"), text_of(x, "rate")});
    } else if (a->is_scalar()) {
      j.assignees.push_back({a->text(), "", ""});
    }
  }
  return j;
}

// A job date the form cannot take: the mapping must give yyyy-MM-dd (the
// client writes it in the company date format).
std::optional<std::string> bad_job_date(const JobInput& in) {
  for (auto [name, d] : {std::pair{"fromDate", &in.from_date}, std::pair{"toDate", &in.to_date}})
    if (!d->empty() && (d->size() != 10 || !parse_iso8601(*d)))
      return std::string(name) + " '" + *d + "' is not a date (yyyy-MM-dd; use the |date filter)";
  return std::nullopt;
}

// The forms API refused an assignee (7048 "no such user", or 7013 / 7050
// naming Assignees): an erecno from the cache that People no longer knows.
bool assignees_refused(const CallError& e) {
  if (e.vendor_code == "7048") return true;
  if (e.vendor_code != "7013" && e.vendor_code != "7050") return false;
  return ascii_lower(e.message).find("assignee") != std::string::npos;
}

bool is_erecno(const std::string& who) {
  return !who.empty() && std::all_of(who.begin(), who.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

std::string employee_key(const std::string& who) {
  return who.find('@') != std::string::npos ? ascii_lower(who) : who;
}

}  // namespace

void PeopleJobTarget::begin() {
  erecno_of_.clear();
  employee_missing_.clear();
}

awaitable<Step> PeopleJobTarget::write(const config::Stream& s, std::vector<Ready>& items, state::Commit& c,
                                       StreamReport& rep, Shown& shown) {
  if (!items.empty() && !co_await resolution_.load_projects(rep)) co_return stopped();
  if (!items.empty() && !co_await resolve_assignees(items, rep)) co_return stopped();
  Step result;
  for (auto& item : items) {
    if (pass_.stop_requested) co_return stopped();
    Step one = co_await write_one(s, item, c, rep, shown);
    if (!one.ok) co_return one;
    merge_doubt(result, one);
  }
  co_return result;
}

awaitable<Step> PeopleJobTarget::write_one(const config::Stream& s, Ready& item, state::Commit& c,
                                           StreamReport& rep, Shown& shown) {
  auto& [w, m] = item;
  JobInput in = job_input(m.fields);
  if (auto bad = bad_job_date(in)) {
    dead_letter(pass_, s, w, *bad, "", c, rep);
    co_return Step{};
  }
  if (!in.project_id.empty() && resolution_.project_completed(in.project_id)) {
    dead_letter(pass_, s, w,
                "project " + in.project_id + " is completed in People: no job can be added to or changed in it", "",
                c, rep);
    co_return Step{};
  }
  const auto existing = pass_.store.id_map_get(s.name, w.key);
  const bool read_back = existing && pass_.added_by_read_back.erase({s.name, w.key});
  if (read_back) ++rep.created;
  const JobHash want{m.hash, m.status.value_or("")};
  // People creates jobs "In-Progress"; without a `status:` mapping the
  // status is never touched.
  const JobHash have =
      existing ? JobHash::parse(existing->hash) : JobHash{"", m.status ? std::string(connectors::kStatusInProgress) : ""};
  const bool fields_change = !existing || have.fields != want.fields;
  const bool status_change = m.status && have.status != want.status;
  if (!fields_change && !status_change) {
    if (!read_back) ++rep.unchanged;
    if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
    co_return Step{};
  }
  if (pass_.opt.dry_run) {
    plan_change(s, item, in, existing, fields_change, status_change, rep, shown);
    co_return Step{};
  }
  std::string job_id = existing ? existing->target_id : "";
  if (fields_change) {
    if (auto missing = to_erecnos(in)) {
      park(pass_, s, w, "no People employee with the email or id '" + *missing + "' yet", c, rep);
      co_return Step{};
    }
    const std::string hash = JobHash{want.fields, have.status}.str();
    const std::int64_t intent =
        store_intent(pass_, s, w.key, existing ? state::op::job_modify : state::op::job_add,
                     encode(JobIntent{hash, in.name, in.project_id, in.from_date, in.to_date}));
    // No co_await inside ?: (g++ 12 mishandles it).
    connectors::Expected<std::string> got;
    if (existing) got = co_await pass_.limited(rep, [&] { return people_.update_job_record(job_id, in); });
    else got = co_await pass_.limited(rep, [&] { return people_.insert_job_record(in); });
    if (auto* e = std::get_if<CallError>(&got)) {
      if (assignees_refused(*e)) {
        forget_assignees(job_input(m.fields));
        c.outbox_done.push_back(intent);
        park(pass_, s, w, "People refused the assignees (" + e->message + "); they are looked up again", c, rep);
        co_return Step{};
      }
      co_return write_failed(pass_, s, w, *e, c, rep, intent);
    }
    if (existing) {
      ++rep.updated;
    } else {
      job_id = std::get<std::string>(got);
      ++rep.created;
    }
    c.outbox_done.push_back(intent);
    c.id_map_upserts.push_back({s.name, w.key, job_id, hash, 0, w.day});
  }
  if (status_change) {
    Step sent = co_await send_status(s, item, job_id, want.str(), c, rep);
    co_return sent;
  }
  if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
  co_return Step{};
}

void PeopleJobTarget::plan_change(const config::Stream& s, const Ready& item, const JobInput& in,
                                  const std::optional<state::IdMapEntry>& existing, bool fields_change,
                                  bool status_change, StreamReport& rep, Shown& shown) {
  const auto& [w, m] = item;
  JobInput probe = in;
  if (auto missing = fields_change ? to_erecnos(probe) : std::nullopt) {
    pass_.plan(rep, shown, "wait", w.key + ": no People employee with the email or id '" + *missing + "' yet");
    ++rep.parked;
    return;
  }
  if (!existing) {
    pass_.plan(rep, shown, "create job", "'" + in.name + "' for " + w.key);
    pass_.planned[s.name].insert(w.key);
    ++rep.created;
  } else if (fields_change) {
    pass_.plan(rep, shown, "update job", existing->target_id + " '" + in.name + "' for " + w.key);
    ++rep.updated;
  }
  if (status_change) {
    pass_.plan(rep, shown, "status", (existing ? existing->target_id : "new job") + " -> " + *m.status);
    ++rep.status_changes;
  }
}

// modifyjobstatus, the last write of a record: the id-map row gets the final
// hash (fields and status) and a parked copy is done.
awaitable<Step> PeopleJobTarget::send_status(const config::Stream& s, Ready& item, const std::string& job_id,
                                             const std::string& hash, state::Commit& c, StreamReport& rep) {
  const Work& w = item.first;
  const std::string status = *item.second.status;
  const std::int64_t intent = store_intent(pass_, s, w.key, state::op::job_status, encode(StatusIntent{status}));
  auto got = co_await pass_.limited(rep, [&] { return people_.modify_job_status(job_id, status); });
  if (auto* e = std::get_if<CallError>(&got)) co_return write_failed(pass_, s, w, *e, c, rep, intent);
  ++rep.status_changes;
  c.outbox_done.push_back(intent);
  // Replace the upsert of the fields (if any) with the final hash.
  std::erase_if(c.id_map_upserts,
                [&](const state::IdMapEntry& e) { return e.stream == s.name && e.source_key == w.key; });
  c.id_map_upserts.push_back({s.name, w.key, job_id, hash, 0, w.day});
  if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
  co_return Step{};
}

// ------------------------------------------------------------ assignees

awaitable<bool> PeopleJobTarget::resolve_assignees(const std::vector<Ready>& items, StreamReport& rep) {
  std::set<std::string> wanted;
  for (const auto& [w, m] : items)
    for (const auto& a : job_input(m.fields).assignees)
      if (!is_erecno(a.assigned_to) && !a.assigned_to.empty() && !iequals(a.assigned_to, kAllAssignees)) {
        const std::string k = employee_key(a.assigned_to);
        if (!erecno_of_.count(k) && !employee_missing_.count(k)) wanted.insert(k);
      }
  if (wanted.empty()) co_return true;
  const std::vector<std::string> keys(wanted.begin(), wanted.end());
  for (const auto& [k, e] : pass_.store.ref_cache_get(kEmployeeService, kEmployeeEntity, keys))
    if (!e.people_id.empty()) {
      erecno_of_[k] = e.people_id;
      wanted.erase(k);
    }
  std::vector<state::RefCacheEntry> put;
  const std::int64_t now = to_unix_ms(pass_.clock.now());
  for (const auto& k : wanted) {
    auto got = co_await pass_.limited(rep, [&] { return people_.find_employee(k); });
    if (auto* e = std::get_if<CallError>(&got)) {
      pass_.note_error(rep, *e);
      co_return false;
    }
    const auto& found = std::get<std::optional<connectors::PeopleEmployee>>(got);
    if (found) erecno_of_[k] = found->erecno;
    else employee_missing_.insert(k);
    put.push_back({kEmployeeService, kEmployeeEntity, k, found ? found->erecno : "", 1, now});
  }
  if (!pass_.opt.dry_run) pass_.store.ref_cache_put(put);
  co_return true;
}

std::optional<std::string> PeopleJobTarget::to_erecnos(JobInput& in) const {
  for (auto& a : in.assignees) {
    if (is_erecno(a.assigned_to) || iequals(a.assigned_to, kAllAssignees)) continue;
    auto it = erecno_of_.find(employee_key(a.assigned_to));
    if (it == erecno_of_.end()) return a.assigned_to;
    a.assigned_to = it->second;
  }
  return std::nullopt;
}

void PeopleJobTarget::forget_assignees(const JobInput& mapped) {
  std::vector<state::RefCacheEntry> put;
  const std::int64_t now = to_unix_ms(pass_.clock.now());
  for (const auto& a : mapped.assignees)
    if (!is_erecno(a.assigned_to)) {
      erecno_of_.erase(employee_key(a.assigned_to));
      put.push_back({kEmployeeService, kEmployeeEntity, employee_key(a.assigned_to), "", 0, now});
    }
  if (!pass_.opt.dry_run && !put.empty()) pass_.store.ref_cache_put(put);
}

// ------------------------------------------------------------ read-back

awaitable<std::optional<std::vector<ReadBack>>> PeopleJobTarget::read_back(
    const config::Stream&, const std::vector<state::OutboxEntry>& doubtful, std::set<std::string>& mapped,
    StreamReport& rep) {
  std::vector<ReadBack> found;
  std::optional<std::vector<connectors::PeopleJob>> jobs;  // read once, only if a job add is in doubt
  for (const auto& e : doubtful) {
    if (e.op != state::op::job_add) continue;
    if (!jobs) {
      jobs.emplace();
      for (int s_index = 0;; s_index += PeopleClient::kPageSize) {
        connectors::JobQuery q;
        q.s_index = s_index;
        q.fetch_logged_hours = false;
        auto page = co_await pass_.limited(rep, [&] { return people_.get_jobs(q); });
        if (auto* err = std::get_if<CallError>(&page)) {
          pass_.note_error(rep, *err);
          co_return std::nullopt;
        }
        auto& pg = std::get<connectors::Page<connectors::PeopleJob>>(page);
        for (auto& j : pg.items) jobs->push_back(std::move(j));
        if (!pg.more || pg.items.empty()) break;
      }
    }
    const JobIntent p = decode_job_intent(e.payload);
    for (const auto& j : *jobs) {
      if (mapped.count(j.id)) continue;
      // The form has no description: a job is known by its name, project
      // and dates (getjobs is read with dateFormat yyyy-MM-dd).
      if (j.name == p.name && (p.project.empty() || j.project_id == p.project) &&
          (p.from.empty() || j.from_date == p.from) && (p.to.empty() || j.to_date == p.to)) {
        mapped.insert(j.id);
        found.push_back({e.id, j.id, p.hash});
        break;
      }
    }
  }
  co_return found;
}

// ------------------------------------------------------------- deletion

awaitable<std::optional<CallError>> PeopleJobTarget::remove(const config::Stream& s, const std::string& key,
                                                            const std::string& target_id, state::Commit& c,
                                                            StreamReport& rep) {
  const bool complete = s.on_delete == config::OnDelete::complete;
  const std::string completed(connectors::kStatusCompleted);
  const std::int64_t intent =
      store_intent(pass_, s, key, complete ? state::op::job_status : state::op::job_delete, empty_intent());
  std::optional<CallError> err;
  if (complete) {
    auto r = co_await pass_.limited(rep, [&] { return people_.modify_job_status(target_id, completed); });
    if (auto* e = std::get_if<CallError>(&r)) err = *e;
  } else {
    const std::vector<std::string> ids{target_id};
    auto r = co_await pass_.limited(rep, [&] { return people_.delete_jobs(ids); });
    if (auto* e = std::get_if<CallError>(&r)) err = *e;
  }
  c.outbox_done.push_back(intent);
  if (err && err->outcome != connectors::Outcome::permanent) co_return err;
  if (err) pass_.log.with("stream", s.name).warn("deleting {} for {}: {}", target_id, key, err->message);
  if (complete) {
    // Keep the mapping, with a hash no mapping produces, so a record
    // restored at the source is written again.
    c.id_map_upserts.push_back({s.name, key, target_id, std::string(kDeletedHashPrefix) + completed, 0});
  } else {
    c.id_map_deletes.emplace_back(s.name, key);
  }
  co_return std::nullopt;
}

std::string PeopleJobTarget::remove_plan(const config::Stream& s) const {
  return s.on_delete == config::OnDelete::complete ? "complete (deleted in CRM)" : "delete";
}

}  // namespace peoplesync::sync
