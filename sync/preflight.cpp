#include "sync/preflight.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "common/timefmt.hpp"
#include "connectors/crm.hpp"
#include "connectors/oauth.hpp"
#include "connectors/people.hpp"
#include "connectors/scopes.hpp"
#include "sync/mapper.hpp"
#include "sync/sources/people_jobs.hpp"
#include "sync/targets/crm_update.hpp"

namespace peoplesync::sync {
namespace {

using boost::asio::awaitable;
using connectors::CallError;
using connectors::Outcome;

// A template is rendered here only against a sample job: no resolver answers.
class NoResolvers final : public Resolvers {
 public:
  std::optional<std::string> resolve(const std::string&, const std::string&, const std::string&) override {
    return std::nullopt;
  }
  std::optional<std::string> lookup(const std::string&, const std::string&) override { return std::nullopt; }
  std::optional<std::string> project(const std::string&) override { return std::nullopt; }
};

class Run {
 public:
  Run(const config::Config& cfg, connectors::TokenProvider& tokens, connectors::CrmClient& crm,
      connectors::PeopleClient& people, const Clock& clock)
      : cfg_(cfg), tokens_(tokens), crm_(crm), people_(people), clock_(clock) {}

  awaitable<PreflightReport> all() {
    auto t = co_await tokens_.access_token();
    if (auto* e = std::get_if<CallError>(&t)) {
      failed("token", *e, "run `peoplesync auth --code CODE` with a new grant code (README \"Getting a refresh token\")");
      co_return std::move(report_);
    }
    ok("token", "access token obtained from " + cfg_.zoho.accounts_url);
    for (const auto& need : connectors::scopes::needed(cfg_)) co_await scope(need);
    co_await date_format();
    co_await source_fields();
    co_await write_back_fields();
    co_return std::move(report_);
  }

 private:
  // ----------------------------------------------------------- results
  void ok(std::string name, std::string detail) {
    report_.checks.push_back({std::move(name), Check::Status::ok, Check::Kind::temporary, std::move(detail), ""});
  }
  void skipped(std::string name, std::string detail) {
    report_.checks.push_back({std::move(name), Check::Status::skipped, Check::Kind::temporary, std::move(detail), ""});
  }
  void fail(std::string name, Check::Kind kind, std::string detail, std::string fix) {
    report_.checks.push_back({std::move(name), Check::Status::failed, kind, std::move(detail), std::move(fix)});
  }
  void failed(std::string name, const CallError& e, std::string auth_fix) {
    if (e.outcome == Outcome::auth) fail(std::move(name), Check::Kind::auth, e.message, std::move(auth_fix));
    else fail(std::move(name), Check::Kind::temporary, e.message, "could not tell now (network or Zoho); run it again");
  }

  std::string scope_fix() const {
    return "create a new refresh token with every scope `peoplesync auth --scopes` prints (" +
           connectors::scopes::joined(connectors::scopes::needed(cfg_)) + ") and store it with `peoplesync auth --code`";
  }

  // -------------------------------------------------------------- scopes
  // The first module a config reads or updates (for CRM scope probes that
  // need one).
  std::string any_module() const {
    for (const auto& s : cfg_.streams) {
      if (const auto* c = std::get_if<config::CrmSource>(&s.from)) return c->module;
      if (s.module) return *s.module;
    }
    return "";
  }

  // The module a per-module scope ("ZohoCRM.modules.deals.READ") is about.
  std::optional<std::pair<std::string, bool>> module_of(const std::string& scope) const {
    for (const auto& s : cfg_.streams) {
      std::vector<std::pair<std::string, bool>> mods;
      if (const auto* c = std::get_if<config::CrmSource>(&s.from)) mods.emplace_back(c->module, false);
      if (s.module) mods.emplace_back(*s.module, true);
      for (const auto& [m, write] : mods)
        if (connectors::scopes::crm_module(m, write) == scope) return std::pair{m, write};
    }
    return std::nullopt;
  }

