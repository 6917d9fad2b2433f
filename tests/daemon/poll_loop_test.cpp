// The daemon's poll loop in simulated time: a scripted stack, a timer that
// moves a ManualClock, a temp-file store. No test waits on the wall clock.
#include "daemon/poll_loop.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/exit_codes.hpp"
#include "tests/daemon/loop_fixture.hpp"

namespace peoplesync::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using peoplesync::testing::LoopTest;

constexpr Millis kPoll = std::chrono::minutes(5);  // examples/config.yaml service.poll_interval
constexpr Millis kTokenRetry = std::chrono::seconds(30);

sync::PreflightReport failed_preflight(sync::Check::Kind kind) {
  sync::PreflightReport pf;
  pf.checks.push_back({"scope ZOHOPEOPLE.forms.CREATE", sync::Check::Status::failed, kind, "not granted",
                       "peoplesync auth --scopes"});
  return pf;
}

sync::RunReport pass_with(sync::RunOutcome outcome, std::int64_t dead = 0) {
  sync::RunReport r;
  r.outcome = outcome;
  sync::StreamReport s;
  s.stream = "deals";
  s.completed = outcome == sync::RunOutcome::ok || outcome == sync::RunOutcome::dead_letters;
  s.dead_lettered = dead;
  if (!s.completed) s.error = "locked: people/addjob";
  r.streams.push_back(s);
  return r;
}

using PollLoopTest = LoopTest;

TEST_F(PollLoopTest, RunOnceMakesOnePassAndRecordsIt) {
  int passes_reported = 0;
  hooks_.pass_done = [&](const sync::RunReport&) { ++passes_reported; };
  make_loop(false);
  EXPECT_EQ(run(), to_int(ExitCode::ok));
  EXPECT_EQ(calls_.tokens, 0);  // a one-shot run asks for a token only as its calls need one
  EXPECT_EQ(calls_.preflights, 1);
  EXPECT_EQ(calls_.passes, 1);
  EXPECT_EQ(passes_reported, 1);
  EXPECT_TRUE(timer_.waits.empty());
  const auto runs = store_->recent_runs(5);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].mode, "run-once");
  EXPECT_EQ(runs[0].exit_code, 0);
  EXPECT_THAT(runs[0].summary, HasSubstr("deals: read 0"));
}

TEST_F(PollLoopTest, DryRunSkipsThePreflightAndTheRunHistory) {
  make_loop(false, true);
  EXPECT_EQ(run(), to_int(ExitCode::ok));
  EXPECT_EQ(calls_.preflights, 0);
  EXPECT_EQ(calls_.passes, 1);
  EXPECT_TRUE(store_->recent_runs(5).empty());
}

TEST_F(PollLoopTest, RunOnceWithDeadLettersExitsFour) {
  script_.passes.push_back(pass_with(sync::RunOutcome::dead_letters, 2));
  make_loop(false);
  EXPECT_EQ(run(), to_int(ExitCode::dead_letters));
  EXPECT_EQ(tracker_.live().stream("deals")->last_run_outcome, "2 dead letters");
}

TEST_F(PollLoopTest, RunOnceRefusedByThePreflightWritesNothing) {
  script_.preflights.push_back(failed_preflight(sync::Check::Kind::auth));
  int reported = 0;
  hooks_.preflight_failed = [&](const sync::PreflightReport&) { ++reported; };
  make_loop(false);
  EXPECT_EQ(run(), to_int(ExitCode::auth));
  EXPECT_EQ(calls_.passes, 0);
  EXPECT_EQ(reported, 1);
  const auto runs = store_->recent_runs(5);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].exit_code, to_int(ExitCode::auth));
  EXPECT_THAT(runs[0].summary, HasSubstr("preflight failed, nothing was written: scope ZOHOPEOPLE.forms.CREATE"));
}

TEST_F(PollLoopTest, DaemonPollsAtTheConfiguredIntervalUntilStopped) {
  int ready = 0;
  hooks_.ready = [&] { ++ready; };
  auto& loop = make_loop(true);
  EXPECT_EQ(run(2), to_int(ExitCode::ok));
  EXPECT_EQ(ready, 1);
  EXPECT_TRUE(loop.ready());
  EXPECT_EQ(calls_.preflights, 1);  // once per config
  EXPECT_EQ(calls_.passes, 3);
  EXPECT_THAT(timer_.waits, ElementsAre(kPoll, kPoll, kPoll));
  EXPECT_EQ(calls_.stops, 1);
  const auto* deals = tracker_.live().stream("deals");
  ASSERT_NE(deals, nullptr);
  // Three passes of 2 s and three polls of 5 min: the next poll was due at the end of the last pass + 5 min.
  EXPECT_EQ(*deals->next_run, *parse_iso8601("2024-06-01T12:10:06Z") + kPoll);
  EXPECT_EQ(store_->recent_runs(5).size(), 3u);
}

