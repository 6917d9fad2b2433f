#include "sync/engine.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "connectors/crm.hpp"
#include "connectors/people.hpp"
#include "state/store.hpp"
#include "sync/list_stream.hpp"
#include "sync/pass.hpp"
#include "sync/resolution.hpp"
#include "sync/sources/crm_records.hpp"
#include "sync/sources/people_jobs.hpp"
#include "sync/targets/crm_update.hpp"
#include "sync/targets/people_job.hpp"
#include "sync/targets/people_timelog.hpp"
#include "sync/watermark_stream.hpp"

namespace peoplesync::sync {

using boost::asio::awaitable;

std::string_view to_string(RunOutcome o) {
  switch (o) {
    case RunOutcome::ok: return "ok";
    case RunOutcome::dead_letters: return "dead_letters";
    case RunOutcome::temporary: return "temporary";
    case RunOutcome::auth: return "auth";
  }
  return "?";
}

struct Engine::Impl {
  Impl(const config::Config& c, state::Store& s, connectors::CrmClient& cr, connectors::PeopleClient& p,
       const Clock& cl, EngineOptions o)
      : opt(std::move(o)),
        pass(c, s, cl, opt),
        crm(cr),
        people(p),
        resolution(pass, p),
        jobs(pass, p, resolution),
        timelogs(pass, p),
        updates(pass, cr) {}

  EngineOptions opt;
  Pass pass;
  connectors::CrmClient& crm;
  connectors::PeopleClient& people;
  Resolution resolution;
  PeopleJobTarget jobs;
  PeopleTimelogTarget timelogs;
  CrmUpdateTarget updates;

  Target& target_of(const config::Stream& s) {
    switch (s.to) {
      case config::Target::people_job: return jobs;
      case config::Target::people_timelog: return timelogs;
      case config::Target::crm_update: break;
    }
    return updates;
  }

  awaitable<void> run_stream(const config::Stream& s, StreamReport& rep) {
    if (const auto* crm_src = std::get_if<config::CrmSource>(&s.from)) {
      CrmRecordsSource source(crm, crm_src->module, needed_fields(s));
      co_await run_watermark_stream(pass, resolution, s, source, target_of(s), rep);
      co_return;
    }
    const auto& src = std::get<config::PeopleSource>(s.from);
    if (src.entity != config::PeopleEntity::jobs || !src.of_stream || !s.module) {
      rep.error = "stream " + s.name + ": only {people: jobs, of_stream: S} -> crm.update with module is supported";
      pass.worst = RunOutcome::temporary;
      co_return;
    }
    PeopleJobsSource source(people);
    co_await run_list_stream(pass, resolution, s, source, target_of(s), rep);
  }

  // Dependencies first (the config loader has refused cycles).
  std::vector<const config::Stream*> ordered_streams() const {
    std::vector<const config::Stream*> out;
    std::set<std::string> done;
    std::function<void(const config::Stream&)> visit = [&](const config::Stream& s) {
      if (done.count(s.name)) return;
      done.insert(s.name);
      for (const auto& d : s.depends_on())
        if (const auto* dep = pass.cfg.find_stream(d)) visit(*dep);
      out.push_back(&s);
    };
    for (const auto& s : pass.cfg.streams) visit(s);
    if (opt.streams.empty()) return out;
    std::vector<const config::Stream*> chosen;
    for (const auto* s : out)
      if (std::find(opt.streams.begin(), opt.streams.end(), s->name) != opt.streams.end()) chosen.push_back(s);
    return chosen;
  }

  void log_pass(const StreamReport& rep) const {
    pass.log.with("stream", rep.stream)
        .info("pass {}: read {}, created {}, updated {}, status {}, deleted {}, unchanged {}, filtered {}, "
              "parked {}, dead-lettered {}, calls {}",
              rep.completed ? "complete" : "stopped", rep.read, rep.created, rep.updated, rep.status_changes,
              rep.deleted, rep.unchanged, rep.filtered, rep.parked, rep.dead_lettered, rep.api_calls);
  }

  awaitable<RunReport> run_once() {
    pass.begin();
    resolution.begin();
    jobs.begin();
    RunReport report;
    std::set<std::string> unfinished;  // streams that stopped early in this pass
    for (const auto* s : ordered_streams()) {
      if (pass.stop_requested) break;
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
        pass.log.with("stream", s->name).info("{}", rep.error);
        unfinished.insert(s->name);
        pass.report(rep);
        report.streams.push_back(std::move(rep));
        continue;
      }
      co_await run_stream(*s, rep);
      log_pass(rep);
      pass.report(rep);
      if (!rep.completed) unfinished.insert(s->name);
      report.streams.push_back(std::move(rep));
      // Authorisation refused, or Zoho unreachable: the other streams would
      // only fail the same way; the pass ends here (exit 77 / 75).
      if (pass.worst == RunOutcome::auth || (!report.streams.back().completed && report.streams.back().read == 0))
        break;
    }
    report.outcome = pass.worst;
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

void Engine::on_progress(ProgressFn fn) { impl_->pass.progress = std::move(fn); }
void Engine::request_stop() { impl_->pass.stop_requested = true; }

boost::asio::awaitable<RunReport> Engine::run_once() { return impl_->run_once(); }

}  // namespace peoplesync::sync
