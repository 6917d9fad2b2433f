#pragma once
// The scheduler: the CallGate every Zoho call passes (connectors/gate.hpp).
// One lane per endpoint ("crm", "people/addupdatetimelogs", ...), built from
// the config's limits (documented defaults plus `limits:` overrides):
//
// - Threshold: a sliding log of the last per_minute admissions
//   (sync/limiter.hpp); no window of `window` ever holds more than per_minute
//   admitted calls, and at saturation window / (window + margin) of the
//   ceiling is used (60/61 = 98.4 % with the default 1 s margin).
// - Locks: a People lock reply (7209) pauses that endpoint, and only that
//   one, for its configured lock period; a CRM 429 pauses "crm" for
//   Retry-After (when given) or a capped exponential back-off. Both counted.
// - Concurrency: "crm" admits at most `concurrency` calls in flight; an
//   admission is held until its AdmissionPtr is destroyed, and the next
//   waiter is woken by that release (no polling).
// - Budgets: CRM daily credits (per-call cost) and the People daily cap
//   ("people", counted over every people/* endpoint), over a rolling 24 h.
// - Persistence: each lane's recent admissions, pause end, lock count and
//   24 h usage go to the state store on every admission (lanes with a
//   per-minute threshold or a tracked budget) and on every limit signal, so a
//   restart - or `--run-once` from cron every minute - continues the same
//   windows instead of starting afresh.
//
// Waiting: callers of one endpoint queue in FIFO order; the head computes
// its wait once and sleeps through the injected Sleeper (VirtualSleeper in
// tests: simulated time, no wall-clock waits); a lock arriving meanwhile is
// seen when it wakes. Time: steady time in process (wall-clock steps change
// nothing); wall time only in the store, where future times are clamped.
//
// Threading: not thread-safe. Use it from the coroutines of one io_context
// running on one thread (the daemon's model); AdmissionPtrs are released on
// that thread too. The scheduler must outlive the ZohoApi that uses it;
// admissions and queued callers stay valid if it is destroyed first.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "connectors/gate.hpp"
#include "connectors/sleeper.hpp"

namespace peoplesync::state {
class Store;
}

namespace peoplesync::sync {

// Whose work the process is doing: an operator waiting (`--run-once`,
// `check --online`) or the daemon's background polling. Background work may
// use only `background_share` of each daily budget, leaving the rest for
// interactive runs.
enum class Priority { interactive, background };

struct SchedulerOptions {
  Millis window{60'000};  // the vendor's threshold window ("per minute")
  Millis margin{1'000};   // added to the window: absorbs latency between our clock and the server's
  Millis budget_period{std::chrono::hours{24}};
  Millis budget_bucket{std::chrono::minutes{10}};  // granularity of the rolling 24 h usage
  Millis backoff_base{1'000};                      // CRM 429 without Retry-After: base * 2^n ...
  Millis backoff_cap{60'000};                      // ... capped here
  Millis max_retry_after{std::chrono::hours{1}};   // a longer Retry-After is cut to this
  double background_share = 1.0;                   // (0, 1]: share of a daily budget background work may use
};

// One endpoint as seen now (status page, /status.json, metrics).
struct EndpointSnapshot {
  std::string endpoint;
  int per_minute = 0;                // 0 = no threshold
  int calls_in_window = 0;           // admissions in the last `window`
  int available_now = 0;             // calls that may start now (threshold, pause, free slots); -1 = unbounded
  std::optional<Millis> next_admission_in;  // when none may start now: until the next may
  int concurrency = 0;               // 0 = unbounded
  int in_flight = 0;                 // admissions held now
  int queued = 0;                    // callers waiting for admission
  std::optional<SysTime> paused_until;  // lock or 429 back-off in force, until then
  std::int64_t lock_count = 0;       // lock replies and 429s, ever (persisted)
  std::int64_t rate_limited = 0;     // 429s seen by this process
  std::int64_t admitted = 0;         // calls admitted by this process
  std::int64_t waited_calls = 0;     // of which had to wait
  double wait_seconds = 0;           // total time callers waited for admission (this process)
  std::int64_t daily_used = 0;       // calls / credits in the rolling 24 h
  std::int64_t daily_budget = 0;     // 0 = untracked
  std::int64_t daily_remaining = 0;  // daily_budget - daily_used, >= 0 (0 when untracked)
};

class Scheduler final : public connectors::CallGate {
 public:
  // limits: config::Config::limits (every known endpoint). store: optional
  // persistence (nullptr = in memory only); read once here, written on every
  // admission of a limited lane and on every limit signal. Throws nothing
  // for a bad or unreadable store row: that lane starts empty (logged).
  Scheduler(const std::map<std::string, config::Limit>& limits, state::Store* store, const Clock& clock,
            connectors::Sleeper& sleeper, SchedulerOptions options = {});
  ~Scheduler() override;  // flushes every lane to the store
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // CallGate. An endpoint that is not in the limits is admitted unshaped
  // (logged once). Waits as long as the threshold, a pause, the daily budget
  // or the concurrency cap require, and no longer.
  boost::asio::awaitable<connectors::AdmissionPtr> admit(const std::string& endpoint, int cost) override;
  void limited(const std::string& endpoint, connectors::LimitSignal signal,
               std::optional<Millis> retry_after) override;

  void set_priority(Priority p) { priority_ = p; }
  Priority priority() const { return priority_; }

  // How long a call to `endpoint` costing `cost` would wait if asked now
  // (threshold, pause and budget; not queue or concurrency). Lets a run
  // decide to stop (exit 75) rather than sit out a lock or an empty budget.
  Millis wait_estimate(const std::string& endpoint, int cost = 1) const;

  // Every lane, ordered by endpoint; or one lane.
  std::vector<EndpointSnapshot> snapshot() const;
  std::optional<EndpointSnapshot> snapshot(const std::string& endpoint) const;

  // Writes every lane to the store now (shutdown; the destructor does it too).
  void flush();

 // One endpoint's state; defined in scheduler.cpp (named here for its helpers).
  struct Lane;

 private:
  Lane& lane(const std::string& endpoint);
  const Lane* find(const std::string& endpoint) const;
  Lane* people_lane(const Lane& l) const;  // the lane holding the People daily cap, if l counts towards it
  std::chrono::steady_clock::time_point ready_at(const Lane& l, std::chrono::steady_clock::time_point now,
                                                 std::int64_t cost) const;
  std::int64_t allowance(std::int64_t capacity) const;
  void load(Lane& l);
  void persist(Lane& l);

  std::map<std::string, config::Limit> limits_;
  state::Store* store_;
  const Clock& clock_;
  connectors::Sleeper& sleeper_;
  SchedulerOptions options_;
  Priority priority_ = Priority::interactive;
  std::map<std::string, std::shared_ptr<Lane>> lanes_;
};

}  // namespace peoplesync::sync