TEST_F(PollLoopTest, DaemonAsksForAFirstTokenEveryThirtySeconds) {
  script_.tokens = {{TokenCheck::State::not_yet, "accounts server: 503"},
                    {TokenCheck::State::not_yet, "accounts server: 503"}};
  int ready = 0;
  hooks_.ready = [&] { ++ready; };
  make_loop(true);
  run(2);
  EXPECT_EQ(calls_.tokens, 3);
  EXPECT_EQ(ready, 1);
  EXPECT_THAT(timer_.waits, ElementsAre(kTokenRetry, kTokenRetry, kPoll));
}

TEST_F(PollLoopTest, DaemonEndsWithSeventySevenWhenTheTokenIsRefused) {
  script_.tokens = {{TokenCheck::State::refused, "invalid_code: the refresh token was revoked"}};
  int ready = 0;
  hooks_.ready = [&] { ++ready; };
  make_loop(true);
  EXPECT_EQ(run(), to_int(ExitCode::auth));
  EXPECT_EQ(ready, 0);
  EXPECT_EQ(calls_.preflights, 0);
  EXPECT_TRUE(timer_.waits.empty());
}

TEST_F(PollLoopTest, DaemonRefusedByThePreflightStaysUnreadyAndTriesAgain) {
  script_.preflights.push_back(failed_preflight(sync::Check::Kind::config));
  std::vector<std::string> statuses;
  hooks_.status = [&](const std::string& s) { statuses.push_back(s); };
  auto& loop = make_loop(true);
  bool ready_during_first_wait = true;
  timer_.on_wait = [&](std::size_t i) {
    if (i == 0) ready_during_first_wait = loop.ready();
  };
  run(1);
  EXPECT_FALSE(ready_during_first_wait);
  EXPECT_TRUE(loop.ready());
  EXPECT_EQ(calls_.preflights, 2);
  EXPECT_EQ(calls_.passes, 1);  // nothing written before the second preflight passed
  EXPECT_THAT(timer_.waits, ElementsAre(kPoll, kPoll));
  ASSERT_FALSE(statuses.empty());
  EXPECT_THAT(statuses.front(), HasSubstr("preflight failed, nothing is written: scope ZOHOPEOPLE.forms.CREATE"));
  EXPECT_TRUE(tracker_.live().preflight_failures.empty());
}

TEST_F(PollLoopTest, ReloadBuildsANewStackAndChecksItBeforeItWrites) {
  const config::ConfigPtr next = peoplesync::testing::example_config();
  auto& loop = make_loop(true);
  timer_.on_wait = [&](std::size_t i) {
    if (i == 0) loop.reload(next);
  };
  run(1);
  EXPECT_EQ(timer_.cancels, 2);  // the reload's and the stop's
  EXPECT_EQ(calls_.built, 2);
  EXPECT_THAT(calls_.configs, ElementsAre(cfg_.get(), next.get()));
  EXPECT_EQ(calls_.preflights, 2);
  EXPECT_EQ(calls_.passes, 2);
  EXPECT_EQ(loop.config(), next);
}

TEST_F(PollLoopTest, StopDuringAPassEndsCleanly) {
  // The pass was cut short by the stop: temporary, yet a clean exit.
  script_.passes.push_back(pass_with(sync::RunOutcome::temporary));
  hooks_.progress = [this](const sync::StreamReport&) { loop_->stop(); };  // SIGTERM mid-pass
  auto& loop = make_loop(true);
  EXPECT_EQ(run(), to_int(ExitCode::ok));
  EXPECT_EQ(calls_.passes, 1);
  EXPECT_EQ(calls_.stops, 1);
  EXPECT_TRUE(loop.stopping());
  EXPECT_TRUE(timer_.waits.empty());
}

TEST_F(PollLoopTest, AnAuthorisationFailureInAPassEndsTheDaemon) {
  script_.passes.push_back(pass_with(sync::RunOutcome::auth));
  make_loop(true);
  EXPECT_EQ(run(), to_int(ExitCode::auth));
  EXPECT_EQ(calls_.passes, 1);
  EXPECT_TRUE(timer_.waits.empty());
}

}  // namespace
}  // namespace peoplesync::runtime
