#pragma once
// Saturating People endpoints through the whole production client stack -
// Beast/OpenSSL transport, TokenProvider, ZohoApi, PeopleClient, with the
// Scheduler as gate - against an in-process sandbox over TLS that enforces
// the sliding-window thresholds and lock periods. Shared by the scheduler
// benchmark (bench/scheduler_bench.cpp) and the end-to-end test
// (tests/sync/scheduler_sandbox_test.cpp).
//
// Time: the sandbox runs on a ScaledClock (`time_scale` times real time);
// the client's scheduler reads the same clock and sleeps through a
// ScaledSleeper, so a vendor minute passes in 60 / time_scale real seconds
// and every limit keeps its documented value.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "connectors/sleeper.hpp"

namespace peoplesync::bench {

// Sleeps d / scale of real time (rounded up) on the calling executor.
class ScaledSleeper final : public connectors::Sleeper {
 public:
  explicit ScaledSleeper(double scale) : scale_(scale) {}
  boost::asio::awaitable<void> sleep_for(Millis d) override;

 private:
  double scale_;
};

struct SaturateOptions {
  double time_scale = 30;     // sandbox (and client) time runs this many times faster than real time
  Millis duration{300'000};   // sandbox time spent saturating
  Millis margin{1'000};       // the scheduler's safety margin on the 60 s window (sandbox time)
  int workers_per_endpoint = 4;
  std::vector<std::string> endpoints{"people/addupdatetimelogs", "people/getRecordIdsByReferenceIds"};
  // Kill-and-restart: the client process (scheduler, transport, token,
  // in-flight calls) is torn down this many times mid-window and a new one
  // starts on the same state file; the sandbox keeps running.
  int restarts = 0;
  bool persist = true;        // false: a control run where a restarted client forgets the window
  // The scheduler's thresholds as a multiple of the documented ones the
  // sandbox enforces: 1 in production; above 1 a control run that must be locked.
  double limit_factor = 1.0;
  std::string work_dir;       // TLS files and the state file go here (created)
  std::uint64_t seed = 7;
};

struct EndpointOutcome {
  std::string endpoint;
  int per_minute = 0;
  std::int64_t admitted = 0;        // calls the scheduler let through (client side)
  std::int64_t ok = 0;              // replies that were not errors
  std::int64_t locked_replies = 0;  // 7209 replies the client received
  std::int64_t other_errors = 0;
  std::int64_t server_calls = 0;    // what the sandbox counted
  std::int64_t server_lock_events = 0;
  std::int64_t server_locked_replies = 0;
  int max_in_60s = 0;               // most admissions in any 60 s window (client clock)
  double steady_share = 0;          // 60 s * N / mean(t[i+N] - t[i]): the rate held, vs the ceiling
  double run_share = 0;         // admitted / (N * duration in minutes), start-up burst included
};

struct SaturateResult {
  std::vector<EndpointOutcome> endpoints;
  double wall_seconds = 0;
  int processes = 0;                // client processes run (restarts + 1)
};

// Runs one saturation; throws std::runtime_error when the set-up fails.
SaturateResult saturate(const SaturateOptions& options);

// The most entries of `times` inside any closed window of `length`.
int max_in_window(std::vector<std::chrono::steady_clock::time_point> times, Millis length);

}  // namespace peoplesync::bench
