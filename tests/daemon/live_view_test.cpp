// The live view the daemon serves: the lag gauge after quiet passes, and the
// endpoint budget taken from the scheduler itself. Simulated time only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "connectors/sleeper.hpp"
#include "daemon/health.hpp"
#include "daemon/live_tracker.hpp"
#include "daemon/status_report.hpp"
#include "sync/scheduler.hpp"
#include "tests/daemon/loop_fixture.hpp"

namespace peoplesync::runtime {
namespace {

using ::testing::HasSubstr;
using peoplesync::testing::LoopTest;

std::string gauge_line(const std::string& stream, std::int64_t v) {
  return "\npeoplesync_sync_lag_seconds{stream=\"" + stream + "\"} " + std::to_string(v) + "\n";
}

class LiveViewTest : public LoopTest {
 protected:
  // What /metrics shows now.
  std::string scrape() {
    health::refresh_gauges(registry_, health::StatusInput{store_.get(), cfg_, tracker_.live()}, clock_.now());
    return registry_.render();
  }
  std::int64_t json_lag(const std::string& stream) {
    const auto snap = status::build_snapshot(store_.get(), cfg_.get(), clock_.now(), &tracker_.live());
    const std::string doc = status::render_json(snap);
    simdjson::dom::parser parser;
    for (simdjson::dom::element s : simdjson::dom::array(parser.parse(doc)["streams"]))
      if (std::string_view(s["name"]) == stream) return std::int64_t(s["lag_seconds"]);
    return -1;
  }
};

TEST_F(LiveViewTest, LagDropsToTheRealLagAfterAQuietPass) {
  // A quiet source: the watermark is three hours old and nothing changed since.
  seed_watermark("deals", "2024-06-01T09:00:00Z");
  EXPECT_THAT(scrape(), HasSubstr(gauge_line("deals", 10800)));  // before any pass: the watermark's age

  std::vector<std::string> at_wait;
  std::vector<std::int64_t> json_at_wait;
  timer_.on_wait = [&](std::size_t) {
    at_wait.push_back(scrape());
    json_at_wait.push_back(json_lag("deals"));
  };
  make_loop(true);
  run(2);  // three quiet passes of 2 s each, five minutes apart
  ASSERT_EQ(at_wait.size(), 3u);
  for (std::size_t i = 0; i < at_wait.size(); ++i) {
    // Right after each pass: the time since that pass began, not the watermark's age.
    EXPECT_THAT(at_wait[i], HasSubstr(gauge_line("deals", 2))) << "after pass " << i + 1;
    EXPECT_EQ(json_at_wait[i], 2) << "after pass " << i + 1;
  }
  // Between passes it grows with time, up to the poll interval plus a pass.
  EXPECT_THAT(scrape(), HasSubstr(gauge_line("deals", 302)));
}

TEST_F(LiveViewTest, LagKeepsCountingWhenAPassDoesNotComplete) {
  seed_watermark("deals", "2024-06-01T09:00:00Z");
  sync::RunReport stopped;
  stopped.outcome = sync::RunOutcome::temporary;
  sync::StreamReport deals;
  deals.stream = "deals";
  deals.error = "locked: people/addjob";
  stopped.streams.push_back(deals);
  sync::RunReport quiet;
  deals.error.clear();
  deals.completed = true;
  quiet.streams.push_back(deals);
  script_.passes.push_back(quiet);    // first pass: nothing changed, completed
  script_.passes.push_back(stopped);  // second: cut short by a lock
  std::vector<std::string> at_wait;
  timer_.on_wait = [&](std::size_t) { at_wait.push_back(scrape()); };
  make_loop(true);
  run(1);
  ASSERT_EQ(at_wait.size(), 2u);
  EXPECT_THAT(at_wait[0], HasSubstr(gauge_line("deals", 2)));
  // Caught up as of the first pass's start, 5 min and two passes ago.
  EXPECT_THAT(at_wait[1], HasSubstr(gauge_line("deals", 304)));
}

// The scheduler's view of its lanes, through the tracker, onto the page.
class EndpointBudgetTest : public LoopTest {
 protected:
  EndpointBudgetTest() : scheduler_(cfg_->limits, nullptr, clock_, sleeper_) {}

