#include "sync/engine.hpp"

#include <algorithm>
#include <set>

#include "common/json.hpp"
#include "common/log.hpp"
#include "common/timefmt.hpp"
#include "connectors/crm.hpp"
#include "connectors/people.hpp"
#include "state/store.hpp"
#include "sync/mapper.hpp"
#include "sync/writeback.hpp"

namespace peoplesync::sync {
namespace {

using boost::asio::awaitable;
using connectors::CallError;
using connectors::Outcome;

constexpr int kLimitRetries = 6;  // lock / 429 replies waited out per call before the stream stops
// In-doubt episodes in a row, with nothing confirmed in between, before a
// stream stops (see process_settled).
constexpr int kDoubtBudget = 5;
// CRM pages (200 records) are processed in chunks of about this many records:
// one page of calls would fill one bulk time-log call and leave a second one
// part-empty, and ask for its references in a call of its own.
constexpr std::size_t kChunkRecords = 1000;

// Outbox operations.
constexpr const char* kOpJobAdd = "job.add";
constexpr const char* kOpJobModify = "job.modify";
constexpr const char* kOpJobStatus = "job.status";
constexpr const char* kOpJobDelete = "job.delete";
constexpr const char* kOpTimelogAdd = "timelog.add";
constexpr const char* kOpTimelogEdit = "timelog.edit";
constexpr const char* kOpTimelogDelete = "timelog.delete";
constexpr const char* kOpCrmUpdate = "crm.update";
constexpr const char* kOpRetry = "retry";  // a parked or re-queued record: payload holds the source record
// The id-map hash of a job completed because its record was deleted in CRM
// (on_delete: complete); no mapping produces it.
constexpr const char* kDeletedCompleted = "deleted:Completed";

std::string str_of(const Value& obj, std::string_view key) {
  const Value* v = obj.get(key);
  return v && v->is_scalar() ? v->text() : std::string();
}

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

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// "01:30", "1:30", "1.5" -> minutes; -1 when unreadable.
int minutes_of(const std::string& h) {
  const auto c = h.find(':');
  try {
    if (c != std::string::npos) return std::stoi(h.substr(0, c)) * 60 + std::stoi(h.substr(c + 1));
    return static_cast<int>(std::stod(h) * 60 + 0.5);
  } catch (...) {
    return -1;
  }
}

// What one record became in this batch.
struct Work {
  std::string key;          // source key
  Value record;             // the source record
  std::optional<std::int64_t> parked_row;  // the outbox row it came from, if re-processed
  int attempts = 0;         // parked attempts so far
};

}  // namespace

std::string_view to_string(RunOutcome o) {
  switch (o) {
    case RunOutcome::ok: return "ok";
    case RunOutcome::dead_letters: return "dead_letters";
    case RunOutcome::temporary: return "temporary";
    case RunOutcome::auth: return "auth";
  }
  return "?";
}

struct Engine::Impl final : Resolvers {
  Impl(const config::Config& c, state::Store& s, connectors::CrmClient& cr, connectors::PeopleClient& p,
       const Clock& cl, EngineOptions o)
      : cfg(c), store(s), crm(cr), people(p), clock(cl), opt(std::move(o)) {
    ctx.timezone_offset_minutes = cfg.service.timezone_offset_minutes;
  }

  const config::Config& cfg;
  state::Store& store;
  connectors::CrmClient& crm;
  connectors::PeopleClient& people;
  const Clock& clock;
  EngineOptions opt;
  ProgressFn progress;
  bool stop_requested = false;
  TemplateContext ctx;
  log::Logger log{"sync"};

  // Per pass.
  RunOutcome worst = RunOutcome::ok;
  std::map<ReferenceNeed, std::string> ref_answers;     // resolved (non-empty) answers
  std::set<ReferenceNeed> ref_unresolved;               // asked in this pass, not synced by Zoho yet
  bool projects_loaded = false;
  std::map<std::string, std::string> project_by_name;  // name -> id
  std::set<std::string> completed_projects;             // ids
  std::map<std::string, std::set<std::string>> planned;  // dry run: stream -> keys it would create
  std::map<std::string, std::string> erecno_of;         // assignee (email lowercased, or employee id) -> erecno
  std::set<std::string> employee_missing;               // asked in this pass: People has no such employee
  // (stream, source key) of adds this pass found in People by reading back
  // (reconcile): when the record is processed again it is "created", not
  // "unchanged" (its id-map row is already there).
  std::set<std::pair<std::string, std::string>> added_by_read_back;

