// The scheduler in simulated time: VirtualSleeper (each wait advances a
// ManualClock) or SimSleeper (overlapping sleepers, discrete events). No test
// waits on the wall clock.
#include "sync/scheduler.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <random>

#include "config/catalog.hpp"
#include "state/store.hpp"
#include "tests/sync/sim_sleeper.hpp"
#include "tests/sync/window_check.hpp"

namespace peoplesync::sync {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using connectors::AdmissionPtr;
using connectors::LimitSignal;
using testing_support::allowed_in;
using testing_support::max_in_any_window;
using testing_support::SimSleeper;
using testing_support::spawn;
using testing_support::window_lengths;
using Steady = std::chrono::steady_clock::time_point;

constexpr const char* kTimelogs = "people/addupdatetimelogs";  // 30 a minute
constexpr const char* kRefs = "people/getRecordIdsByReferenceIds";  // 50 a minute
constexpr const char* kProjects = "people/getprojects";  // 20 a minute

std::map<std::string, config::Limit> default_limits() {
  std::map<std::string, config::Limit> out;
  for (const auto& e : config::endpoint_defaults()) out.emplace(std::string(e.name), e.limit);
  return out;
}

// Every admission time, per endpoint.
using Log = std::map<std::string, std::vector<Steady>>;

// `calls` admissions to `endpoint`, each held for `hold` (on `sleeper`) before release.
boost::asio::awaitable<void> caller(Scheduler& s, const Clock& clock, connectors::Sleeper& sleeper, std::string endpoint,
                                    int calls, Log& log, Millis hold = Millis{0}, int cost = 1) {
  for (int i = 0; i < calls; ++i) {
    AdmissionPtr a = co_await s.admit(endpoint, cost);
    log[endpoint].push_back(clock.steady_now());
    if (hold > Millis{0}) co_await sleeper.sleep_for(hold);
  }
}

void expect_bound(const std::vector<Steady>& times, int per_minute, const std::string& what) {
  for (Millis len : window_lengths()) {
    const int most = max_in_any_window(times, len);
    EXPECT_LE(most, allowed_in(len, 61s, per_minute)) << what << ": window " << len.count() << " ms";
    if (len <= 60s) {
      EXPECT_LE(most, per_minute) << what << ": window " << len.count() << " ms";
    }
  }
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-sched-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<state::Store> open_store() { return state::Store::open((dir_ / "state.db").string(), clock_); }
  Steady now() const { return clock_.steady_now(); }

  fs::path dir_;
  ManualClock clock_;
  boost::asio::io_context io_;
};

// ---------------------------------------------------------------- the threshold

TEST_F(SchedulerTest, StartUpAdmitsTheThresholdThenWaitsOnceForTheWindow) {
  connectors::VirtualSleeper sleeper(clock_);
  Scheduler s(default_limits(), nullptr, clock_, sleeper);
  Log log;
  const Steady t0 = now();
  // Three callers queue on one endpoint: only the head ever sleeps, once per wait.
  for (int w = 0; w < 3; ++w) spawn(io_, caller(s, clock_, sleeper, kTimelogs, 34, log));
  io_.run();
  ASSERT_EQ(log[kTimelogs].size(), 102u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(log[kTimelogs][static_cast<std::size_t>(i)], t0) << i;
  EXPECT_EQ(log[kTimelogs][30], t0 + 61s);
  EXPECT_EQ(log[kTimelogs][60], t0 + 122s);
  EXPECT_EQ(log[kTimelogs][90], t0 + 183s);
  // One computed wait per window, never polling.
  EXPECT_EQ(sleeper.waits(), (std::vector<Millis>{61s, 61s, 61s}));
  expect_bound(log[kTimelogs], 30, kTimelogs);
  const auto snap = s.snapshot(kTimelogs);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->admitted, 102);
  EXPECT_EQ(snap->calls_in_window, 12);
  EXPECT_EQ(snap->available_now, 18);
  EXPECT_GT(snap->wait_seconds, 0);
}

// Many endpoints at once, callers arriving in random bursts with random
// latencies, for two simulated hours: every sliding window of every length
// holds no more than each endpoint's threshold allows.
TEST_F(SchedulerTest, NoWindowOfAnyLengthExceedsTheThresholdUnderRandomBursts) {
  SimSleeper sleeper(clock_);
  Scheduler s(default_limits(), nullptr, clock_, sleeper);
  Log log;
  const Steady end = now() + 2h;
  auto bursty = [&](std::string endpoint, std::uint64_t seed) -> boost::asio::awaitable<void> {
    std::mt19937_64 rng(seed);
    while (clock_.steady_now() < end) {
      if (rng() % 4 == 0) co_await sleeper.sleep_for(Millis{static_cast<long>(rng() % 150'000)});
      const int burst = 1 + static_cast<int>(rng() % 80);
      for (int i = 0; i < burst; ++i) {
        AdmissionPtr a = co_await s.admit(endpoint, 1);
        log[endpoint].push_back(clock_.steady_now());
        co_await sleeper.sleep_for(Millis{static_cast<long>(20 + rng() % 900)});  // the call's latency
      }
    }
  };
  std::uint64_t seed = 1;
  for (const char* ep : {kTimelogs, kRefs, kProjects, "crm"})
    for (int w = 0; w < 4; ++w) spawn(io_, bursty(ep, seed++));
  sleeper.run(io_);
  const auto limits = default_limits();
  for (const char* ep : {kTimelogs, kRefs, kProjects, "crm"}) {
    ASSERT_GT(log[ep].size(), 100u) << ep;
    expect_bound(log[ep], limits.at(ep).per_minute, ep);
  }
}

TEST_F(SchedulerTest, SaturationUsesAtLeast97PercentOfTheCeiling) {
  SimSleeper sleeper(clock_);
  Scheduler s(default_limits(), nullptr, clock_, sleeper);
  Log log;
  const Steady t0 = now();
  // More demand than the ceiling on two endpoints, with call latency.
  for (int w = 0; w < 4; ++w) spawn(io_, caller(s, clock_, sleeper, kTimelogs, 600, log, 300ms));
  for (int w = 0; w < 4; ++w) spawn(io_, caller(s, clock_, sleeper, kRefs, 1000, log, 300ms));
  sleeper.run(io_);
  for (auto [ep, n] : {std::pair{kTimelogs, 30}, std::pair{kRefs, 50}}) {
    // Measured after the start-up burst: admissions in [t0 + 5 min, t0 + 65 min).
    const auto& t = log[ep];
    const auto in = std::count_if(t.begin(), t.end(), [&](Steady x) { return x >= t0 + 5min && x < t0 + 65min; });
    const double share = static_cast<double>(in) / (n * 60.0);
    EXPECT_GE(share, 0.97) << ep;
    EXPECT_LE(share, 1.0) << ep;
    expect_bound(t, n, ep);
  }
}

// ---------------------------------------------------------------- clocks and restarts

TEST_F(SchedulerTest, AWallClockSteppingBackBreaksNothing) {
  connectors::VirtualSleeper sleeper(clock_);
  auto store = open_store();
  Log log;
  {
    Scheduler s(default_limits(), store.get(), clock_, sleeper);
    spawn(io_, caller(s, clock_, sleeper, kTimelogs, 45, log));
    io_.run();
    io_.restart();
    // NTP steps the wall clock back two hours mid-run: shaping runs on steady time.
    clock_.set_wall(clock_.now() - 2h);
    spawn(io_, caller(s, clock_, sleeper, kTimelogs, 45, log));
    io_.run();
    io_.restart();
    const auto snap = s.snapshot(kTimelogs);
    EXPECT_EQ(snap->admitted, 90);
  }
  // A restart after the step: the saved times now lie in the future; they
  // are read as "just now", so the next process waits a full window.
  clock_.set_wall(clock_.now() - 1h);
  const Steady restart = now();
  {
    Scheduler s(default_limits(), store.get(), clock_, sleeper);
    EXPECT_EQ(s.wait_estimate(kTimelogs), 61s);
    spawn(io_, caller(s, clock_, sleeper, kTimelogs, 31, log));
    io_.run();
    io_.restart();
  }
  EXPECT_GE(log[kTimelogs][90], restart + 61s);
  expect_bound(log[kTimelogs], 30, kTimelogs);
}

TEST_F(SchedulerTest, ARestartMidWindowKeepsTheBound) {
  connectors::VirtualSleeper sleeper(clock_);
  auto store = open_store();
  Log log;
  {
    // The first process uses 25 of 30 calls over 25 s, then dies.
    Scheduler s(default_limits(), store.get(), clock_, sleeper);
    auto paced = [&]() -> boost::asio::awaitable<void> {
      for (int i = 0; i < 25; ++i) {
        AdmissionPtr a = co_await s.admit(kTimelogs, 1);
        log[kTimelogs].push_back(clock_.steady_now());
        co_await sleeper.sleep_for(1s);
      }
    };
    spawn(io_, paced());
    io_.run();
    io_.restart();
  }
  ASSERT_TRUE(store->endpoint_state(kTimelogs));
  EXPECT_EQ(store->endpoint_state(kTimelogs)->recent_calls_ms.size(), 25u);
  // The second process, on the same state file, may send only 5 more until
  // the first call leaves the window.
  const Steady first = log[kTimelogs].front();
  {
    Scheduler s(default_limits(), store.get(), clock_, sleeper);
    spawn(io_, caller(s, clock_, sleeper, kTimelogs, 40, log));
    io_.run();
    io_.restart();
  }
  EXPECT_EQ(log[kTimelogs][29], first + 25s);  // 5 more at once
  EXPECT_EQ(log[kTimelogs][30], first + 61s);  // then the window
  expect_bound(log[kTimelogs], 30, kTimelogs);
}

// `--run-once` from cron every minute: each run saturates for 50 s and exits.
TEST_F(SchedulerTest, RunOnceEveryMinuteFromCronKeepsTheBound) {
  SimSleeper sleeper(clock_);
  auto store = open_store();
  Log log;
  for (int run = 0; run < 8; ++run) {
    const Steady start = now();
    {
      Scheduler s(default_limits(), store.get(), clock_, sleeper);
      auto until = [&](const char* ep) -> boost::asio::awaitable<void> {
        while (clock_.steady_now() < start + 50s) {
          AdmissionPtr a = co_await s.admit(ep, 1);
          log[ep].push_back(clock_.steady_now());
          co_await sleeper.sleep_for(200ms);
        }
      };
      for (int w = 0; w < 3; ++w) {
        spawn(io_, until(kTimelogs));
        spawn(io_, until(kRefs));
      }
      sleeper.run(io_);
    }
    if (now() < start + 60s) clock_.advance(std::chrono::ceil<Millis>(start + 60s - now()));
  }
  expect_bound(log[kTimelogs], 30, kTimelogs);
  expect_bound(log[kRefs], 50, kRefs);
  EXPECT_GT(log[kTimelogs].size(), 8u * 20);
}

// ---------------------------------------------------------------- locks and 429

TEST_F(SchedulerTest, ALockPausesOnlyItsEndpointAndCallersResumeAfterIt) {
  SimSleeper sleeper(clock_);
  Scheduler s(default_limits(), nullptr, clock_, sleeper);
  Log log;
  spawn(io_, caller(s, clock_, sleeper, kProjects, 60, log, 500ms));
  spawn(io_, caller(s, clock_, sleeper, kTimelogs, 300, log, 500ms));
  Steady locked_at{};
  auto lock = [&]() -> boost::asio::awaitable<void> {
    co_await sleeper.sleep_for(90s);
    locked_at = clock_.steady_now();
    const Millis other = s.wait_estimate(kTimelogs);
    s.limited(kProjects, LimitSignal::locked, std::nullopt);
    const auto snap = s.snapshot(kProjects);
    EXPECT_TRUE(snap->paused_until);
    EXPECT_EQ(snap->available_now, 0);
    EXPECT_EQ(snap->next_admission_in, Millis{5min});
    EXPECT_EQ(s.wait_estimate(kProjects), Millis{5min});
    EXPECT_EQ(s.wait_estimate(kTimelogs), other);  // unchanged by the other endpoint's lock
  };
  spawn(io_, lock());
  sleeper.run(io_);
  ASSERT_EQ(log[kProjects].size(), 60u);
  const auto& p = log[kProjects];
  const auto& t = log[kTimelogs];
  // Nothing to the locked endpoint during the lock; it resumes at its end.
  EXPECT_EQ(std::count_if(p.begin(), p.end(), [&](Steady x) { return x > locked_at && x < locked_at + 5min; }), 0);
  EXPECT_TRUE(std::find(p.begin(), p.end(), locked_at + 5min) != p.end());
  // The other endpoint went on at its full rate meanwhile.
  EXPECT_GE(std::count_if(t.begin(), t.end(), [&](Steady x) { return x > locked_at && x < locked_at + 5min; }),
            4 * 30);
  EXPECT_EQ(s.snapshot(kProjects)->lock_count, 1);
  EXPECT_EQ(s.snapshot(kTimelogs)->lock_count, 0);
  EXPECT_FALSE(s.snapshot(kProjects)->paused_until);  // over by now
}

TEST_F(SchedulerTest, ALockUsesTheConfiguredLockPeriodAndSurvivesARestart) {
  connectors::VirtualSleeper sleeper(clock_);
  auto store = open_store();
  auto limits = default_limits();
  limits[kProjects].lock = 2min;
  {
    Scheduler s(limits, store.get(), clock_, sleeper);
    s.limited(kProjects, LimitSignal::locked, std::nullopt);
    EXPECT_EQ(s.wait_estimate(kProjects), Millis{2min});
  }
  clock_.advance(30s);
  {
    Scheduler s(limits, store.get(), clock_, sleeper);
    EXPECT_EQ(s.wait_estimate(kProjects), Millis{90s});
    EXPECT_EQ(s.snapshot(kProjects)->lock_count, 1);
    Log log;
    spawn(io_, caller(s, clock_, sleeper, kProjects, 1, log));
    io_.run();
    io_.restart();
    EXPECT_EQ(sleeper.waits(), std::vector<Millis>{90s});
  }
  // The wall clock stepped back a day: the saved lock end is cut to one lock period.
  {
    Scheduler s(limits, store.get(), clock_, sleeper);
    s.limited(kProjects, LimitSignal::locked, std::nullopt);
  }
  clock_.set_wall(clock_.now() - 24h);
  Scheduler s(limits, store.get(), clock_, sleeper);
  EXPECT_EQ(s.wait_estimate(kProjects), Millis{2min});
}

TEST_F(SchedulerTest, Crm429HonoursRetryAfter) {
  connectors::VirtualSleeper sleeper(clock_);
  Scheduler s(default_limits(), nullptr, clock_, sleeper);
  s.limited("crm", LimitSignal::rate_limited, Millis{7'000});
  EXPECT_EQ(s.wait_estimate("crm"), 7s);
  EXPECT_EQ(s.wait_estimate(kTimelogs), 0s);  // only "crm" pauses
  Log log;
  const Steady t0 = now();
  spawn(io_, caller(s, clock_, sleeper, "crm", 1, log));
  io_.run();
  EXPECT_EQ(log["crm"][0], t0 + 7s);
  EXPECT_EQ(sleeper.waits(), std::vector<Millis>{7s});
  const auto snap = s.snapshot("crm");
  EXPECT_EQ(snap->rate_limited, 1);
  EXPECT_EQ(snap->lock_count, 1);
  // An absurd Retry-After is cut to max_retry_after (1 h).
  s.limited("crm", LimitSignal::rate_limited, Millis{std::chrono::hours{30}});
  EXPECT_EQ(s.wait_estimate("crm"), Millis{1h});
}

TEST_F(SchedulerTest, Crm429WithoutRetryAfterBacksOffExponentiallyCappedAndStartsAfresh) {
  connectors::VirtualSleeper sleeper(clock_);
  Scheduler s(default_limits(), nullptr, clock_, sleeper);
  std::vector<Millis> pauses;
  for (int i = 0; i < 9; ++i) {
    s.limited("crm", LimitSignal::rate_limited, std::nullopt);
    pauses.push_back(s.wait_estimate("crm"));
    clock_.advance(pauses.back());  // the caller waited it out and was refused again
  }
  EXPECT_EQ(pauses, (std::vector<Millis>{1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s, 60s}));
  // Quiet for longer than the cap: the next 429 starts from the base again.
  clock_.advance(61s);
  s.limited("crm", LimitSignal::rate_limited, std::nullopt);
  EXPECT_EQ(s.wait_estimate("crm"), 1s);
  EXPECT_EQ(s.snapshot("crm")->rate_limited, 10);
}

// ---------------------------------------------------------------- concurrency

TEST_F(SchedulerTest, ConcurrencyCapHoldsAndWaitersAreWokenByTheRelease) {
  SimSleeper sleeper(clock_);
  auto limits = default_limits();
  limits["crm"].concurrency = 3;
  limits["crm"].per_minute = 0;  // isolate the cap
  Scheduler s(limits, nullptr, clock_, sleeper);
  int in_flight = 0, most = 0, waited = 0;
  std::vector<Steady> releases;
  std::vector<Steady> admitted_after_wait;
  auto worker = [&](std::uint64_t seed) -> boost::asio::awaitable<void> {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 10; ++i) {
      const Steady asked = clock_.steady_now();
      AdmissionPtr a = co_await s.admit("crm", 1);
      if (clock_.steady_now() > asked) {
        ++waited;
        admitted_after_wait.push_back(clock_.steady_now());
      }
      most = std::max(most, ++in_flight);
      EXPECT_LE(s.snapshot("crm")->in_flight, 3);
      co_await sleeper.sleep_for(Millis{static_cast<long>(1'000 + rng() % 4'000)});
      --in_flight;
      releases.push_back(clock_.steady_now());
      a.reset();  // release: wakes the next waiter
    }
  };
  for (std::uint64_t w = 0; w < 8; ++w) spawn(io_, worker(w));
  sleeper.run(io_);
  EXPECT_EQ(most, 3);
  EXPECT_GT(waited, 0);
  // Each waiter got its slot at the very moment a call ended (no polling delay)...
  for (Steady t : admitted_after_wait)
    EXPECT_TRUE(std::find(releases.begin(), releases.end(), t) != releases.end());
  // ...and the scheduler itself never slept for them: every sleep was a call's latency.
  EXPECT_EQ(sleeper.sleeps(), 80);
  EXPECT_EQ(s.snapshot("crm")->in_flight, 0);
  EXPECT_EQ(s.snapshot("crm")->queued, 0);
}

// ---------------------------------------------------------------- daily budgets

TEST_F(SchedulerTest, CrmDailyCreditsAreARolling24hBudgetWithPerCallCost) {
  connectors::VirtualSleeper sleeper(clock_);
  auto limits = default_limits();
  limits["crm"].daily_credits = 100;
  auto store = open_store();
  const Steady t0 = now();
  Log log;
  {
    Scheduler s(limits, store.get(), clock_, sleeper);
    spawn(io_, caller(s, clock_, sleeper, "crm", 8, log, 0ms, 10));
    io_.run();
    io_.restart();
    const auto snap = s.snapshot("crm");
    EXPECT_EQ(snap->daily_used, 80);
    EXPECT_EQ(snap->daily_budget, 100);
    EXPECT_EQ(snap->daily_remaining, 20);
    EXPECT_EQ(s.wait_estimate("crm", 20), 0s);
    EXPECT_EQ(s.wait_estimate("crm", 21), Millis{24h + 10min});
  }
  // A restart keeps the usage.
  {
    Scheduler s(limits, store.get(), clock_, sleeper);
    EXPECT_EQ(s.snapshot("crm")->daily_used, 80);
    spawn(io_, caller(s, clock_, sleeper, "crm", 3, log, 0ms, 10));
    io_.run();
    io_.restart();
  }
  ASSERT_EQ(log["crm"].size(), 11u);
  EXPECT_EQ(log["crm"][9], t0);
  EXPECT_EQ(log["crm"][10], t0 + 24h + 10min);  // the first bucket left the rolling day
  EXPECT_EQ(store->endpoint_state("crm")->daily_used, 10);
}

TEST_F(SchedulerTest, PeopleDailyCapCountsEveryPeopleEndpointAndBackgroundKeepsAReserve) {
  connectors::VirtualSleeper sleeper(clock_);
  auto limits = default_limits();
  limits["people"].daily_calls = 10;
  SchedulerOptions o;
  o.background_share = 0.5;
  Scheduler s(limits, nullptr, clock_, sleeper, o);
  s.set_priority(Priority::background);
  Log log;
  const Steady t0 = now();
  spawn(io_, caller(s, clock_, sleeper, kTimelogs, 3, log));
  spawn(io_, caller(s, clock_, sleeper, kRefs, 2, log));
  io_.run();
  io_.restart();
  EXPECT_EQ(s.snapshot("people")->daily_used, 5);
  EXPECT_EQ(s.snapshot("people")->daily_remaining, 5);
  EXPECT_EQ(s.snapshot("people")->calls_in_window, 5);
  // Background work has used its half; interactive work may use the rest.
  EXPECT_EQ(s.wait_estimate(kProjects), Millis{24h + 10min});
  EXPECT_EQ(s.wait_estimate("crm"), 0s);  // CRM is not a People endpoint
  s.set_priority(Priority::interactive);
  EXPECT_EQ(s.wait_estimate(kProjects), 0s);
  spawn(io_, caller(s, clock_, sleeper, kProjects, 6, log));
  io_.run();
  EXPECT_EQ(log[kProjects][4], t0);
  EXPECT_EQ(log[kProjects][5], t0 + 24h + 10min);
}

TEST_F(SchedulerTest, AnUnknownEndpointIsAdmittedUnshapedAndReported) {
  connectors::VirtualSleeper sleeper(clock_);
  Scheduler s(default_limits(), nullptr, clock_, sleeper);
  Log log;
  spawn(io_, caller(s, clock_, sleeper, "people/somethingnew", 500, log));
  io_.run();
  EXPECT_TRUE(sleeper.waits().empty());
  const auto snap = s.snapshot("people/somethingnew");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->admitted, 500);
  EXPECT_EQ(snap->available_now, -1);
  EXPECT_EQ(s.snapshot("people")->daily_used, 500);  // still a People call
}

}  // namespace
}  // namespace peoplesync::sync