  void hold(const std::string& endpoint, int n) {
    boost::asio::io_context io;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          for (int i = 0; i < n; ++i) held_.push_back(co_await scheduler_.admit(endpoint, 1));
        },
        boost::asio::detached);
    io.run();
  }
  const status::EndpointLive& live(const std::string& endpoint) {
    tracker_.endpoints(scheduler_.snapshot());
    const status::EndpointLive* e = tracker_.live().endpoint(endpoint);
    if (!e) throw std::runtime_error("no lane " + endpoint);
    return *e;
  }

  connectors::VirtualSleeper sleeper_{clock_};
  sync::Scheduler scheduler_;
  std::vector<connectors::AdmissionPtr> held_;
};

TEST_F(EndpointBudgetTest, CallsThatMayStartComeFromTheScheduler) {
  hold("crm", 10);  // crm: 100 a minute, at most 10 in flight
  const status::EndpointLive& crm = live("crm");
  EXPECT_EQ(crm.budget_per_minute, 100);
  EXPECT_EQ(crm.calls_last_minute, 10);
  EXPECT_EQ(crm.in_flight, 10);
  // 90 are left in the minute, but no slot is free: none may start now.
  EXPECT_EQ(crm.tokens_available, 0);
  EXPECT_EQ(crm.tokens_available, scheduler_.snapshot("crm")->available_now);
  held_.clear();  // the calls end: all ten slots free again, 90 left in the minute
  EXPECT_EQ(live("crm").tokens_available, 10);
}

TEST_F(EndpointBudgetTest, ALockedLaneSaysWhenTheNextCallMayStart) {
  hold("people/addupdatetimelogs", 3);
  EXPECT_EQ(live("people/addupdatetimelogs").tokens_available, 27);
  scheduler_.limited("people/addupdatetimelogs", connectors::LimitSignal::locked, std::nullopt);
  const status::EndpointLive& l = live("people/addupdatetimelogs");
  EXPECT_EQ(l.tokens_available, 0);
  ASSERT_TRUE(l.next_token_in);
  EXPECT_EQ(*l.next_token_in, std::chrono::minutes(5));
  ASSERT_TRUE(l.locked_until);
  EXPECT_EQ(*l.locked_until, clock_.now() + std::chrono::minutes(5));
  // Counted once, however often the view is refreshed.
  live("people/addupdatetimelogs");
  EXPECT_THAT(registry_.render(),
              HasSubstr("\npeoplesync_ratelimit_locks_total{endpoint=\"people/addupdatetimelogs\"} 1\n"));

  const auto snap = status::build_snapshot(store_.get(), cfg_.get(), clock_.now(), &tracker_.live());
  const std::string page = status::render_html(snap);
  EXPECT_THAT(page, HasSubstr("data-endpoint=\"people/addupdatetimelogs\" class=\"locked\""));
  EXPECT_THAT(page, HasSubstr("next in 300.0 s"));
}

TEST_F(EndpointBudgetTest, ALaneWithoutThresholdIsShownUnlimited) {
  const status::EndpointLive& people = live("people");  // the People daily cap: no per-minute threshold
  EXPECT_EQ(people.budget_per_minute, 0);
  EXPECT_LT(people.tokens_available, 0);
  const auto snap = status::build_snapshot(store_.get(), cfg_.get(), clock_.now(), &tracker_.live());
  EXPECT_THAT(status::render_html(snap), HasSubstr("no limit"));
  simdjson::dom::parser parser;
  for (simdjson::dom::element e : simdjson::dom::array(parser.parse(status::render_json(snap))["limiter"]))
    if (std::string_view(e["endpoint"]) == "people") {
      EXPECT_TRUE(e["live"]["tokens_available"].is_null());
    }
}

}  // namespace
}  // namespace peoplesync::runtime