  awaitable<void> scope(const connectors::scopes::Need& need) {
    namespace sc = connectors::scopes;
    const std::string name = "scope " + need.scope;
    std::optional<CallError> err;
    std::string how;
    if (need.scope == sc::kTimetrackerRead) {
      how = "getprojects read";
      auto r = co_await people_.get_projects(0, 1);
      if (auto* e = std::get_if<CallError>(&r)) err = *e;
    } else if (need.scope == sc::kTimetrackerAll) {
      how = "addupdatetimelogs probe (an empty list; nothing written)";
      auto r = co_await people_.probe_write("addupdatetimelogs");
      if (auto* e = std::get_if<CallError>(&r)) err = *e;
    } else if (need.scope == sc::kFormsCreate || need.scope == sc::kFormsUpdate) {
      const std::string ep = need.scope == sc::kFormsCreate ? "insertRecord" : "updateRecord";
      how = ep + " probe (empty inputData; nothing written)";
      auto r = co_await people_.probe_write(ep);
      if (auto* e = std::get_if<CallError>(&r)) err = *e;
    } else if (need.scope == sc::kFormsRead) {
      how = "employee records read";
      auto r = co_await people_.find_employee("peoplesync-preflight@example.invalid");
      if (auto* e = std::get_if<CallError>(&r)) err = *e;
    } else if (need.scope == sc::kCrmFields) {
      const std::string m = any_module();
      how = "settings/fields read of " + m;
      auto r = co_await crm_.get_fields(m);
      if (auto* e = std::get_if<CallError>(&r)) err = *e;
      else fields_[m] = std::get<std::vector<connectors::CrmField>>(r);
    } else if (need.scope == sc::kCrmCoql) {
      const std::string m = any_module();
      how = "COQL read of " + m;
      auto r = co_await crm_.coql_ids(m, format_utc_iso_offset(clock_.now()), "0");
      if (auto* e = std::get_if<CallError>(&r)) err = *e;
    } else if (auto mod = module_of(need.scope)) {
      if (mod->second) {
        how = "update probe of " + mod->first + " (no records; nothing written)";
        auto r = co_await crm_.probe_update(mod->first);
        if (auto* e = std::get_if<CallError>(&r)) err = *e;
      } else {
        how = "records read of " + mod->first;
        connectors::CrmQuery q;
        q.module = mod->first;
        q.per_page = 1;
        q.fields = {"Modified_Time"};
        auto r = co_await crm_.get_page(q);
        if (auto* e = std::get_if<CallError>(&r)) err = *e;
      }
    } else {
      skipped(name, "no probe for this scope");
      co_return;
    }
    if (err) failed(name, *err, scope_fix());
    else ok(name, how + ": allowed (" + need.why + ")");
  }

  // --------------------------------------------------------- date format
  bool writes_people() const {
    return std::any_of(cfg_.streams.begin(), cfg_.streams.end(),
                       [](const config::Stream& s) { return s.to != config::Target::crm_update; });
  }

  awaitable<void> date_format() {
    const std::string name = "people.date_format " + cfg_.people.date_format;
    if (!writes_people()) co_return;
    const std::string fix = "set people.date_format to the company date format People shows (Settings > Company "
                            "> Date format), e.g. dd-MMM-yyyy, dd/MM/yyyy or MM/dd/yyyy";
    const std::string& fmt = cfg_.people.date_format;
    const std::string today = format_utc_iso_seconds(clock_.now()).substr(0, 10);
    const std::string yesterday = format_utc_iso_seconds(clock_.now() - std::chrono::hours(24)).substr(0, 10);
    connectors::TimelogQuery q;
    q.from_date = *format_date_pattern(yesterday, fmt);
    q.to_date = *format_date_pattern(today, fmt);
    q.limit = 1;
    q.date_format.reset();  // the company format, as the forms API reads dates
    auto r = co_await people_.get_timelogs(q);
    if (auto* e = std::get_if<CallError>(&r)) {
      if (e->outcome == Outcome::permanent)
        fail(name, Check::Kind::config,
             "People refused the dates " + q.from_date + " and " + q.to_date + " sent without dateFormat (" +
                 e->message + "): " + fmt + " is not the organisation's company date format",
             fix);
      else
        failed(name, *e, scope_fix());
      co_return;
    }
    for (const auto& t : std::get<connectors::Page<connectors::PeopleTimelog>>(r).items)
      if (!t.date.empty() && !parse_date_pattern(t.date, fmt)) {
        fail(name, Check::Kind::config, "People returned the date '" + t.date + "', which is not " + fmt, fix);
        co_return;
      }
    connectors::JobQuery jq;
    jq.limit = 1;
    jq.fetch_logged_hours = false;
    jq.date_format.reset();
    auto j = co_await people_.get_jobs(jq);
    if (auto* e = std::get_if<CallError>(&j)) {
      failed(name, *e, scope_fix());
      co_return;
    }
    for (const auto& job : std::get<connectors::Page<connectors::PeopleJob>>(j).items)
      for (const auto& d : {job.from_date, job.to_date})
        if (!d.empty() && !parse_date_pattern(d, fmt)) {
          fail(name, Check::Kind::config, "People returned the job date '" + d + "', which is not " + fmt, fix);
          co_return;
        }
    ok(name, "People took " + q.from_date + " without dateFormat, and its dates read back in this format");
  }

  // --------------------------------------------------------------- fields
  awaitable<const std::vector<connectors::CrmField>*> fields_of(const std::string& module, const std::string& name) {
    if (auto it = fields_.find(module); it != fields_.end()) co_return &it->second;
    auto r = co_await crm_.get_fields(module);
    if (auto* e = std::get_if<CallError>(&r)) {
      failed(name, *e, scope_fix());
      co_return nullptr;
    }
    co_return &(fields_[module] = std::get<std::vector<connectors::CrmField>>(r));
  }

  static bool has(const std::vector<connectors::CrmField>& fs, const std::string& api_name) {
    return std::any_of(fs.begin(), fs.end(), [&](const connectors::CrmField& f) { return f.api_name == api_name; });
  }

