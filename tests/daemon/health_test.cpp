#include "daemon/health.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <stdexcept>
#include <thread>

#include "common/metrics.hpp"
#include "tests/daemon/status_fixture.hpp"

namespace peoplesync::health {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using peoplesync::testing::http_request;
using peoplesync::testing::HttpResult;
using peoplesync::testing::StatusFixture;

std::string temp_dir() {
  return ::testing::TempDir() + "peoplesync-health-" + std::to_string(::getpid()) + "-" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

// A HealthServer on port 0 serving the seeded fixture; the io_context runs on
// its own thread (the daemon's single thread), the test is the HTTP client.
class HealthServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_ = std::make_unique<StatusFixture>(temp_dir());
    Providers p;
    p.ready = [this] { return ready_.load(); };
    p.metrics = [this] {
      metrics_calls_.fetch_add(1);
      refresh_gauges(registry_, input(), fx_->clock.now());
      return registry_.render();
    };
    p.status = [this] {
      if (throw_from_status_.load()) throw std::runtime_error("disk gone; Authorization: Zoho-oauthtoken 1000.abc.def");
      return input();
    };
    Options o;
    o.port = 0;
    server_ = std::make_unique<HealthServer>(io_, o, std::move(p), fx_->clock);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    // Stop on the io thread, as the daemon does from its signal handler.
    std::promise<void> stopped;
    boost::asio::post(io_, [&] {
      server_->stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    work_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
    fx_.reset();
  }

  StatusInput input() const {
    StatusInput in;
    in.store = have_store_.load() ? fx_->store.get() : nullptr;
    in.config = fx_->config;
    in.live = fx_->live;
    return in;
  }

  HttpResult get(const std::string& target) { return http_request(server_->port(), "GET", target); }

  std::unique_ptr<StatusFixture> fx_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<HealthServer> server_;
  std::thread thread_;
  metrics::Registry registry_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> have_store_{true};
  std::atomic<bool> throw_from_status_{false};
  std::atomic<int> metrics_calls_{0};
};

TEST_F(HealthServerTest, LivezAnswersWhateverTheReadiness) {
  const HttpResult r = get("/livez");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.header("Server"), "peoplesync");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
}

TEST_F(HealthServerTest, ReadyzFollowsTheProvider) {
  HttpResult r = get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready\n");
  ready_ = true;
  r = get("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
}

TEST_F(HealthServerTest, MetricsServesTheRegistryWithStoreGauges) {
  registry_.inc(metrics::records_read_total, {"deals"}, 120);
  const HttpResult r = get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics_calls_.load(), 1);
  EXPECT_THAT(r.body, HasSubstr("\npeoplesync_records_read_total{stream=\"deals\"} 120\n"));
  // From the store: one in-doubt intent for calls, one pending for deals; one dead letter each.
  EXPECT_THAT(r.body, HasSubstr("\npeoplesync_outbox_pending{stream=\"calls\"} 1\n"));
  EXPECT_THAT(r.body, HasSubstr("\npeoplesync_dead_letters{stream=\"deals\"} 1\n"));
  EXPECT_THAT(r.body, HasSubstr("\npeoplesync_dead_letters{stream=\"hours_back\"} 0\n"));
  // Lag: the engine's own for deals (320 s), the watermark's for calls (3 h).
  EXPECT_THAT(r.body, HasSubstr("\npeoplesync_sync_lag_seconds{stream=\"deals\"} 320\n"));
  EXPECT_THAT(r.body, HasSubstr("\npeoplesync_sync_lag_seconds{stream=\"calls\"} 10800\n"));
  EXPECT_THAT(r.body, HasSubstr("\npeoplesync_last_success_timestamp_seconds{stream=\"calls\"} 1717242960\n"));
}

TEST_F(HealthServerTest, StatusPageShowsEverythingAnOperatorNeeds) {
  ready_ = true;
  const HttpResult r = get("/status");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  const std::string& h = r.body;
  EXPECT_THAT(h, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(h, HasSubstr("<meta http-equiv=\"refresh\" content=\"5\">"));
  EXPECT_THAT(h, HasSubstr("id=\"readiness\">ready<"));
  // Streams, watermarks, lag, last run.
  for (const char* s : {"deals", "calls", "hours_back"}) EXPECT_THAT(h, HasSubstr("data-stream=\"" + std::string(s)));
  EXPECT_THAT(h, HasSubstr("retired_stream</b> <span class=\"warn\">(not in config)"));
  EXPECT_THAT(h, HasSubstr("<code>2024-06-01T11:40:00+00:00</code>"));
  EXPECT_THAT(h, HasSubstr(">5m<"));    // deals: the engine's lag, 320 s
  EXPECT_THAT(h, HasSubstr(">3h<"));    // calls: from the watermark
  EXPECT_THAT(h, HasSubstr("2 dead letters"));
  EXPECT_THAT(h, HasSubstr("running"));
  // Dead letters with their reasons and codes, escaped.
  EXPECT_THAT(h, HasSubstr("People refused the time log: job is closed &lt;Completed&gt; &amp; locked"));
  EXPECT_THAT(h, HasSubstr("template {Owner.email}: field Owner.email is missing"));
  EXPECT_THAT(h, HasSubstr("<code>9025</code>"));
  EXPECT_THAT(h, Not(HasSubstr("<Completed>")));
  // Outbox, with the in-doubt intent marked.
  EXPECT_THAT(h, HasSubstr("Outbox (2 intents)"));
  EXPECT_THAT(h, HasSubstr("class=\"warn\">in_doubt"));
  // Budget and the lock countdown of the locked endpoint.
  EXPECT_THAT(h, HasSubstr("data-endpoint=\"people/addupdatetimelogs\" class=\"locked\""));
  EXPECT_THAT(h, HasSubstr("data-countdown=\"240\">4m 0s</span> left"));
  EXPECT_THAT(h, HasSubstr("<td class=\"num\">1200 / 25000</td>"));
  EXPECT_THAT(h, HasSubstr("References waiting for Zoho to sync (1)"));
  EXPECT_THAT(h, HasSubstr("deals: 40 written; calls: 118 written, 2 dead-lettered"));
  // Self-contained: no external scripts, styles or images.
  EXPECT_THAT(h, Not(HasSubstr("src=")));
  EXPECT_THAT(h, Not(HasSubstr("href=\"http")));
  EXPECT_THAT(h, Not(HasSubstr("<link")));
}

TEST_F(HealthServerTest, StatusJsonCarriesStoreAndLiveData) {
  const HttpResult r = get("/status.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json; charset=utf-8");
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(r.body);
  EXPECT_FALSE(bool(doc["ready"]));
  EXPECT_EQ(std::string_view(doc["now"]), "2024-06-01T12:00:00Z");
  std::map<std::string, simdjson::dom::element> streams;
  for (simdjson::dom::element s : simdjson::dom::array(doc["streams"])) streams[std::string(std::string_view(s["name"]))] = s;
  ASSERT_EQ(streams.size(), 4u);
  EXPECT_EQ(std::int64_t(streams["deals"]["lag_seconds"]), 320);
  EXPECT_EQ(std::int64_t(streams["deals"]["live"]["records_read"]), 120);
  EXPECT_TRUE(bool(streams["deals"]["live"]["running"]));
  EXPECT_TRUE(streams["hours_back"]["live"].is_null());
  EXPECT_EQ(std::string_view(streams["calls"]["live"]["last_run_outcome"]), "2 dead letters");
  std::set<std::string> reasons;
  for (simdjson::dom::element d : simdjson::dom::array(doc["dead_letters"]))
    reasons.insert(std::string(std::string_view(d["reason"])));
  EXPECT_EQ(reasons, (std::set<std::string>{peoplesync::testing::kReasonClosedJob,
                                            peoplesync::testing::kReasonMissingField}));
  bool saw_lock = false;
  for (simdjson::dom::element e : simdjson::dom::array(doc["limiter"])) {
    if (std::string_view(e["endpoint"]) != "people/addupdatetimelogs") continue;
    saw_lock = true;
    EXPECT_TRUE(bool(e["locked"]));
    EXPECT_EQ(std::int64_t(e["lock_remaining_seconds"]), 240);
    EXPECT_EQ(std::int64_t(e["live"]["waiting"]), 3);
    EXPECT_EQ(std::int64_t(e["live"]["next_token_in_ms"]), 240000);
  }
  EXPECT_TRUE(saw_lock);
}

TEST_F(HealthServerTest, UnknownPathsAndMethods) {
  EXPECT_EQ(get("/nope").status, 404);
  const HttpResult root = get("/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.header("Location"), "/status");
  const HttpResult post = http_request(server_->port(), "POST", "/readyz");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("Allow"), "GET");
  EXPECT_EQ(get("/livez?verbose=1").status, 200);  // query strings are ignored
}

TEST_F(HealthServerTest, StatusBeforeTheStoreIsOpenIs503) {
  have_store_ = false;
  const HttpResult page = get("/status");
  EXPECT_EQ(page.status, 503);
  EXPECT_THAT(page.body, HasSubstr("state store not open yet"));
  const HttpResult json = get("/status.json");
  EXPECT_EQ(json.status, 503);
  EXPECT_EQ(json.body, "{\"error\":\"state store not open yet\"}\n");
  EXPECT_EQ(get("/livez").status, 200);
}

TEST_F(HealthServerTest, AFailingProviderIsA500WithoutSecrets) {
  throw_from_status_ = true;
  const HttpResult r = get("/status");
  EXPECT_EQ(r.status, 500);
  EXPECT_THAT(r.body, HasSubstr("disk gone"));
  EXPECT_THAT(r.body, Not(HasSubstr("1000.abc.def")));
  EXPECT_EQ(get("/livez").status, 200);  // and the server goes on serving
}

TEST(HealthServer, BindFailureNamesTheAddress) {
  StatusFixture fx(temp_dir());
  boost::asio::io_context io;
  Options o;
  o.port = 0;
  HealthServer first(io, o, Providers{}, fx.clock);
  o.port = first.port();
  try {
    HealthServer second(io, o, Providers{}, fx.clock);
    FAIL() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("127.0.0.1:" + std::to_string(o.port)));
  }
}

TEST(HealthServer, OptionsFromTheConfigListenAddress) {
  const Options o = options_from(config::ListenAddress{"::1", 9999});
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 9999);
  EXPECT_FALSE(o.tls);
}