  // ---------------------------------------------------------------- Resolvers
  std::optional<std::string> resolve(const std::string& service, const std::string& entity,
                                     const std::string& ref) override {
    auto it = ref_answers.find({service, entity, ref});
    if (it == ref_answers.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> lookup(const std::string& stream, const std::string& key) override {
    if (auto e = store.id_map_get(stream, key)) return e->target_id;
    if (opt.dry_run && planned[stream].count(key)) return std::string("(new)");
    return std::nullopt;
  }
  std::optional<std::string> project(const std::string& name) override {
    auto it = project_by_name.find(name);
    if (it == project_by_name.end()) return std::nullopt;
    return it->second;
  }

  // ------------------------------------------------------------------ helpers
  void note_error(StreamReport& rep, const CallError& e) {
    rep.error = e.message;
    const RunOutcome o = e.outcome == Outcome::auth ? RunOutcome::auth : RunOutcome::temporary;
    if (o == RunOutcome::auth || worst != RunOutcome::auth) worst = o;
    log.with("stream", rep.stream).error("{}", e.message);
  }

  // Calls f() (an awaitable of Expected<T>), sending again while the reply
  // is a lock or a 429: the scheduler knows the limit by then and makes the
  // next attempt wait for its end, so a lock never fails a record.
  template <class F>
  auto limited(StreamReport& rep, F f) -> decltype(f()) {
    for (int i = 0;; ++i) {
      auto r = co_await f();
      ++rep.api_calls;
      auto* e = std::get_if<CallError>(&r);
      if (e && (e->outcome == Outcome::locked || e->outcome == Outcome::rate_limited) && i + 1 < kLimitRetries) {
        log.with("stream", rep.stream).warn("{}; waiting for the limit to pass", e->message);
        continue;
      }
      co_return r;
    }
  }

  void plan(StreamReport& rep, std::map<std::string, std::size_t>& shown, const std::string& kind,
            const std::string& line) {
    if (shown[kind]++ < opt.plan_items_shown) rep.plan.push_back(kind + ": " + line);
  }

  // Parked records and dead letters keep their source record, so that they
  // can be written later without reading the source again.
  static std::string record_payload(const Value& record, const std::string& reason, int attempts) {
    return "{\"record\":" + to_json(record) + ",\"reason\":" + json::quote(reason) +
           ",\"attempts\":" + std::to_string(attempts) + "}";
  }

  static std::string dead_payload(const Value& record) { return "{\"record\":" + to_json(record) + "}"; }

  // Loads the People projects once per pass (project-by-name resolver and the
  // completed-project check of job streams).
  awaitable<bool> load_projects(StreamReport& rep) {
    if (projects_loaded) co_return true;
    project_by_name.clear();
    completed_projects.clear();
    for (int s_index = 0;; s_index += 200) {
      auto page = co_await limited(rep, [&] { return people.get_projects(s_index, 200); });
      if (auto* e = std::get_if<CallError>(&page)) {
        note_error(rep, *e);
        co_return false;
      }
      auto& p = std::get<connectors::Page<connectors::PeopleProject>>(page);
      for (const auto& pr : p.items) {
        project_by_name.emplace(pr.name, pr.id);
        if (iequals(pr.status, "Completed")) completed_projects.insert(pr.id);
      }
      if (!p.more || p.items.empty()) break;
    }
    projects_loaded = true;
    co_return true;
  }

  // Resolves the references of a batch: the state cache first, then one
  // getRecordIdsByReferenceIds call per <= 200 ids per service and entity.
  awaitable<bool> resolve_batch(const config::Stream& s, const std::vector<Work>& batch, StreamReport& rep) {
    std::map<std::pair<std::string, std::string>, std::set<std::string>> wanted;
    for (const auto& w : batch)
      for (auto& need : references_of(s, w.record, ctx))
        if (!ref_answers.count(need) && !ref_unresolved.count(need))
          wanted[{need.service, need.entity}].insert(need.reference_id);
    for (auto& [se, ids_set] : wanted) {
      const auto& [service, entity] = se;
      std::vector<std::string> ids(ids_set.begin(), ids_set.end());
      auto cached = store.ref_cache_get(service, entity, ids);
      std::vector<std::string> ask;
      std::map<std::string, int> attempts;
      for (const auto& id : ids) {
        auto it = cached.find(id);
        if (it != cached.end() && !it->second.people_id.empty()) {
          ref_answers[{service, entity, id}] = it->second.people_id;
        } else {
          ask.push_back(id);
          attempts[id] = it == cached.end() ? 0 : it->second.attempts;
        }
      }
      for (std::size_t i = 0; i < ask.size(); i += connectors::PeopleClient::kMaxReferenceIds) {
        const std::vector<std::string> chunk(
            ask.begin() + static_cast<std::ptrdiff_t>(i),
            ask.begin() + static_cast<std::ptrdiff_t>(std::min(ask.size(), i + connectors::PeopleClient::kMaxReferenceIds)));
        auto got = co_await limited(rep, [&] { return people.record_ids_by_reference(service, entity, chunk); });
        if (auto* e = std::get_if<CallError>(&got)) {
          note_error(rep, *e);
          co_return false;
        }
        const auto& answers = std::get<std::map<std::string, std::string>>(got);
        std::vector<state::RefCacheEntry> put;
        const std::int64_t now = to_unix_ms(clock.now());
        for (const auto& id : chunk) {
          auto it = answers.find(id);
          const std::string people_id = it == answers.end() ? "" : it->second;
          if (!people_id.empty()) ref_answers[{service, entity, id}] = people_id;
          else ref_unresolved.insert({service, entity, id});  // asked again next pass, not next batch
          put.push_back({service, entity, id, people_id, attempts[id] + 1, now});
        }
        if (!opt.dry_run) store.ref_cache_put(put);
      }
    }
    co_return true;
  }

  // ------------------------------------------------------------ assignees
  // The forms API takes assignees as erecnos (C); templates give emails or
  // employee ids. Each person is looked up once through People's employee
  // records and kept in the state file (the reference cache, service "Zoho
  // People", entity "employee"); a miss is asked again on the next pass.
  static constexpr const char* kEmployeeService = "Zoho People";
  static constexpr const char* kEmployeeEntity = "employee";

  static bool is_erecno(const std::string& who) {
    return !who.empty() && std::all_of(who.begin(), who.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  }
  static std::string employee_key(const std::string& who) {
    std::string k = who;
    if (who.find('@') != std::string::npos)
      for (char& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return k;
  }

  awaitable<bool> resolve_assignees(const std::vector<std::pair<Work, Mapped>>& items, StreamReport& rep) {
    std::set<std::string> wanted;
    for (const auto& [w, m] : items)
      for (const auto& a : job_input(m.fields).assignees)
        if (!is_erecno(a.assigned_to) && !a.assigned_to.empty() && !iequals(a.assigned_to, "All")) {
          const std::string k = employee_key(a.assigned_to);
          if (!erecno_of.count(k) && !employee_missing.count(k)) wanted.insert(k);
        }
    if (wanted.empty()) co_return true;
    const std::vector<std::string> keys(wanted.begin(), wanted.end());
    for (const auto& [k, e] : store.ref_cache_get(kEmployeeService, kEmployeeEntity, keys))
      if (!e.people_id.empty()) {
        erecno_of[k] = e.people_id;
        wanted.erase(k);
      }
    std::vector<state::RefCacheEntry> put;
    const std::int64_t now = to_unix_ms(clock.now());
    for (const auto& k : wanted) {
      auto got = co_await limited(rep, [&] { return people.find_employee(k); });
      if (auto* e = std::get_if<CallError>(&got)) {
        note_error(rep, *e);
        co_return false;
      }
      const auto& found = std::get<std::optional<connectors::PeopleEmployee>>(got);
      if (found) erecno_of[k] = found->erecno;
      else employee_missing.insert(k);
      put.push_back({kEmployeeService, kEmployeeEntity, k, found ? found->erecno : "", 1, now});
    }
    if (!opt.dry_run) store.ref_cache_put(put);
    co_return true;
  }

  // Assignees as erecnos, or the first one People has no employee for.
  std::optional<std::string> to_erecnos(connectors::JobInput& in) {
    for (auto& a : in.assignees) {
      if (is_erecno(a.assigned_to) || iequals(a.assigned_to, "All")) continue;
      auto it = erecno_of.find(employee_key(a.assigned_to));
      if (it == erecno_of.end()) return a.assigned_to;
      a.assigned_to = it->second;
    }
    return std::nullopt;
  }

  // People refused the assignees of a job: forget the cached erecnos, so the
  // next pass looks them up again (an employee re-created in People).
  void forget_assignees(const connectors::JobInput& mapped) {
    std::vector<state::RefCacheEntry> put;
    const std::int64_t now = to_unix_ms(clock.now());
    for (const auto& a : mapped.assignees)
      if (!is_erecno(a.assigned_to)) {
        erecno_of.erase(employee_key(a.assigned_to));
        put.push_back({kEmployeeService, kEmployeeEntity, employee_key(a.assigned_to), "", 0, now});
      }
    if (!opt.dry_run && !put.empty()) store.ref_cache_put(put);
  }

  // ------------------------------------------------------------- reconcile
  // Intents left "sent" by a crash or an in-doubt reply: an add that People
  // holds gets its id-map row (with the hash of what was sent); every other
  // intent is dropped, because the checkpoint never passed its record and the
  // next read does it again.
  awaitable<bool> reconcile(const config::Stream& s, StreamReport& rep) {
    if (opt.dry_run) co_return true;
    std::vector<state::OutboxEntry> doubtful;
    for (auto& e : store.outbox_list(s.name))
      if (e.op != kOpRetry) doubtful.push_back(std::move(e));
    if (doubtful.empty()) co_return true;
    log.with("stream", s.name).info("reconciling {} intent(s) left by an interrupted run", doubtful.size());
    std::set<std::string> mapped_targets;
    for (const auto& m : store.id_map_list(s.name)) mapped_targets.insert(m.target_id);
    std::optional<std::vector<connectors::PeopleJob>> jobs;  // read once, only if a job add is in doubt
    std::map<std::string, std::vector<connectors::PeopleTimelog>> logs_of;  // user -> logs around the doubtful dates
    state::Commit c;
    for (const auto& e : doubtful) {
      const Value p = connectors::value_from_json(e.payload);
      std::optional<std::string> found;
      if (e.op == kOpJobAdd) {
        if (!jobs) {
          jobs.emplace();
          for (int s_index = 0;; s_index += 200) {
            connectors::JobQuery q;
            q.s_index = s_index;
            q.fetch_logged_hours = false;
            auto page = co_await limited(rep, [&] { return people.get_jobs(q); });
            if (auto* err = std::get_if<CallError>(&page)) {
              note_error(rep, *err);
              co_return false;
            }
            auto& pg = std::get<connectors::Page<connectors::PeopleJob>>(page);
            for (auto& j : pg.items) jobs->push_back(std::move(j));
            if (!pg.more || pg.items.empty()) break;
          }
        }
        for (const auto& j : *jobs) {
          if (mapped_targets.count(j.id)) continue;
          // The form has no description: a job is known by its name, project
          // and dates (getjobs is read with dateFormat yyyy-MM-dd).
          if (j.name == str_of(p, "name") && (str_of(p, "project").empty() || j.project_id == str_of(p, "project")) &&
              (str_of(p, "from").empty() || j.from_date == str_of(p, "from")) &&
              (str_of(p, "to").empty() || j.to_date == str_of(p, "to"))) {
            found = j.id;
            break;
          }
        }
      } else if (e.op == kOpTimelogAdd) {
        const std::string user = str_of(p, "user");
        if (!logs_of.count(user) && !co_await fetch_logs(s, user, doubtful, logs_of[user], rep)) co_return false;
        for (const auto& t : logs_of[user]) {
          if (mapped_targets.count(t.id)) continue;
          // Real gettimelogs replies carry no workItem (C2): a log is known by
          // its user, job, date and hours; each unmapped log answers for one
          // intent only, so two equal calls on one day take two logs.
          const bool same_user = iequals(t.user, user) || (!t.erecno.empty() && t.erecno == user);
          if (same_user && t.job_id == str_of(p, "jobId") && t.date == str_of(p, "date") &&
              (t.work_item.empty() || t.work_item == str_of(p, "workItem")) &&
              minutes_of(t.hours) == minutes_of(str_of(p, "hours"))) {
            found = t.id;
            break;
          }
        }
      }
      if (found) {
        mapped_targets.insert(*found);
        c.id_map_upserts.push_back({s.name, e.source_key, *found, str_of(p, "hash"), 0});
        ++rep.reconciled;
        added_by_read_back.insert({s.name, e.source_key});
      }
      c.outbox_done.push_back(e.id);
    }
    store.commit(c);
    co_return true;
  }

  // The time logs of one user on the dates of the doubtful adds: one paged
  // gettimelogs per window of 28 days (People refuses more than a month: 9007).
  awaitable<bool> fetch_logs(const config::Stream& s, const std::string& user,
                             const std::vector<state::OutboxEntry>& doubtful,
                             std::vector<connectors::PeopleTimelog>& out, StreamReport& rep) {
    std::optional<SysTime> lo, hi;
    for (const auto& e : doubtful) {
      if (e.op != kOpTimelogAdd) continue;
      const Value p = connectors::value_from_json(e.payload);
      if (str_of(p, "user") != user) continue;
      auto d = parse_iso8601(str_of(p, "date"));
      if (!d) continue;
      if (!lo || *d < *lo) lo = *d;
      if (!hi || *d > *hi) hi = *d;
    }
    if (!lo) co_return true;
    for (SysTime from = *lo; from <= *hi; from += std::chrono::hours(24 * 28)) {
      const SysTime to = std::min(*hi, from + std::chrono::hours(24 * 27));
      for (int s_index = 0;; s_index += 200) {
        connectors::TimelogQuery q;
        q.user = user;
        q.from_date = format_utc_iso_seconds(from).substr(0, 10);
        q.to_date = format_utc_iso_seconds(to).substr(0, 10);
        q.s_index = s_index;
        auto got = co_await limited(rep, [&] { return people.get_timelogs(q); });
        if (auto* err = std::get_if<CallError>(&got)) {
          note_error(rep, *err);
          co_return false;
        }
        auto& pg = std::get<connectors::Page<connectors::PeopleTimelog>>(got);
        for (auto& t : pg.items) out.push_back(std::move(t));
        if (!pg.more || pg.items.empty()) break;
      }
    }
    (void)s;
    co_return true;
  }

  // ------------------------------------------------------------- parking
  // A record that must wait: parked in the outbox (with its source record)
  // until it can be written, or dead-lettered once it has waited too long.
  void park(const config::Stream& s, const Work& w, const std::string& reason, state::Commit& c, StreamReport& rep) {
    if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
    if (w.attempts + 1 >= opt.max_park_attempts) {
      c.dead_letters.push_back({0, s.name, w.key,
                                "gave up after " + std::to_string(w.attempts + 1) + " passes: " + reason, "",
                                dead_payload(w.record), w.attempts + 1, 0, 0});
      ++rep.dead_lettered;
      return;
    }
    state::OutboxEntry e;
    e.stream = s.name;
    e.source_key = w.key;
    e.op = kOpRetry;
    e.payload = record_payload(w.record, reason, w.attempts + 1);
    e.state = state::OutboxState::pending;
    e.attempts = w.attempts + 1;
    c.outbox_inserts.push_back(std::move(e));
    ++rep.parked;
  }

  void dead_letter(const config::Stream& s, const Work& w, const std::string& reason, const std::string& code,
                   state::Commit& c, StreamReport& rep) {
    if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
    c.dead_letters.push_back({0, s.name, w.key, reason, code, dead_payload(w.record), w.attempts + 1, 0, 0});
    ++rep.dead_lettered;
    log.with("stream", s.name).warn("record {} dead-lettered: {}{}", w.key, code.empty() ? "" : code + ": ", reason);
  }

  // Records parked earlier (and records re-queued by `peoplesync retry`).
  std::vector<Work> parked_work(const config::Stream& s, std::map<std::string, std::int64_t>& parked_rows) {
    std::vector<Work> out;
    for (const auto& e : store.outbox_list(s.name)) {
      if (e.op != kOpRetry) continue;
      const Value p = connectors::value_from_json(e.payload);
      const Value* rec = p.get("record");
      Work w;
      w.key = e.source_key;
      w.record = rec ? *rec : Value{};
      w.parked_row = e.id;
      w.attempts = e.attempts;
      parked_rows[e.source_key] = e.id;
      out.push_back(std::move(w));
    }
    return out;
  }

  // --------------------------------------------------------- job writes
  struct Step {
    bool ok = true;        // false: stop the stream (error noted)
    bool in_doubt = false; // a write may have landed: its intent stays; reconcile, then write the batch again
    std::string doubt;     // the last in-doubt error (names its endpoint)
    std::set<std::string> doubtful;  // source keys whose writes are in doubt
  };
  static Step stopped() { return Step{false, false, "", {}}; }

  static connectors::JobInput job_input(const Value& f) {
    connectors::JobInput j;
    j.name = str_of(f, "jobName");
    j.project_id = str_of(f, "projectId");
    j.from_date = str_of(f, "fromDate");
    j.to_date = str_of(f, "toDate");
    j.description = str_of(f, "description");
    j.rate_per_hour = str_of(f, "ratePerHour");
    if (const Value* a = f.get("assignees")) {
      if (const auto* arr = a->as_array()) {
        for (const auto& x : *arr) j.assignees.push_back({str_of(x, "assignedTo"), str_of(x, "hours"), str_of(x, "rate")});
      } else if (a->is_scalar()) {
        j.assignees.push_back({a->text(), "", ""});
      }
    }
    return j;
  }

  // A job date the form cannot take: the mapping must give yyyy-MM-dd (the
  // client writes it in the company date format).
  static std::optional<std::string> bad_job_date(const connectors::JobInput& in) {
    for (auto [name, d] : {std::pair{"fromDate", &in.from_date}, std::pair{"toDate", &in.to_date}})
      if (!d->empty() && (d->size() != 10 || !parse_iso8601(*d)))
        return std::string(name) + " '" + *d + "' is not a date (yyyy-MM-dd; use the |date filter)";
    return std::nullopt;
  }

  // The forms API refused an assignee (7048 "no such user", or 7013 / 7050
  // naming Assignees): an erecno from the cache that People no longer knows.
  static bool assignees_refused(const CallError& e) {
    if (e.vendor_code == "7048") return true;
    if (e.vendor_code != "7013" && e.vendor_code != "7050") return false;
    std::string m = e.message;
    for (char& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return m.find("assignee") != std::string::npos;
  }

  // Handles a write error for record w: permanent -> dead letter; in doubt ->
  // leave the intent for reconciliation; temporary -> stop the stream.
  Step write_failed(const config::Stream& s, const Work& w, const CallError& e, state::Commit& c,
                        StreamReport& rep, std::int64_t intent) {
    if (e.outcome == Outcome::permanent) {
      c.outbox_done.push_back(intent);
      dead_letter(s, w, e.message, e.vendor_code, c, rep);
      return {};
    }
    if (e.outcome == Outcome::in_doubt) {
      // The intent stays "sent": the batch goes on, and People is read back
      // (reconcile) before the record is written again.
      log.with("stream", s.name).warn("{}: in doubt; People is read back before anything is sent again", e.message);
      return Step{true, true, e.message, {w.key}};
    }
    note_error(rep, e);
    c.outbox_done.push_back(intent);  // never reached People (or was refused): the record is read again
    return stopped();
  }

  awaitable<Step> write_jobs(const config::Stream& s, std::vector<std::pair<Work, Mapped>>& items,
                                 state::Commit& c, StreamReport& rep, std::map<std::string, std::size_t>& shown) {
    if (!items.empty() && !co_await load_projects(rep)) co_return stopped();
    if (!items.empty() && !co_await resolve_assignees(items, rep)) co_return stopped();
    Step result;
    for (auto& [w, m] : items) {
      if (stop_requested) co_return stopped();
      connectors::JobInput in = job_input(m.fields);
      if (auto bad = bad_job_date(in)) {
        dead_letter(s, w, *bad, "", c, rep);
        continue;
      }
      if (!in.project_id.empty() && completed_projects.count(in.project_id)) {
        dead_letter(s, w, "project " + in.project_id + " is completed in People: no job can be added to or changed in it",
                    "", c, rep);
        continue;
      }
      const auto existing = store.id_map_get(s.name, w.key);
      const bool read_back = existing && added_by_read_back.erase({s.name, w.key});
      if (read_back) ++rep.created;
      const JobHash want{m.hash, m.status.value_or("")};
      // People creates jobs "In-Progress"; without a `status:` mapping the
      // status is never touched.
      const JobHash have = existing ? JobHash::parse(existing->hash) : JobHash{"", m.status ? "In-Progress" : ""};
      const bool fields_change = !existing || have.fields != want.fields;
      const bool status_change = m.status && have.status != want.status;
      if (!fields_change && !status_change) {
        if (!read_back) ++rep.unchanged;
        if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
        continue;
      }
      if (opt.dry_run) {
        connectors::JobInput probe = in;
        if (auto missing = fields_change ? to_erecnos(probe) : std::nullopt) {
          plan(rep, shown, "wait", w.key + ": no People employee with the email or id '" + *missing + "' yet");
          ++rep.parked;
          continue;
        }
        if (!existing) {
          plan(rep, shown, "create job", "'" + in.name + "' for " + w.key);
          planned[s.name].insert(w.key);
          ++rep.created;
        } else if (fields_change) {
          plan(rep, shown, "update job", existing->target_id + " '" + in.name + "' for " + w.key);
          ++rep.updated;
        }
        if (status_change) {
          plan(rep, shown, "status", (existing ? existing->target_id : "new job") + " -> " + *m.status);
          ++rep.status_changes;
        }
        continue;
      }
      std::string job_id = existing ? existing->target_id : "";
      std::string confirmed = existing ? have.str() : "";
      if (fields_change) {
        if (auto missing = to_erecnos(in)) {
          park(s, w, "no People employee with the email or id '" + *missing + "' yet", c, rep);
          continue;
        }
        json::Writer pw;
        pw.begin_object()
            .field("hash", JobHash{want.fields, have.status}.str())
            .field("name", in.name)
            .field("project", in.project_id)
            .field("from", in.from_date)
            .field("to", in.to_date)
            .end_object();
        const char* op = existing ? kOpJobModify : kOpJobAdd;
        const std::int64_t intent = store.outbox_add_many({{0, s.name, w.key, op, pw.str(), state::OutboxState::sent,
                                                            1, 0, 0}})
                                        .front();
        if (!existing) {
          auto got = co_await limited(rep, [&] { return people.insert_job_record(in); });
          if (auto* e = std::get_if<CallError>(&got)) {
            if (assignees_refused(*e)) {
              forget_assignees(job_input(m.fields));
              c.outbox_done.push_back(intent);
              park(s, w, "People refused the assignees (" + e->message + "); they are looked up again", c, rep);
              continue;
            }
            auto r = write_failed(s, w, *e, c, rep, intent);
            if (!r.ok) co_return r;
            result.in_doubt = true;
            result.doubt = r.doubt;
            result.doubtful.insert(w.key);
            continue;
          }
          job_id = std::get<std::string>(got);
          ++rep.created;
        } else {
          auto got = co_await limited(rep, [&] { return people.update_job_record(job_id, in); });
          if (auto* e = std::get_if<CallError>(&got)) {
            if (assignees_refused(*e)) {
              forget_assignees(job_input(m.fields));
              c.outbox_done.push_back(intent);
              park(s, w, "People refused the assignees (" + e->message + "); they are looked up again", c, rep);
              continue;
            }
            auto r = write_failed(s, w, *e, c, rep, intent);
            if (!r.ok) co_return r;
            result.in_doubt = true;
            result.doubt = r.doubt;
            result.doubtful.insert(w.key);
            continue;
          }
          ++rep.updated;
        }
        confirmed = JobHash{want.fields, have.status}.str();
        c.outbox_done.push_back(intent);
        c.id_map_upserts.push_back({s.name, w.key, job_id, confirmed, 0});
      }
      if (status_change) {
        json::Writer pw;
        pw.begin_object().field("status", *m.status).end_object();
        const std::int64_t intent = store.outbox_add_many({{0, s.name, w.key, kOpJobStatus, pw.str(),
                                                            state::OutboxState::sent, 1, 0, 0}})
                                        .front();
        auto got = co_await limited(rep, [&] { return people.modify_job_status(job_id, *m.status); });
        if (auto* e = std::get_if<CallError>(&got)) {
          auto r = write_failed(s, w, *e, c, rep, intent);
          if (!r.ok) co_return r;
          result.in_doubt = true;
          result.doubt = r.doubt;
          result.doubtful.insert(w.key);
          continue;
        }
        ++rep.status_changes;
        c.outbox_done.push_back(intent);
        // Replace the upsert written above (if any) with the final hash.
        std::erase_if(c.id_map_upserts,
                      [&](const state::IdMapEntry& e) { return e.stream == s.name && e.source_key == w.key; });
        c.id_map_upserts.push_back({s.name, w.key, job_id, want.str(), 0});
      }
      if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
    }
    co_return result;
  }

  // ----------------------------------------------------- time log writes
  static connectors::TimelogInput timelog_input(const Value& f) {
    connectors::TimelogInput t;
    t.user = str_of(f, "user");
    t.job_id = str_of(f, "jobId");
    t.date = str_of(f, "date");
    t.hours = str_of(f, "hours");
    t.start_time = str_of(f, "startTime");
    t.end_time = str_of(f, "endTime");
    t.billable_status = str_of(f, "billableStatus");
    t.work_item = str_of(f, "workItem");
    t.description = str_of(f, "description");
    return t;
  }

  awaitable<Step> write_timelogs(const config::Stream& s, std::vector<std::pair<Work, Mapped>>& items,
                                     state::Commit& c, StreamReport& rep,
                                     std::map<std::string, std::size_t>& shown) {
    struct Item {
      Work* w;
      Mapped* m;
      connectors::TimelogInput in;
      bool edit;
    };
    std::vector<Item> todo;
    for (auto& [w, m] : items) {
      const auto existing = store.id_map_get(s.name, w.key);
      if (existing && existing->hash == m.hash) {
        ++(added_by_read_back.erase({s.name, w.key}) ? rep.created : rep.unchanged);
        if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
        continue;
      }
      Item it{&w, &m, timelog_input(m.fields), existing.has_value()};
      if (existing) it.in.timelog_id = existing->target_id;
      if (!parse_iso8601(it.in.date) || it.in.date.size() != 10) {
        dead_letter(s, w, "date '" + it.in.date + "' is not yyyy-MM-dd", "", c, rep);
        continue;
      }
      if (opt.dry_run) {
        plan(rep, shown, it.edit ? "update time log" : "create time log",
             it.in.user + " " + it.in.date + " " + it.in.hours + " on job " + it.in.job_id + " for " + w.key);
        ++(it.edit ? rep.updated : rep.created);
        continue;
      }
      todo.push_back(std::move(it));
    }
    // Batches of <= 100 items spanning <= 31 consecutive days: sort by date,
    // then fill each batch from its first date.
    std::stable_sort(todo.begin(), todo.end(), [](const Item& a, const Item& b) { return a.in.date < b.in.date; });
    Step result;
    std::size_t i = 0;
    while (i < todo.size()) {
      if (stop_requested) co_return stopped();
      const SysTime first = *parse_iso8601(todo[i].in.date);
      std::size_t j = i;
      while (j < todo.size() && j - i < connectors::PeopleClient::kMaxTimelogsPerCall &&
             *parse_iso8601(todo[j].in.date) - first < std::chrono::hours(24 * 31))
        ++j;
      std::vector<state::OutboxEntry> intents;
      std::vector<connectors::TimelogInput> inputs;
      for (std::size_t k = i; k < j; ++k) {
        json::Writer pw;
        pw.begin_object()
            .field("hash", todo[k].m->hash)
            .field("user", todo[k].in.user)
            .field("jobId", todo[k].in.job_id)
            .field("date", todo[k].in.date)
            .field("hours", todo[k].in.hours)
            .field("workItem", todo[k].in.work_item)
            .end_object();
        intents.push_back({0, s.name, todo[k].w->key, todo[k].edit ? kOpTimelogEdit : kOpTimelogAdd, pw.str(),
                           state::OutboxState::sent, 1, 0, 0});
        inputs.push_back(todo[k].in);
      }
      const auto ids = store.outbox_add_many(intents);
      auto got = co_await limited(rep, [&] { return people.add_update_timelogs(inputs); });
      if (auto* e = std::get_if<CallError>(&got)) {
        if (e->outcome == Outcome::permanent) {
          // The whole call was refused for what it carried: every item gets the reason.
          for (std::size_t k = i; k < j; ++k) {
            c.outbox_done.push_back(ids[k - i]);
            dead_letter(s, *todo[k].w, e->message, e->vendor_code, c, rep);
          }
          i = j;
          continue;
        }
        if (e->outcome == Outcome::in_doubt) {
          // The intents stay "sent"; the next batches go on, and People is
          // read back before these items are written again.
          log.with("stream", s.name).warn("{}: in doubt; People is read back before anything is sent again",
                                          e->message);
          result.in_doubt = true;
          result.doubt = e->message;
          for (std::size_t k = i; k < j; ++k) result.doubtful.insert(todo[k].w->key);
          i = j;
          continue;
        }
        note_error(rep, *e);
        for (auto id : ids) c.outbox_done.push_back(id);
        co_return stopped();
      }
      const auto& res = std::get<connectors::BulkTimelogResult>(got);
      for (std::size_t k = i; k < j; ++k) {
        const auto& r = res.items[k - i];
        Work& w = *todo[k].w;
        if (r.kind == connectors::TimelogItemResult::Kind::failed && r.outcome == Outcome::in_doubt) {
          // Not matched to the reply for sure: read back before sending again.
          result.in_doubt = true;
          result.doubt = "people/addupdatetimelogs: " + r.message;
          result.doubtful.insert(w.key);
          continue;
        }
        c.outbox_done.push_back(ids[k - i]);
        if (r.kind == connectors::TimelogItemResult::Kind::failed) {
          if (r.outcome == Outcome::permanent) {
            dead_letter(s, w, r.message, r.error_code, c, rep);
          } else {
            park(s, w, "time log not accepted yet: " + r.message, c, rep);
          }
          continue;
        }
        const std::string id = r.timelog_id.empty() ? todo[k].in.timelog_id : r.timelog_id;
        c.id_map_upserts.push_back({s.name, w.key, id, todo[k].m->hash, 0});
        ++(r.kind == connectors::TimelogItemResult::Kind::edited ? rep.updated : rep.created);
        if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
      }
      i = j;
    }
    co_return result;
  }

  // ------------------------------------------------- a batch of CRM records
  awaitable<Step> process(const config::Stream& s, std::vector<Work>& batch, state::Commit& c,
                              StreamReport& rep, std::map<std::string, std::size_t>& shown,
                              std::map<std::string, std::int64_t>& parked_rows) {
    if (!co_await resolve_batch(s, batch, rep)) co_return stopped();
    bool needs_projects = false;
    for (const auto& [k, mv] : s.map) needs_projects |= std::holds_alternative<config::ProjectByName>(mv.value);
    if (needs_projects && !co_await load_projects(rep)) co_return stopped();
    std::vector<std::pair<Work, Mapped>> ready;
    for (auto& w : batch) {
      // A fresh read of a parked record supersedes its parked copy.
      if (!w.parked_row) {
        auto it = parked_rows.find(w.key);
        if (it != parked_rows.end()) {
          w.parked_row = it->second;
          parked_rows.erase(it);
        }
      }
      if (!passes_where(s, w.record)) {
        ++rep.filtered;
        if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
        continue;
      }
      auto m = map_record(s, w.record, ctx, *this);
      if (auto* f = std::get_if<MapFailure>(&m)) {
        if (opt.dry_run) {
          const bool invalid = f->kind == MapFailure::Kind::invalid;
          plan(rep, shown, invalid ? "dead letter" : "wait", w.key + ": " + f->reason);
          ++(invalid ? rep.dead_lettered : rep.parked);
        } else if (f->kind == MapFailure::Kind::invalid) {
          dead_letter(s, w, f->reason, "", c, rep);
        } else {
          park(s, w, f->reason, c, rep);
        }
        continue;
      }
      ready.emplace_back(std::move(w), std::get<Mapped>(std::move(m)));
    }
    if (s.to == config::Target::people_job) co_return co_await write_jobs(s, ready, c, rep, shown);
    if (s.to == config::Target::people_timelog) co_return co_await write_timelogs(s, ready, c, rep, shown);
    co_return Step{};
  }

  void commit(state::Commit& c) {
    if (!opt.dry_run) store.commit(c);
    c = state::Commit{};
  }

  static std::int64_t confirmed(const StreamReport& rep) {
    return rep.created + rep.updated + rep.status_changes + rep.reconciled;
  }

  // process() until no write of the batch is in doubt. After an in-doubt
  // reply (a 500 to a write, a bulk reply that cannot be matched exactly)
  // the batch goes on; then what was confirmed is committed, People is read
  // back (reconcile: an add found there is mapped, the rest forgotten) and
  // the records in doubt are processed again, which writes only what is
  // still missing. Scattered server errors thus cost a read-back, not the
  // pass; the stream stops only when its writes stay in doubt kDoubtBudget
  // times in a row with nothing confirmed in between, naming the endpoint.
  awaitable<Step> process_settled(const config::Stream& s, std::vector<Work>& batch, state::Commit& c,
                                  StreamReport& rep, std::map<std::string, std::size_t>& shown,
                                  std::map<std::string, std::int64_t>& parked_rows) {
    // A fresh read of a parked record takes over its parked row, in every attempt.
    for (auto& w : batch) {
      auto it = w.parked_row ? parked_rows.end() : parked_rows.find(w.key);
      if (it == parked_rows.end()) continue;
      w.parked_row = it->second;
      parked_rows.erase(it);
    }
    std::vector<Work> todo = batch;
    for (int fruitless = 0;;) {
      const std::int64_t before = confirmed(rep);
      std::vector<Work> attempt = todo;
      Step r = co_await process(s, attempt, c, rep, shown, parked_rows);
      if (!r.ok || !r.in_doubt || opt.dry_run) co_return r;
      commit(c);
      if (!co_await reconcile(s, rep)) co_return stopped();
      fruitless = confirmed(rep) > before ? 0 : fruitless + 1;
      if (fruitless >= kDoubtBudget) {
        note_error(rep, CallError{Outcome::retry,
                                  r.doubt + " (writes still in doubt after " + std::to_string(kDoubtBudget) +
                                      " read-backs in a row; the endpoint keeps failing, the next run goes on)",
                                  "", std::nullopt});
        co_return stopped();
      }
      std::erase_if(todo, [&](const Work& w) { return !r.doubtful.count(w.key); });
      log.with("stream", s.name).info("{} record(s) in doubt read back; writing what People lacks", todo.size());
    }
  }

  // ------------------------------------------------------ CRM -> People
  enum class Round { done, stopped, again };

  awaitable<void> run_crm_stream(const config::Stream& s, StreamReport& rep) {
    for (int round = 0; round < 5; ++round) {
      if (!co_await reconcile(s, rep)) co_return;
      const Round r = co_await crm_round(s, rep);
      if (r == Round::done) rep.completed = true;
      if (r != Round::again) co_return;
      // A write is in doubt: read People back, then read the source again.
    }
    rep.error = "gave up after repeated in-doubt writes; the next run reconciles them";
    if (worst != RunOutcome::auth) worst = RunOutcome::temporary;
  }

  awaitable<Round> crm_round(const config::Stream& s, StreamReport& rep) {
    const auto& src = std::get<config::CrmSource>(s.from);
    std::map<std::string, std::size_t> shown;
    std::map<std::string, std::int64_t> parked_rows;  // source key -> parked outbox row
    std::vector<Work> parked = parked_work(s, parked_rows);
    state::Commit c;

    // 1. Changes since the checkpoint (or since --since, for this run only).
    // A fresh read of a parked record takes over its parked row.
    const auto stored = store.checkpoint(s.name);
    connectors::CrmWatermark from;
    if (opt.since) {
      from.time = *opt.since;
    } else if (stored) {
      from.time = stored->watermark;
      from.ids_at_time.insert(stored->ids_at_watermark.begin(), stored->ids_at_watermark.end());
    }
    const std::optional<SysTime> stored_time = stored ? parse_iso8601(stored->watermark) : std::nullopt;
    auto may_store = [&](const std::string& t) {
      // Never move a stored checkpoint backwards (a --since backfill).
      const auto reached = parse_iso8601(t);
      return !opt.dry_run && reached && (!stored_time || *reached >= *stored_time);
    };
    bool in_doubt = false;
    // Pages are gathered into chunks of kChunkRecords; the checkpoint moves when
    // a chunk is done.
    std::vector<Work> gathered;
    std::map<std::string, std::size_t> gathered_index;  // source key -> position in `gathered`
    connectors::CrmWatermark gathered_reached;
    auto flush = [&]() -> awaitable<bool> {
      if (gathered.empty()) co_return true;
      auto r = co_await process_settled(s, gathered, c, rep, shown, parked_rows);
      if (r.ok && may_store(gathered_reached.time))
        c.checkpoints.push_back({s.name, gathered_reached.time,
                                 {gathered_reached.ids_at_time.begin(), gathered_reached.ids_at_time.end()}, 0});
      commit(c);
      gathered.clear();
      gathered_index.clear();
      if (progress) progress(rep);
      in_doubt = r.in_doubt;
      co_return r.ok && !stop_requested;
    };
    auto sink = [&](const std::vector<connectors::CrmRecord>& recs,
                    const connectors::CrmWatermark& reached) -> awaitable<bool> {
      for (const auto& r : recs) {
        // A record changed during the walk comes again: its newest copy counts
        // (two copies in one chunk would be two adds).
        auto [it, fresh] = gathered_index.emplace(r.id, gathered.size());
        if (fresh) gathered.push_back({r.id, r.fields, std::nullopt, 0});
        else gathered[it->second].record = r.fields;
      }
      rep.read += static_cast<std::int64_t>(recs.size());
      gathered_reached = reached;
      if (gathered.size() < kChunkRecords) co_return !stop_requested;
      co_return co_await flush();
    };
    const std::vector<std::string> fields = needed_fields(s);
    auto walked = co_await limited(rep, [&] {
      gathered.clear();  // a walk sent again starts over from `from`
      gathered_index.clear();
      return crm.read_modified(src.module, fields, from, sink);
    });
    if (auto* e = std::get_if<CallError>(&walked)) {
      note_error(rep, *e);
      co_return Round::stopped;  // an unprocessed chunk is read again next time
    }
    const auto& stats = std::get<connectors::CrmWalkStats>(walked);
    rep.api_calls += stats.calls - 1;  // limited() counted one
    rep.not_modified = rep.not_modified || stats.not_modified;
    if (!in_doubt && rep.error.empty() && !stop_requested) co_await flush();  // the last chunk
    if (in_doubt) co_return Round::again;
    if (!rep.error.empty() || stop_requested) co_return Round::stopped;
    // A walk that ended normally has a complete watermark (no ids): store it,
    // so that the next poll of an unchanged module is one 304. Not when the
    // watermark is recent: CRM times have whole seconds, and a record saved
    // later in the watermark's own second (or stamped by a CRM clock a little
    // behind ours) would not be newer than it. Until it is a minute old the
    // checkpoint keeps the ids, and the next read asks from a second earlier.
    const auto reached_time = parse_iso8601(stats.reached.time);
    const bool settled = reached_time && *reached_time < clock.now() - std::chrono::minutes(1);
    if (stats.reached.ids_at_time.empty() && settled && may_store(stats.reached.time)) {
      state::Commit done;
      done.checkpoints.push_back({s.name, stats.reached.time, {}, 0});
      store.commit(done);
    }

    // 2. Deletions (before the parked records: a record deleted in CRM while
    // it waited is dropped, never written from its parked copy).
    if (s.on_delete != config::OnDelete::ignore) {
      auto r = co_await run_deletions(s, src, rep, shown, parked_rows);
      if (!r.ok) co_return r.in_doubt ? Round::again : Round::stopped;
    }
    // 3. Records parked earlier that no fresh read took over.
    std::vector<Work> left;
    for (auto& w : parked)
      if (parked_rows.count(w.key) && parked_rows[w.key] == *w.parked_row) left.push_back(std::move(w));
    for (std::size_t i = 0; i < left.size(); i += kChunkRecords) {
      std::vector<Work> chunk(
          std::make_move_iterator(left.begin() + static_cast<std::ptrdiff_t>(i)),
          std::make_move_iterator(left.begin() +
                                  static_cast<std::ptrdiff_t>(std::min(left.size(), i + kChunkRecords))));
      std::map<std::string, std::int64_t> none;
      auto r = co_await process_settled(s, chunk, c, rep, shown, none);
      commit(c);
      if (progress) progress(rep);
      if (!r.ok) co_return r.in_doubt ? Round::again : Round::stopped;
    }

    co_return Round::done;
  }

  awaitable<Step> run_deletions(const config::Stream& s, const config::CrmSource& src, StreamReport& rep,
                                std::map<std::string, std::size_t>& shown,
                                std::map<std::string, std::int64_t>& parked_rows) {
    const std::string cp_name = s.name + "#deleted";
    const auto stored = store.checkpoint(cp_name);
    std::optional<std::string> since;
    std::optional<SysTime> newest;
    if (stored && !stored->watermark.empty()) {
      // Deletions are idempotent here, so ask from a second earlier: a tie on
      // the last second is read again rather than lost.
      if (auto t = parse_iso8601(stored->watermark)) {
        newest = *t;
        since = format_utc_iso_seconds(*t - std::chrono::seconds(1));
      }
    }
    for (int page = 1;; ++page) {
      auto got = co_await limited(rep, [&] { return crm.get_deleted(src.module, since, page); });
      if (auto* e = std::get_if<CallError>(&got)) {
        note_error(rep, *e);
        co_return stopped();
      }
      auto& pg = std::get<connectors::Page<connectors::CrmDeleted>>(got);
      state::Commit c;
      std::vector<std::pair<std::string, std::string>> targets;  // (source key, People id)
      for (const auto& d : pg.items) {
        if (auto t = parse_iso8601(d.deleted_time); t && (!newest || *t > *newest)) newest = *t;
        // A job already completed for this deletion is left alone: the read
        // from a second earlier brings the last second's deletions on every
        // pass until a newer one moves the watermark.
        if (auto m = store.id_map_get(s.name, d.id); m && m->hash != kDeletedCompleted)
          targets.emplace_back(d.id, m->target_id);
        if (auto p = parked_rows.find(d.id); p != parked_rows.end()) {
          // Waiting to be written, now deleted in CRM: it never will be.
          if (opt.dry_run) {
            plan(rep, shown, "drop waiting record (deleted in CRM)", d.id);
          } else {
            c.outbox_done.push_back(p->second);
            log.with("stream", s.name).info("record {} was deleted in CRM while it waited; dropped", d.id);
          }
          parked_rows.erase(p);
        }
      }
      for (const auto& [key, id] : targets) {
        if (stop_requested) co_return stopped();
        if (opt.dry_run) {
          plan(rep, shown, s.on_delete == config::OnDelete::complete ? "complete (deleted in CRM)" : "delete",
               id + " for " + key);
          ++rep.deleted;
          continue;
        }
        const bool is_job = s.to == config::Target::people_job;
        const char* op = s.on_delete == config::OnDelete::complete ? kOpJobStatus
                         : is_job                                    ? kOpJobDelete
                                                                     : kOpTimelogDelete;
        const std::int64_t intent =
            store.outbox_add_many({{0, s.name, key, op, "{}", state::OutboxState::sent, 1, 0, 0}}).front();
        std::optional<CallError> err;
        if (s.on_delete == config::OnDelete::complete) {
          const std::string completed = "Completed";
          auto r = co_await limited(rep, [&] { return people.modify_job_status(id, completed); });
          if (auto* e = std::get_if<CallError>(&r)) err = *e;
        } else if (is_job) {
          const std::vector<std::string> ids{id};
          auto r = co_await limited(rep, [&] { return people.delete_jobs(ids); });
          if (auto* e = std::get_if<CallError>(&r)) err = *e;
        } else {
          const std::vector<std::string> ids{id};
          auto r = co_await limited(rep, [&] { return people.delete_timelogs(ids); });
          if (auto* e = std::get_if<CallError>(&r)) err = *e;
        }
        c.outbox_done.push_back(intent);
        if (err && err->outcome != Outcome::permanent) {
          if (err->outcome != Outcome::in_doubt) note_error(rep, *err);
          commit(c);
          co_return Step{false, err->outcome == Outcome::in_doubt, err->message, {}};
        }
        if (err) {
          // Already gone from People (or refused for good): nothing to undo.
          log.with("stream", s.name).warn("deleting {} for {}: {}", id, key, err->message);
        }
        if (s.on_delete == config::OnDelete::complete) {
          // Keep the mapping, with a hash no mapping produces, so a record
          // restored in CRM is written again.
          c.id_map_upserts.push_back({s.name, key, id, kDeletedCompleted, 0});
        } else {
          c.id_map_deletes.emplace_back(s.name, key);
        }
        ++rep.deleted;
      }
      if (!pg.more) {
        if (newest) c.checkpoints.push_back({cp_name, format_utc_iso_seconds(*newest), {}, 0});
        commit(c);
        break;
      }
      commit(c);
    }
    co_return Step{};
  }

  // ------------------------------------------------------ People -> CRM

  awaitable<void> run_write_back(const config::Stream& s, StreamReport& rep) {
    const auto& src = std::get<config::PeopleSource>(s.from);
    if (src.entity != config::PeopleEntity::jobs || !src.of_stream || !s.module) {
      rep.error = "stream " + s.name + ": only {people: jobs, of_stream: S} -> crm.update with module is supported";
      worst = RunOutcome::temporary;
      co_return;
    }
    if (!co_await reconcile(s, rep)) co_return;
    std::map<std::string, std::string> source_of;  // People job id -> CRM record id
    // Not the jobs of records deleted in CRM (on_delete: complete keeps their
    // row with a "deleted:" hash): there is no CRM record to update, and each
    // pass would send the update again and dead-letter it (INVALID_DATA).
    for (const auto& m : store.id_map_list(*src.of_stream))
      if (m.hash.rfind("deleted:", 0) != 0) source_of[m.target_id] = m.source_key;
    std::map<std::string, std::size_t> shown;
    // The field types of the module, once per pass: values are sent typed.
    auto got_fields = co_await limited(rep, [&] { return crm.get_fields(*s.module); });
    if (auto* e = std::get_if<CallError>(&got_fields)) {
      note_error(rep, *e);
      co_return;
    }
    const auto& crm_fields = std::get<std::vector<connectors::CrmField>>(got_fields);
    struct Pending {
      Work w;
      Mapped m;
      connectors::CrmUpdate u;
    };
    std::vector<Pending> pending;
    // CRM updates go out while the jobs are read, 100 at a time (the last
    // ones at the end), so what waits in memory stays under one batch.
    auto send = [&](bool all) -> awaitable<bool> {
      std::size_t i = 0;
      for (; i < pending.size(); i += connectors::CrmClient::kMaxUpdate) {
        if (!all && pending.size() - i < connectors::CrmClient::kMaxUpdate) break;
        if (stop_requested) co_return false;
        const std::size_t end = std::min(pending.size(), i + connectors::CrmClient::kMaxUpdate);
        std::vector<connectors::CrmUpdate> updates;
        std::vector<state::OutboxEntry> intents;
        for (std::size_t k = i; k < end; ++k) {
          const connectors::CrmUpdate& u = pending[k].u;
          if (opt.dry_run) {
            std::string f;
            for (const auto& [name, v] : u.fields) f += (f.empty() ? "" : ", ") + name + "=" + v.text();
            plan(rep, shown, "update CRM", *s.module + " " + u.id + ": " + f);
            ++rep.updated;
            continue;
          }
          intents.push_back({0, s.name, pending[k].w.key, kOpCrmUpdate, "{}", state::OutboxState::sent, 1, 0, 0});
          updates.push_back(u);
        }
        if (opt.dry_run) continue;
        const auto ids = store.outbox_add_many(intents);
        auto got = co_await limited(rep, [&] { return crm.update(*s.module, updates); });
        state::Commit c;
        for (auto id : ids) c.outbox_done.push_back(id);
        if (auto* e = std::get_if<CallError>(&got)) {
          if (e->outcome == Outcome::permanent) {
            for (std::size_t k = i; k < end; ++k) dead_letter(s, pending[k].w, e->message, e->vendor_code, c, rep);
            commit(c);
            continue;
          }
          // In doubt or temporary: an update is idempotent; the next pass sends it again.
          note_error(rep, *e);
          commit(c);
          co_return false;
        }
        const auto& results = std::get<std::vector<connectors::CrmUpdateResult>>(got);
        for (std::size_t k = i; k < end; ++k) {
          const auto& r = results[k - i];
          Work& w = pending[k].w;
          if (r.outcome == Outcome::ok) {
            c.id_map_upserts.push_back({s.name, w.key, updates[k - i].id, pending[k].m.hash, 0});
            ++rep.updated;
          } else if (r.outcome == Outcome::permanent) {
            dead_letter(s, w, r.message, r.code, c, rep);
          } else {
            log.with("stream", s.name)
                .warn("CRM update of {} not done yet: {} {}", updates[k - i].id, r.code, r.message);
          }
        }
        commit(c);
        if (progress) progress(rep);
      }
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(std::min(i, pending.size())));
      co_return true;
    };
    for (int s_index = 0;; s_index += 200) {
      connectors::JobQuery q;
      q.s_index = s_index;
      auto page = co_await limited(rep, [&] { return people.get_jobs(q); });
      if (auto* e = std::get_if<CallError>(&page)) {
        note_error(rep, *e);
        co_return;
      }
      auto& pg = std::get<connectors::Page<connectors::PeopleJob>>(page);
      state::Commit c;
      for (const auto& j : pg.items) {
        auto it = source_of.find(j.id);
        if (it == source_of.end()) continue;
        ++rep.read;
        Work w{j.id, job_record(j), std::nullopt, 0};
        auto m = map_record(s, w.record, ctx, *this);
        if (auto* f = std::get_if<MapFailure>(&m)) {
          if (opt.dry_run) {
            plan(rep, shown, "dead letter", j.id + ": " + f->reason);
            ++rep.dead_lettered;
          } else {
            dead_letter(s, w, f->reason, "", c, rep);
          }
          continue;
        }
        const auto existing = store.id_map_get(s.name, j.id);
        if (existing && existing->hash == std::get<Mapped>(m).hash && existing->target_id == it->second) {
          ++rep.unchanged;
          continue;
        }
        Pending p{std::move(w), std::get<Mapped>(std::move(m)), {}};
        p.u.id = it->second;
        if (auto why = typed_update(*s.module, crm_fields, p.m, p.u)) {
          if (opt.dry_run) {
            plan(rep, shown, "dead letter", p.w.key + ": " + *why);
            ++rep.dead_lettered;
          } else {
            dead_letter(s, p.w, *why, "", c, rep);
          }
          continue;
        }
        pending.push_back(std::move(p));
      }
      commit(c);
      if (!co_await send(false)) co_return;
      if (!pg.more || pg.items.empty()) break;
    }
    if (!co_await send(true)) co_return;
    rep.completed = true;
  }

  // ------------------------------------------------------------- the pass
  std::vector<const config::Stream*> ordered_streams() const {
    // Dependencies first (the config loader has refused cycles).
    std::vector<const config::Stream*> out;
    std::set<std::string> done;
    std::function<void(const config::Stream&)> visit = [&](const config::Stream& s) {
      if (done.count(s.name)) return;
      done.insert(s.name);
      for (const auto& d : s.depends_on())
        if (const auto* dep = cfg.find_stream(d)) visit(*dep);
      out.push_back(&s);
    };
    for (const auto& s : cfg.streams) visit(s);
    if (opt.streams.empty()) return out;
    std::vector<const config::Stream*> chosen;
    for (const auto* s : out)
      if (std::find(opt.streams.begin(), opt.streams.end(), s->name) != opt.streams.end()) chosen.push_back(s);
    return chosen;
  }

  awaitable<RunReport> run_once() {
    worst = RunOutcome::ok;
    ref_answers.clear();
    ref_unresolved.clear();
    erecno_of.clear();
    employee_missing.clear();
    added_by_read_back.clear();
    projects_loaded = false;
    planned.clear();
    RunReport report;
    std::set<std::string> unfinished;  // streams that stopped early in this pass
    for (const auto* s : ordered_streams()) {
      if (stop_requested) break;
      StreamReport rep;
      rep.stream = s->name;
      // A stream whose dependency stopped early waits for the next pass: it
      // would act on that stream's half-done work (a call logged on the job
      // of a completed deal whose status change had not gone out yet; hours
      // written back to a deal whose deletion had not been read yet).
      std::string waits_for;
      for (const auto& d : s->depends_on())
        if (unfinished.count(d)) waits_for = d;
      if (!waits_for.empty()) {
        rep.error = "not run: stream " + waits_for + " did not finish this pass";
        log.with("stream", s->name).info("{}", rep.error);
        unfinished.insert(s->name);
        if (progress) progress(rep);
        report.streams.push_back(std::move(rep));
        continue;
      }
      if (std::holds_alternative<config::CrmSource>(s->from)) {
        co_await run_crm_stream(*s, rep);
      } else {
        co_await run_write_back(*s, rep);
      }
      log.with("stream", s->name)
          .info("pass {}: read {}, created {}, updated {}, status {}, deleted {}, unchanged {}, filtered {}, "
                "parked {}, dead-lettered {}, calls {}",
                rep.completed ? "complete" : "stopped", rep.read, rep.created, rep.updated, rep.status_changes,
                rep.deleted, rep.unchanged, rep.filtered, rep.parked, rep.dead_lettered, rep.api_calls);
      if (progress) progress(rep);
      if (!rep.completed) unfinished.insert(s->name);
      report.streams.push_back(std::move(rep));
      // Authorisation refused, or Zoho unreachable: the other streams would
      // only fail the same way; the pass ends here (exit 77 / 75).
      if (worst == RunOutcome::auth || (!report.streams.back().completed && report.streams.back().read == 0))
        break;
    }
    report.outcome = worst;
    if (report.outcome == RunOutcome::ok)
      for (const auto& r : report.streams)
        if (r.dead_lettered > 0) report.outcome = RunOutcome::dead_letters;
    co_return report;
  }
};

Engine::Engine(const config::Config& config, state::Store& store, connectors::CrmClient& crm,
               connectors::PeopleClient& people, const Clock& clock, EngineOptions options)
    : impl_(std::make_unique<Impl>(config, store, crm, people, clock, std::move(options))) {}

Engine::~Engine() = default;

void Engine::on_progress(ProgressFn fn) { impl_->progress = std::move(fn); }
void Engine::request_stop() { impl_->stop_requested = true; }

boost::asio::awaitable<RunReport> Engine::run_once() { return impl_->run_once(); }

}  // namespace peoplesync::sync