  awaitable<void> source_fields() {
    std::map<std::string, std::set<std::string>> named;  // module -> fields
    for (const auto& s : cfg_.streams)
      if (const auto* c = std::get_if<config::CrmSource>(&s.from))
        for (const auto& f : named_fields(s)) named[c->module].insert(f);
    for (const auto& [module, names] : named) {
      const std::string name = "crm " + module + " fields";
      const auto* fs = co_await fields_of(module, name);
      if (!fs) continue;
      std::vector<std::string> missing;
      for (const auto& n : names)
        if (!has(*fs, n)) missing.push_back(n);
      if (missing.empty()) {
        ok(name, std::to_string(names.size()) + " field(s) named by the config exist");
        continue;
      }
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      fail(name, Check::Kind::config, "the config names field(s) " + module + " does not have: " + list,
           "use the fields' API names (CRM: Settings > Developer Space > APIs > API names)");
    }
  }

  awaitable<void> write_back_fields() {
    for (const auto& s : cfg_.streams) {
      if (s.to != config::Target::crm_update || !s.module) continue;
      const std::string name = "crm " + *s.module + " write-back (stream " + s.name + ")";
      const auto* fs = co_await fields_of(*s.module, name);
      if (!fs) continue;
      std::string problems;
      for (const auto& [key, v] : s.map) {
        auto f = std::find_if(fs->begin(), fs->end(), [&](const connectors::CrmField& x) { return x.api_name == key; });
        if (f == fs->end()) problems += (problems.empty() ? "" : "; ") + *s.module + " has no field " + key;
        else if (f->read_only) problems += (problems.empty() ? "" : "; ") + key + " is read-only";
      }
      if (!problems.empty()) {
        fail(name, Check::Kind::config, problems, "write back only to existing, writable fields (their API names)");
        continue;
      }
      co_await try_sample(s, *fs, name);
    }
  }

  // Maps one real People job with the write-back and types every value.
  awaitable<void> try_sample(const config::Stream& s, const std::vector<connectors::CrmField>& fs,
                             const std::string& name) {
    connectors::JobQuery q;
    q.limit = 1;
    auto page = co_await people_.get_jobs(q);
    if (auto* e = std::get_if<CallError>(&page)) {
      failed(name, *e, scope_fix());
      co_return;
    }
    const auto& jobs = std::get<connectors::Page<connectors::PeopleJob>>(page).items;
    if (jobs.empty()) {
      ok(name, "every target field exists and is writable (no People job yet to try the values on)");
      co_return;
    }
    TemplateContext ctx;
    ctx.timezone_offset_minutes = cfg_.service.timezone_offset_minutes;
    NoResolvers none;
    auto m = map_record(s, job_record(jobs.front()), ctx, none);
    if (auto* f = std::get_if<MapFailure>(&m)) {
      fail(name, Check::Kind::config, "mapping People job " + jobs.front().id + " failed: " + f->reason,
           "fix the stream's map");
      co_return;
    }
    connectors::CrmUpdate u;
    if (auto why = typed_update(*s.module, fs, std::get<Mapped>(m), u)) {
      fail(name, Check::Kind::config, "on People job " + jobs.front().id + ": " + *why,
           "map a value the field's type takes (e.g. |hours_decimal for a number field)");
      co_return;
    }
    ok(name, "every target field exists, is writable and takes its value (tried on People job " + jobs.front().id +
                 ")");
  }

  const config::Config& cfg_;
  connectors::TokenProvider& tokens_;
  connectors::CrmClient& crm_;
  connectors::PeopleClient& people_;
  const Clock& clock_;
  PreflightReport report_;
  std::map<std::string, std::vector<connectors::CrmField>> fields_;
};

}  // namespace

bool PreflightReport::ok() const { return first_failure() == nullptr; }

const Check* PreflightReport::first_failure() const {
  for (const auto& c : checks)
    if (c.status == Check::Status::failed) return &c;
  return nullptr;
}

Check::Kind PreflightReport::worst() const {
  Check::Kind k = Check::Kind::temporary;
  for (const auto& c : checks) {
    if (c.status != Check::Status::failed) continue;
    if (c.kind == Check::Kind::auth) return Check::Kind::auth;
    if (c.kind == Check::Kind::config) k = Check::Kind::config;
  }
  return k;
}

awaitable<PreflightReport> preflight(const config::Config& cfg, connectors::TokenProvider& tokens,
                                     connectors::CrmClient& crm, connectors::PeopleClient& people, const Clock& clock) {
  Run run(cfg, tokens, crm, people, clock);
  co_return co_await run.all();
}

std::string format_report(const PreflightReport& r) {
  std::string out;
  for (const auto& c : r.checks) {
    const char* tag = c.status == Check::Status::ok ? "ok     " : c.status == Check::Status::failed ? "FAILED " : "skipped";
    out += std::string(tag) + " " + c.name + ": " + c.detail + "\n";
    if (c.status == Check::Status::failed && !c.fix.empty()) out += "        fix: " + c.fix + "\n";
  }
  return out;
}

}  // namespace peoplesync::sync
