// The shaping arithmetic, exactly: times are passed in, nothing sleeps.
#include "sync/limiter.hpp"

#include <gtest/gtest.h>

#include <random>

#include "tests/sync/window_check.hpp"

namespace peoplesync::sync {
namespace {

using namespace std::chrono_literals;
using testing_support::allowed_in;
using testing_support::max_in_any_window;
using testing_support::window_lengths;

const SteadyTime T0 = SteadyTime{} + std::chrono::hours{1000};

TEST(SlidingLog, AFreshLogAdmitsTheThresholdAtOnceThenWaitsForTheOldestToLeave) {
  SlidingLog log(30, 61s);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(log.next_free(T0), T0) << i;
    log.record(T0);
  }
  EXPECT_EQ(log.next_free(T0), T0 + 61s);
  EXPECT_EQ(log.next_free(T0 + 61s), T0 + 61s);
  EXPECT_EQ(log.next_free(T0 + 100s), T0 + 100s);
  EXPECT_EQ(log.count_after(T0 - 1ms), 30);
  EXPECT_EQ(log.count_after(T0), 0);
}

TEST(SlidingLog, UnlimitedNeverWaitsAndKeepsNothing) {
  SlidingLog log(0, 61s);
  for (int i = 0; i < 1000; ++i) log.record(T0);
  EXPECT_TRUE(log.unlimited());
  EXPECT_EQ(log.next_free(T0), T0);
  EXPECT_TRUE(log.times().empty());
}

// Random demand (bursts, pauses, steady trickles) admitted as early as the
// log allows: every window of every length holds no more than allowed, and
// every window shorter than the span holds at most the threshold.
TEST(SlidingLog, NoWindowOfAnyLengthExceedsTheThresholdUnderRandomBursts) {
  for (int n : {1, 7, 20, 30, 50, 100}) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(n));
    SlidingLog log(n, 61s);
    std::vector<SteadyTime> admitted;
    SteadyTime now = T0;
    for (int i = 0; i < 6000; ++i) {
      // Demand: mostly back-to-back, sometimes a pause of up to 3 minutes.
      const auto r = rng() % 100;
      if (r < 5) now += Millis{static_cast<long>(rng() % 180'000)};
      else if (r < 30) now += Millis{static_cast<long>(rng() % 2'000)};
      const SteadyTime at = log.next_free(now);
      ASSERT_GE(at, now);
      log.record(at);
      admitted.push_back(at);
      now = at;
    }
    for (Millis len : window_lengths()) {
      const int most = max_in_any_window(admitted, len);
      EXPECT_LE(most, allowed_in(len, 61s, n)) << "n=" << n << " window " << len.count() << " ms";
      if (len <= 60s) {
        EXPECT_LE(most, n) << "n=" << n << " window " << len.count() << " ms";
      }
    }
  }
}

TEST(SlidingLog, SaturationUsesWindowOverWindowPlusMarginOfTheCeiling) {
  SlidingLog log(30, 61s);
  SteadyTime now = T0;
  int admitted = 0;
  while (now < T0 + 1h) {
    now = log.next_free(now);
    if (now >= T0 + 1h) break;
    log.record(now);
    ++admitted;
  }
  const double ceiling = 30.0 * 60;  // 30 a minute for an hour
  EXPECT_GE(admitted / ceiling, 0.97);
  EXPECT_LE(admitted, 30 * 60);
  EXPECT_EQ(admitted, 30 * 60);  // 30 at T0, then 30 per 61 s: 30 * (1 + 59) = 1800
}

TEST(SlidingLog, RestoreKeepsTheNewestAndSorts) {
  SlidingLog log(3, 61s);
  log.restore({T0 + 5s, T0 + 1s, T0 + 3s, T0 + 4s, T0 + 2s});
  ASSERT_EQ(log.times().size(), 3u);
  EXPECT_EQ(log.times().front(), T0 + 3s);
  EXPECT_EQ(log.next_free(T0 + 5s), T0 + 64s);
}

TEST(SlidingLog, ATimeBeforeThePreviousIsRecordedAsThePrevious) {
  SlidingLog log(2, 10s);
  log.record(T0 + 5s);
  log.record(T0);  // never happens with steady time; the log stays sorted regardless
  EXPECT_EQ(log.times().back(), T0 + 5s);
  EXPECT_EQ(log.next_free(T0), T0 + 15s);
}

TEST(RollingBudget, SpendsUpToCapacityThenWaitsForTheOldestBucketToExpire) {
  RollingBudget b(100, 24h, 10min);
  EXPECT_TRUE(b.tracked());
  for (int i = 0; i < 10; ++i) b.spend(T0 + Millis{i * 1000}, 10);  // one bucket
  EXPECT_EQ(b.used(T0 + 10s), 100);
  EXPECT_EQ(b.remaining(T0 + 10s), 0);
  // The bucket started at T0 counts until 10 min past its start plus 24 h.
  EXPECT_EQ(b.next_free(T0 + 10s, 1, 100), T0 + 24h + 10min);
  EXPECT_EQ(b.used(T0 + 24h + 10min), 0);
  EXPECT_EQ(b.remaining(T0 + 24h + 10min), 100);
}

TEST(RollingBudget, OlderBucketsFreeFirstAndTheSumNeverUnderstatesTheRollingWindow) {
  RollingBudget b(50, 24h, 10min);
  b.spend(T0, 20);
  b.spend(T0 + 1h, 20);
  b.spend(T0 + 2h, 10);
  EXPECT_EQ(b.next_free(T0 + 3h, 15, 50), T0 + 24h + 10min);           // the first 20 free
  EXPECT_EQ(b.next_free(T0 + 3h, 35, 50), T0 + 25h + 10min);           // needs the second too
  EXPECT_EQ(b.next_free(T0 + 3h, 10, 40), T0 + 24h + 10min);           // a smaller allowance
  EXPECT_EQ(b.next_free(T0 + 3h, 500, 50), T0 + 26h + 10min);          // more than all: an empty budget
  // A rolling 24 h sum of the spends is never more than used().
  for (auto t = T0; t < T0 + 30h; t += 7min) {
    std::int64_t truth = 0;
    if (t - T0 < 24h) truth += 20;
    if (t >= T0 + 1h && t - (T0 + 1h) < 24h) truth += 20;
    if (t >= T0 + 2h && t - (T0 + 2h) < 24h) truth += 10;
    EXPECT_GE(b.used(t), truth);
  }
}

TEST(RollingBudget, UntrackedCountsButNeverWaits) {
  RollingBudget b(0, 24h, 10min);
  b.spend(T0, 1'000'000);
  EXPECT_FALSE(b.tracked());
  EXPECT_EQ(b.used(T0), 1'000'000);
  EXPECT_EQ(b.remaining(T0), 0);
  EXPECT_EQ(b.next_free(T0, 1, 0), T0);
}

TEST(RollingBudget, RestoreDropsExpiredAndEmptyBuckets) {
  RollingBudget b(100, 24h, 10min);
  b.restore({{T0 - 25h, 40}, {T0 - 1h, 30}, {T0 - 2h, 0}}, T0);
  ASSERT_EQ(b.buckets().size(), 1u);
  EXPECT_EQ(b.used(T0), 30);
}

TEST(EndpointLimiter, APauseDelaysOnlyUntilItsEndAndNeverShortens) {
  EndpointLimiter l(20, 60s, 1s, 0, 24h, 10min);
  l.admit(T0, 1);
  EXPECT_EQ(l.next_admission(T0), T0);
  l.pause_until(T0 + 5min);
  l.pause_until(T0 + 1min);  // a shorter pause later does not cut the first
  EXPECT_TRUE(l.paused(T0 + 4min));
  EXPECT_EQ(l.next_admission(T0 + 1s), T0 + 5min);
  EXPECT_EQ(l.next_admission(T0 + 6min), T0 + 6min);
  EXPECT_EQ(l.calls_in_window(T0 + 59s), 1);
  EXPECT_EQ(l.calls_in_window(T0 + 60s), 0);
  EXPECT_EQ(l.budget().used(T0), 1);
}

TEST(TimeBase, RoundTripsAndClampsTheFutureToNow) {
  ManualClock clock;
  clock.advance(1h);
  const TimeBase b = read_time_base(clock);
  const SteadyTime t = b.steady - 42s;
  EXPECT_EQ(to_wall_ms(b, t), to_unix_ms(b.wall) - 42'000);
  EXPECT_EQ(from_wall_ms(b, to_wall_ms(b, t)), t);
  // Written before the wall clock stepped back an hour: treated as just now.
  EXPECT_EQ(from_wall_ms(b, to_unix_ms(b.wall) + 3'600'000), b.steady);
}

}  // namespace
}  // namespace peoplesync::sync
