#pragma once
// The daemon's loop, one step per function: a first access token (daemon),
// the preflight gate (nothing is written until it passes; a reload is
// checked again), one pass, its record in the run history and the live
// view, then the wait for the next poll. A one-shot run (--run-once,
// --dry-run) makes one pass. Everything it waits on is injected: the stack
// (built by a factory, again after a reload), the PassTimer and the Clock,
// so tests drive it in simulated time.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "daemon/live_tracker.hpp"
#include "daemon/pass_timer.hpp"
#include "daemon/sync_stack.hpp"

namespace peoplesync::state {
class Store;
}

namespace peoplesync::runtime {

struct LoopOptions {
  bool daemon = false;   // poll until stopped; otherwise one pass
  bool dry_run = false;  // no preflight, nothing in the run history
  std::string mode;      // the run history's mode: "daemon", "run-once", "dry-run"
  Millis token_retry{30'000};  // daemon: between tries for a first access token
};

// What the loop tells the process around it (sd_notify, the terminal, the
// one-shot report). Each may be empty.
struct LoopHooks {
  std::function<void()> ready;                          // READY=1: a first token is there
  std::function<void(const std::string&)> status;       // STATUS=: the one-line summary
  std::function<void()> preflight_passed;               // before the first write
  std::function<void(const sync::StreamReport&)> progress;  // during a pass (the TTY line)
  // One-shot: the preflight failed; nothing was written.
  std::function<void(const sync::PreflightReport&)> preflight_failed;
  // A pass ended (after the run history and the live view were updated).
  std::function<void(const sync::RunReport&)> pass_done;
};

class PollLoop {
 public:
  PollLoop(config::ConfigPtr cfg, StackFactory make_stack, state::Store& store, LiveTracker& tracker,
           PassTimer& timer, const Clock& clock, LoopOptions options, LoopHooks hooks);

  // Until stopped, an authorisation failure or (one-shot) the pass's end.
  boost::asio::awaitable<void> run();
  // SIGTERM: the pass in flight stops at its next safe point; no new pass.
  void stop();
  // SIGHUP with a good config: the next pass runs on it, after a preflight.
  void reload(config::ConfigPtr next);

  // The process exit code as things stand (0 / 4 / 75 / 77 / 78).
  int exit_code() const { return exit_code_; }
  bool stopping() const { return stopping_; }
  // Daemon: the preflight of the config in force has passed (/readyz).
  bool ready() const { return ready_; }
  const config::ConfigPtr& config() const { return cfg_; }
  SyncStack& stack() { return *stack_; }

 private:
  enum class Gate { open, retry, closed };
  boost::asio::awaitable<void> wait_for_token();
  void apply_reload();
  boost::asio::awaitable<Gate> preflight_gate();
  void preflight_refused(const sync::PreflightReport& pf);
  boost::asio::awaitable<sync::RunReport> one_pass();
  bool keep_polling(const sync::RunReport& report);
  std::unique_ptr<SyncStack> build(const config::Config& cfg);
  void say(const std::string& summary);

  config::ConfigPtr cfg_;
  config::ConfigPtr pending_;
  StackFactory make_stack_;
  std::unique_ptr<SyncStack> stack_;
  state::Store& store_;
  LiveTracker& tracker_;
  PassTimer& timer_;
  const Clock& clock_;
  LoopOptions options_;
  LoopHooks hooks_;
  bool stopping_ = false;
  bool ready_ = false;
  bool preflight_ok_;
  int exit_code_ = 0;
};

}  // namespace peoplesync::runtime