TEST(StatusReport, CliJsonHasNoLiveFields) {
  StatusFixture fx(temp_dir());
  const std::string cli = status::render_json(*fx.store, *fx.config, fx.clock.now());
  EXPECT_THAT(cli, Not(HasSubstr("\"live\"")));
  EXPECT_THAT(cli, Not(HasSubstr("\"ready\"")));
  const std::string daemon = status::render_json(*fx.store, *fx.config, fx.clock.now(), fx.live);
  EXPECT_THAT(daemon, HasSubstr("\"live\":{"));
}

TEST(StatusReport, HtmlEscapesEverythingFromTheStore) {
  StatusFixture fx(temp_dir());
  state::Commit c;
  c.dead_letters.push_back({0, "calls\"><script>", "<img src=x onerror=alert(1)>", "</td><script>alert(2)</script>",
                            "<b>", "{}", 1, 0, 0});
  fx.store->commit(c);
  const std::string h = status::render_html(*fx.store, *fx.config, fx.clock.now(), fx.live);
  EXPECT_THAT(h, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(h, Not(HasSubstr("<img")));
  EXPECT_THAT(h, HasSubstr("&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
  EXPECT_THAT(h, HasSubstr("calls&quot;&gt;&lt;script&gt;"));
  EXPECT_EQ(status::html_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

TEST(StatusReport, LongTablesAreCut) {
  StatusFixture fx(temp_dir());
  state::Commit c;
  for (int i = 0; i < 7; ++i) c.dead_letters.push_back({0, "calls", "k" + std::to_string(i), "r", "", "{}", 1, 0, 0});
  fx.store->commit(c);
  status::HtmlOptions o;
  o.max_rows = 5;
  o.refresh_seconds = 0;
  const std::string h = status::render_html(*fx.store, *fx.config, fx.clock.now(), fx.live, o);
  EXPECT_THAT(h, HasSubstr("Dead letters (9)"));
  EXPECT_THAT(h, HasSubstr("and 4 more"));
  EXPECT_THAT(h, Not(HasSubstr("http-equiv=\"refresh\"")));
  std::size_t rows = 0;
  for (auto p = h.find("class=\"dead-letter\""); p != std::string::npos; p = h.find("class=\"dead-letter\"", p + 1))
    ++rows;
  EXPECT_EQ(rows, 5u);
}

TEST(RefreshGauges, StreamsNoLongerKnownDisappear) {
  StatusFixture fx(temp_dir());
  metrics::Registry reg;
  reg.set(metrics::outbox_pending, {"gone"}, 7);
  StatusInput in{fx.store.get(), fx.config, fx.live};
  refresh_gauges(reg, in, fx.clock.now());
  EXPECT_EQ(reg.value(metrics::outbox_pending, {"gone"}), 0);
  EXPECT_THAT(reg.render(), Not(HasSubstr("stream=\"gone\"")));
  EXPECT_EQ(reg.value(metrics::outbox_pending, {"deals"}), 1);
  EXPECT_EQ(reg.value(metrics::dead_letters, {"calls"}), 1);
  EXPECT_EQ(reg.value(metrics::last_success_timestamp_seconds, {"deals"}), 1717242900);
  // Without a store only what the live view knows is set.
  StatusInput bare{nullptr, fx.config, {}};
  refresh_gauges(reg, bare, fx.clock.now());
  EXPECT_THAT(reg.render(), Not(HasSubstr("peoplesync_outbox_pending{")));
}

}  // namespace
}  // namespace peoplesync::health
