#include "sync/limiter.hpp"

#include <algorithm>

namespace peoplesync::sync {

// ---------------------------------------------------------------- SlidingLog

SlidingLog::SlidingLog(int limit, Millis span) : limit_(std::max(0, limit)), span_(span) {}

SteadyTime SlidingLog::next_free(SteadyTime now) const {
  if (unlimited() || static_cast<int>(log_.size()) < limit_) return now;
  // The N-th most recent admission leaves the span at front + span.
  return std::max(now, log_.front() + span_);
}

void SlidingLog::record(SteadyTime t) {
  if (unlimited()) return;
  // Steady time never goes back; keep the log sorted even if a caller does.
  if (!log_.empty() && t < log_.back()) t = log_.back();
  log_.push_back(t);
  while (static_cast<int>(log_.size()) > limit_) log_.pop_front();
}

int SlidingLog::count_after(SteadyTime from) const {
  // Sorted: count from the back.
  int n = 0;
  for (auto it = log_.rbegin(); it != log_.rend() && *it > from; ++it) ++n;
  return n;
}

void SlidingLog::restore(std::vector<SteadyTime> times) {
  log_.clear();
  if (unlimited()) return;
  std::sort(times.begin(), times.end());
  const std::size_t keep = std::min(times.size(), static_cast<std::size_t>(limit_));
  log_.assign(times.end() - static_cast<std::ptrdiff_t>(keep), times.end());
}

// ---------------------------------------------------------------- RollingBudget

RollingBudget::RollingBudget(std::int64_t capacity, Millis period, Millis bucket)
    : capacity_(std::max<std::int64_t>(0, capacity)), period_(period), bucket_(std::max(bucket, Millis{1})) {}

std::int64_t RollingBudget::used(SteadyTime now) const {
  std::int64_t sum = 0;
  for (const auto& b : buckets_)
    if (expiry(b) > now) sum += b.amount;
  return sum;
}

std::int64_t RollingBudget::remaining(SteadyTime now) const {
  if (!tracked()) return 0;
  return std::max<std::int64_t>(0, capacity_ - used(now));
}

SteadyTime RollingBudget::next_free(SteadyTime now, std::int64_t cost, std::int64_t allowance) const {
  if (!tracked()) return now;
  allowance = std::clamp<std::int64_t>(allowance, 1, capacity_);
  cost = std::clamp<std::int64_t>(cost, 0, allowance);
  std::int64_t u = used(now);
  if (u + cost <= allowance) return now;
  // Buckets expire oldest first (starts are increasing): walk until enough has expired.
  for (const auto& b : buckets_) {
    if (expiry(b) <= now) continue;
    u -= b.amount;
    if (u + cost <= allowance) return expiry(b);
  }
  return now;  // unreachable: with every bucket expired u == 0 and cost <= allowance
}

void RollingBudget::spend(SteadyTime now, std::int64_t cost) {
  if (cost <= 0) return;
  drop_expired(now);
  if (!buckets_.empty() && now >= buckets_.back().start && now < buckets_.back().start + bucket_) {
    buckets_.back().amount += cost;
    return;
  }
  const SteadyTime start = buckets_.empty() ? now : std::max(now, buckets_.back().start);
  buckets_.push_back({start, cost});
}

void RollingBudget::restore(std::vector<Bucket> buckets, SteadyTime now) {
  std::sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) { return a.start < b.start; });
  buckets_.assign(buckets.begin(), buckets.end());
  std::erase_if(buckets_, [](const Bucket& b) { return b.amount <= 0; });
  drop_expired(now);
}

void RollingBudget::drop_expired(SteadyTime now) {
  while (!buckets_.empty() && expiry(buckets_.front()) <= now) buckets_.pop_front();
}

// ---------------------------------------------------------------- EndpointLimiter

EndpointLimiter::EndpointLimiter(int per_window, Millis window, Millis margin, std::int64_t budget,
                                 Millis budget_period, Millis budget_bucket)
    : window_(window), log_(per_window, window + margin), budget_(budget, budget_period, budget_bucket) {}

SteadyTime EndpointLimiter::next_admission(SteadyTime now) const {
  return std::max(log_.next_free(now), paused_until_);
}

void EndpointLimiter::admit(SteadyTime now, std::int64_t cost) {
  log_.record(now);
  budget_.spend(now, cost);
}

void EndpointLimiter::pause_until(SteadyTime until) { paused_until_ = std::max(paused_until_, until); }

// ---------------------------------------------------------------- time bases

TimeBase read_time_base(const Clock& clock) { return {clock.now(), clock.steady_now()}; }

std::int64_t to_wall_ms(const TimeBase& base, SteadyTime t) {
  return to_unix_ms(base.wall) - std::chrono::duration_cast<Millis>(base.steady - t).count();
}

SteadyTime from_wall_ms(const TimeBase& base, std::int64_t ms) {
  const std::int64_t age = to_unix_ms(base.wall) - ms;
  if (age <= 0) return base.steady;
  return base.steady - Millis{age};
}

}  // namespace peoplesync::sync
