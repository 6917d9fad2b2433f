#pragma once
// The arithmetic of rate shaping, per endpoint: pure functions of the times
// passed in (no clock is read here, no Asio, no I/O), so every guarantee is
// tested exactly in simulated time. The scheduler (scheduler.hpp) injects the
// clock, waits and persists.
//
// Time: everything in-process is steady time (immune to wall-clock steps).
// Wall time appears only at the persistence edge (TimeBase below).
//
// The threshold guarantee. SlidingLog keeps the last N admission times and
// admits the next call no earlier than the oldest of them plus the span S
// (= the vendor's window W plus a safety margin M). Then t[k+N] >= t[k] + S
// for every k, so no half-open interval of length S - and a fortiori no
// window of length W, open, closed, sliding or fixed - holds more than N
// admissions: from the first call of a fresh process, after a burst, for
// ever. At saturation it admits exactly N per S: W / (W + M) of the
// ceiling (60 s / 61 s = 98.4 %). The margin absorbs the difference between
// when we admit a call and when the server counts it (latency jitter).
#include <chrono>
#include <cstdint>
#include <deque>
#include <vector>

#include "common/clock.hpp"

namespace peoplesync::sync {

using SteadyTime = std::chrono::steady_clock::time_point;

// At most `limit` admissions in any span of length `span`; limit 0 = unlimited.
class SlidingLog {
 public:
  SlidingLog(int limit, Millis span);

  int limit() const { return limit_; }
  Millis span() const { return span_; }
  bool unlimited() const { return limit_ <= 0; }

  // The earliest time >= now at which one more call may be admitted.
  SteadyTime next_free(SteadyTime now) const;
  // Records an admission at t (t never before the previous one: steady time).
  void record(SteadyTime t);
  // Admissions at times > from (e.g. from = now - 60 s: calls in the last minute).
  int count_after(SteadyTime from) const;
  // The admissions that still constrain the future (at most `limit`), oldest first.
  const std::deque<SteadyTime>& times() const { return log_; }
  // Replaces the log (e.g. loaded after a restart); sorted, the newest `limit` kept.
  void restore(std::vector<SteadyTime> times);

 private:
  int limit_;
  Millis span_;
  std::deque<SteadyTime> log_;
};

// A rolling budget (CRM credits, People daily calls): spends are kept in
// buckets of `bucket` width; a bucket counts until `period` after its end, so
// the sum never understates what the vendor sees in its rolling window (it
// overstates by at most one bucket's worth near the edge). capacity 0 =
// untracked: usage is still counted, for reporting, but never waited for.
class RollingBudget {
 public:
  struct Bucket {
    SteadyTime start;       // time of the first spend in the bucket
    std::int64_t amount = 0;
  };

  RollingBudget(std::int64_t capacity, Millis period, Millis bucket);

  std::int64_t capacity() const { return capacity_; }
  bool tracked() const { return capacity_ > 0; }
  Millis period() const { return period_; }

  std::int64_t used(SteadyTime now) const;
  std::int64_t remaining(SteadyTime now) const;  // capacity - used, >= 0 (0 when untracked)
  // The earliest time >= now at which `cost` more fits under `allowance`
  // (the share of the capacity the caller may use). A cost larger than the
  // allowance is treated as the allowance (it waits for an empty budget, not
  // for ever). Untracked: now.
  SteadyTime next_free(SteadyTime now, std::int64_t cost, std::int64_t allowance) const;
  void spend(SteadyTime now, std::int64_t cost);
  const std::deque<Bucket>& buckets() const { return buckets_; }
  void restore(std::vector<Bucket> buckets, SteadyTime now);

 private:
  SteadyTime expiry(const Bucket& b) const { return b.start + bucket_ + period_; }
  void drop_expired(SteadyTime now);

  std::int64_t capacity_;
  Millis period_;
  Millis bucket_;
  std::deque<Bucket> buckets_;
};

// One endpoint: the threshold log, a pause (People lock, CRM 429 back-off)
// and its own rolling usage. A pause delays only this endpoint.
class EndpointLimiter {
 public:
  // per_window calls per `window` (0 = unlimited), shaped over window + margin.
  EndpointLimiter(int per_window, Millis window, Millis margin, std::int64_t budget, Millis budget_period,
                  Millis budget_bucket);

  // The earliest time >= now one call may be admitted, by threshold and pause
  // (budgets are asked separately: the People daily cap spans endpoints).
  SteadyTime next_admission(SteadyTime now) const;
  void admit(SteadyTime now, std::int64_t cost);
  // Pauses until `until` (never shortens a longer pause already in force).
  void pause_until(SteadyTime until);
  SteadyTime paused_until() const { return paused_until_; }
  bool paused(SteadyTime now) const { return paused_until_ > now; }
  // Admissions in the vendor's window ending now.
  int calls_in_window(SteadyTime now) const { return log_.count_after(now - window_); }

  Millis window() const { return window_; }
  SlidingLog& log() { return log_; }
  const SlidingLog& log() const { return log_; }
  RollingBudget& budget() { return budget_; }
  const RollingBudget& budget() const { return budget_; }

 private:
  Millis window_;
  SlidingLog log_;
  RollingBudget budget_;
  SteadyTime paused_until_{};
};

// One reading of both clocks, to move times between the steady base used in
// process and the wall base persisted in the state store.
struct TimeBase {
  SysTime wall;
  SteadyTime steady;
};
TimeBase read_time_base(const Clock& clock);
// Steady -> unix ms (as of this reading).
std::int64_t to_wall_ms(const TimeBase& base, SteadyTime t);
// Unix ms -> steady. A time after base.wall (written by a process whose
// clock ran ahead, or before the wall clock stepped back) is clamped to now:
// conservative, as if it had just happened.
SteadyTime from_wall_ms(const TimeBase& base, std::int64_t ms);

}  // namespace peoplesync::sync
