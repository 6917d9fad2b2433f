#include "sync/pass.hpp"

#include "state/store.hpp"

namespace peoplesync::sync {

Pass::Pass(const config::Config& config, state::Store& s, const Clock& c, const EngineOptions& options)
    : cfg(config), store(s), clock(c), opt(options) {
  ctx.timezone_offset_minutes = cfg.service.timezone_offset_minutes;
}

void Pass::begin() {
  worst = RunOutcome::ok;
  planned.clear();
  added_by_read_back.clear();
}

void Pass::note_error(StreamReport& rep, const connectors::CallError& e) {
  rep.error = e.message;
  const RunOutcome o = e.outcome == connectors::Outcome::auth ? RunOutcome::auth : RunOutcome::temporary;
  if (o == RunOutcome::auth || worst != RunOutcome::auth) worst = o;
  log.with("stream", rep.stream).error("{}", e.message);
}

void Pass::plan(StreamReport& rep, Shown& shown, const std::string& kind, const std::string& line) const {
  if (shown[kind]++ < opt.plan_items_shown) rep.plan.push_back(kind + ": " + line);
}

void Pass::commit(state::Commit& c) {
  if (!opt.dry_run) store.commit(c);
  c = state::Commit{};
}

bool Pass::waits_out(const connectors::CallError& e) {
  return e.outcome == connectors::Outcome::locked || e.outcome == connectors::Outcome::rate_limited;
}

}  // namespace peoplesync::sync
