#pragma once
// Test doubles for the daemon's poll loop (daemon/poll_loop.hpp): a timer
// that moves a ManualClock instead of waiting, and a SyncStack that answers
// from a script and counts what it was asked. Nothing here waits on the wall
// clock.
#include <boost/asio/awaitable.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "daemon/pass_timer.hpp"
#include "daemon/sync_stack.hpp"

namespace peoplesync::testing {

// Each wait advances the clock by its duration and returns at once; on_wait
// (called first, with the wait's index from 0) may stop or reload the loop,
// as a signal arriving during the wait would.
class FakePassTimer final : public runtime::PassTimer {
 public:
  explicit FakePassTimer(ManualClock& clock) : clock_(clock) {}
  boost::asio::awaitable<void> wait(Millis d) override {
    const std::size_t index = waits.size();
    waits.push_back(d);
    if (on_wait) on_wait(index);
    clock_.advance(d);
    co_return;
  }
  void cancel() override { ++cancels; }

  std::vector<Millis> waits;
  int cancels = 0;
  std::function<void(std::size_t)> on_wait;

 private:
  ManualClock& clock_;
};

// What the scripted stack answers; an empty queue repeats the default.
struct StackScript {
  std::deque<runtime::TokenCheck> tokens;
  std::deque<sync::PreflightReport> preflights;  // default: passed
  std::deque<sync::RunReport> passes;            // default: a quiet, completed pass of every stream
  Millis pass_takes{2'000};                       // simulated time a pass takes
  std::vector<sync::EndpointSnapshot> lanes;
};

struct StackCalls {
  int built = 0, tokens = 0, preflights = 0, passes = 0, stops = 0, flushes = 0;
  std::vector<const config::Config*> configs;  // the config each stack was built from
};

class ScriptedStack final : public runtime::SyncStack {
 public:
  ScriptedStack(const config::Config& cfg, StackScript& script, StackCalls& calls, ManualClock& clock)
      : cfg_(cfg), script_(script), calls_(calls), clock_(clock) {
    ++calls_.built;
    calls_.configs.push_back(&cfg);
  }
  boost::asio::awaitable<runtime::TokenCheck> first_token() override {
    ++calls_.tokens;
    co_return take(script_.tokens, runtime::TokenCheck{});
  }
  boost::asio::awaitable<sync::PreflightReport> preflight() override {
    ++calls_.preflights;
    co_return take(script_.preflights, sync::PreflightReport{});
  }
  boost::asio::awaitable<sync::RunReport> run_pass() override {
    ++calls_.passes;
    sync::RunReport r = take(script_.passes, quiet_pass());
    for (const auto& s : r.streams)
      if (progress_) progress_(s);
    clock_.advance(script_.pass_takes);
    co_return r;
  }
  void request_stop() override { ++calls_.stops; }
  void on_progress(sync::ProgressFn fn) override { progress_ = std::move(fn); }
  std::vector<sync::EndpointSnapshot> endpoints() const override { return script_.lanes; }
  void flush() override { ++calls_.flushes; }

  sync::RunReport quiet_pass() const {
    sync::RunReport r;
    for (const auto& s : cfg_.streams) {
      sync::StreamReport x;
      x.stream = s.name;
      x.completed = true;
      x.not_modified = true;
      r.streams.push_back(x);
    }
    return r;
  }

 private:
  template <class T>
  static T take(std::deque<T>& q, T fallback) {
    if (q.empty()) return fallback;
    T v = std::move(q.front());
    q.pop_front();
    return v;
  }
  const config::Config& cfg_;
  StackScript& script_;
  StackCalls& calls_;
  ManualClock& clock_;
  sync::ProgressFn progress_;
};

}  // namespace peoplesync::testing
