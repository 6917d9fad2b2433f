#include "daemon/poll_loop.hpp"

#include "common/log.hpp"
#include "daemon/exit_codes.hpp"
#include "daemon/run_report.hpp"
#include "state/store.hpp"

namespace peoplesync::runtime {

PollLoop::PollLoop(config::ConfigPtr cfg, StackFactory make_stack, state::Store& store, LiveTracker& tracker,
                   PassTimer& timer, const Clock& clock, LoopOptions options, LoopHooks hooks)
    : cfg_(std::move(cfg)),
      make_stack_(std::move(make_stack)),
      store_(store),
      tracker_(tracker),
      timer_(timer),
      clock_(clock),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      preflight_ok_(options_.dry_run) {  // a dry run writes nothing: no preflight
  stack_ = build(*cfg_);
}

std::unique_ptr<SyncStack> PollLoop::build(const config::Config& cfg) {
  auto s = make_stack_(cfg);
  s->on_progress([this](const sync::StreamReport& r) {
    tracker_.progress(r);
    if (hooks_.progress) hooks_.progress(r);
  });
  return s;
}

void PollLoop::stop() {
  stopping_ = true;
  stack_->request_stop();
  timer_.cancel();
}

void PollLoop::reload(config::ConfigPtr next) {
  pending_ = std::move(next);
  timer_.cancel();
}

void PollLoop::say(const std::string& summary) {
  tracker_.live().summary = summary;
  if (hooks_.status) hooks_.status(summary);
}

boost::asio::awaitable<void> PollLoop::run() {
  log::Logger log("daemon");
  if (options_.daemon) co_await wait_for_token();
  while (!stopping_) {
    apply_reload();
    const Gate gate = co_await preflight_gate();
    if (gate == Gate::closed) break;
    if (gate == Gate::retry) continue;
    const sync::RunReport report = co_await one_pass();
    if (!keep_polling(report)) break;
    log.info("pass done ({}); next in {}", sync::to_string(report.outcome),
             config::format_duration(cfg_->service.poll_interval));
    co_await timer_.wait(cfg_->service.poll_interval);
  }
  // A requested stop is a clean exit, whatever the last pass left.
  if (options_.daemon && exit_code_ != to_int(ExitCode::auth)) exit_code_ = to_int(ExitCode::ok);
}

// READY=1 for systemd once config, state and a first token are there.
// /readyz turns 200 only once the preflight has passed.
boost::asio::awaitable<void> PollLoop::wait_for_token() {
  log::Logger log("daemon");
  for (;;) {
    const TokenCheck t = co_await stack_->first_token();
    if (t.state == TokenCheck::State::obtained) break;
    if (t.state == TokenCheck::State::refused) {
      log.error("{}", t.message);
      exit_code_ = to_int(ExitCode::auth);
      stopping_ = true;
      break;
    }
    log.warn("no access token yet ({}); trying again in {} s", t.message,
             std::chrono::duration_cast<std::chrono::seconds>(options_.token_retry).count());
    co_await timer_.wait(options_.token_retry);
    if (stopping_) break;
  }
  if (!stopping_ && hooks_.ready) hooks_.ready();
}

// A new config applies between passes: a new stack, checked again before it writes.
void PollLoop::apply_reload() {
  if (!pending_) return;
  stack_ = build(*pending_);
  cfg_ = std::move(pending_);
  pending_.reset();
  preflight_ok_ = false;
}

boost::asio::awaitable<PollLoop::Gate> PollLoop::preflight_gate() {
  if (preflight_ok_) co_return Gate::open;
  log::Logger log("daemon");
  const sync::PreflightReport pf = co_await stack_->preflight();
  auto& failures = tracker_.live().preflight_failures;
  failures = preflight_failures(pf);
  preflight_ok_ = pf.ok();
  if (options_.daemon) ready_ = preflight_ok_;
  if (preflight_ok_) {
    log.info("preflight: {} check(s) passed", pf.checks.size());
    if (hooks_.preflight_passed) hooks_.preflight_passed();
    co_return Gate::open;
  }
  for (const auto& f : failures) log.error("preflight: {}", f);
  if (!options_.daemon) {
    preflight_refused(pf);
    co_return Gate::closed;
  }
  say("preflight failed, nothing is written: " + failures.front());
  if (stopping_) co_return Gate::closed;
  log.info("preflight runs again in {}", config::format_duration(cfg_->service.poll_interval));
  co_await timer_.wait(cfg_->service.poll_interval);
  co_return Gate::retry;
}

// One-shot: the run happened and failed. The run history (`status`, "Recent
// runs") says so rather than showing no run at all.
void PollLoop::preflight_refused(const sync::PreflightReport& pf) {
  exit_code_ = exit_code_of(pf.worst());
  if (hooks_.preflight_failed) hooks_.preflight_failed(pf);
  store_.finish_run(store_.begin_run(options_.mode), exit_code_,
                    "preflight failed, nothing was written: " + tracker_.live().preflight_failures.front());
}

boost::asio::awaitable<sync::RunReport> PollLoop::one_pass() {
  const std::int64_t run_id = options_.dry_run ? 0 : store_.begin_run(options_.mode);
  tracker_.pass_started(clock_.now());
  sync::RunReport report = co_await stack_->run_pass();
  // A pass cut short by a stop is not a failure.
  exit_code_ = stopping_ && report.outcome == sync::RunOutcome::temporary ? to_int(ExitCode::ok)
                                                                           : exit_code_of(report.outcome);
  const std::string line = summary_line(report);
  if (!options_.dry_run) store_.finish_run(run_id, exit_code_, line);
  const SysTime finished = clock_.now();
  std::optional<SysTime> next_run;
  if (options_.daemon) next_run = finished + cfg_->service.poll_interval;
  tracker_.pass_finished(report, finished, next_run);
  say(std::string(sync::to_string(report.outcome)) + ": " + line);
  if (hooks_.pass_done) hooks_.pass_done(report);
  co_return report;
}

bool PollLoop::keep_polling(const sync::RunReport& report) {
  if (!options_.daemon) return false;
  if (report.outcome == sync::RunOutcome::auth) {
    exit_code_ = to_int(ExitCode::auth);
    return false;
  }
  return !stopping_;
}

}  // namespace peoplesync::runtime
