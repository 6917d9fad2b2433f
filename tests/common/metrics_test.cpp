#include "common/metrics.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace peoplesync::metrics {
namespace {

// Wrong label counts and wrong kinds of call do not compile.
template <class R>
concept IncWrittenWithOneLabel = requires(R& r) { r.inc(records_written_total, {"deals"}); };
template <class R>
concept IncWrittenWithThreeLabels = requires(R& r) { r.inc(records_written_total, {"deals", "job.add", "ok"}); };
template <class R>
concept IncReadWithTwoLabels = requires(R& r) { r.inc(records_read_total, {"deals", "x"}); };
template <class R>
concept SetOnCounter = requires(R& r) { r.set(records_read_total, {"deals"}, 1.0); };
template <class R>
concept IncOnGauge = requires(R& r) { r.inc(outbox_pending, {"deals"}); };
template <class R>
concept ObserveOnCounter = requires(R& r) { r.observe(api_requests_total, {"crm", "200"}, 1.0); };
static_assert(!IncWrittenWithOneLabel<Registry>);
static_assert(IncWrittenWithThreeLabels<Registry>);
static_assert(!IncReadWithTwoLabels<Registry>);
static_assert(!SetOnCounter<Registry>);
static_assert(!IncOnGauge<Registry>);
static_assert(!ObserveOnCounter<Registry>);

// Every line of the exposition that is a sample (not a comment).
std::vector<std::string> samples(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

// Sets one series of every declared metric (what the promtool test checks).
void populate_all(Registry& r) {
  r.inc(records_read_total, {"deals"}, 120);
  r.inc(records_read_total, {"calls"}, 7);
  r.inc(records_written_total, {"deals", "job.add", "ok"}, 40);
  r.inc(records_written_total, {"deals", "job.modify", "skipped_unchanged"}, 3);
  r.inc(records_written_total, {"calls", "timelog.upsert", "dead_letter"});
  r.inc(api_requests_total, {"crm", "200"}, 10);
  r.inc(api_requests_total, {"crm", "304"});
  r.inc(api_requests_total, {"people/addupdatetimelogs", "transport_error"});
  r.observe(api_request_duration_seconds, {"crm"}, 0.2);
  r.observe(api_request_duration_seconds, {"crm"}, 0.04);
  r.observe(api_request_duration_seconds, {"people/getjobs"}, 75);
  r.inc(ratelimit_wait_seconds_total, {"people/addupdatetimelogs"}, 12.5);
  r.inc(ratelimit_locks_total, {"people/getRecordIdsByReferenceIds"});
  r.set(sync_lag_seconds, {"deals"}, 42);
  r.set(last_success_timestamp_seconds, {"deals"}, 1714557600);
  r.set(outbox_pending, {"calls"}, 5);
  r.set(dead_letters, {"calls"}, 2);
  r.inc(token_refresh_total, {"ok"});
  r.inc(token_refresh_total, {"refused"});
}

TEST(Metrics, EveryDeclaredMetricHasHelpAndTypeWithPrefix) {
  Registry r;
  const std::string text = r.render();
  std::set<std::string_view> names;
  for (const auto& d : kDefinitions) {
    EXPECT_TRUE(names.insert(d.name).second) << "declared twice: " << d.name;
    const std::string name = "peoplesync_" + std::string(d.name);
    EXPECT_NE(text.find("# HELP " + name + " "), std::string::npos) << name;
    EXPECT_NE(text.find("# TYPE " + name + " "), std::string::npos) << name;
  }
  // The names PRODUCT.md promises, with their types.
  for (const char* line : {"# TYPE peoplesync_records_read_total counter",
                           "# TYPE peoplesync_records_written_total counter",
                           "# TYPE peoplesync_api_requests_total counter",
                           "# TYPE peoplesync_api_request_duration_seconds histogram",
                           "# TYPE peoplesync_ratelimit_wait_seconds_total counter",
                           "# TYPE peoplesync_ratelimit_locks_total counter",
                           "# TYPE peoplesync_sync_lag_seconds gauge",
                           "# TYPE peoplesync_last_success_timestamp_seconds gauge",
                           "# TYPE peoplesync_outbox_pending gauge",
                           "# TYPE peoplesync_dead_letters gauge",
                           "# TYPE peoplesync_token_refresh_total counter"}) {
    EXPECT_TRUE(has_line(text, line)) << line;
  }
  // A fresh registry has exactly one sample: build_info.
  ASSERT_EQ(samples(text).size(), 1u) << text;
  EXPECT_EQ(samples(text)[0], "peoplesync_build_info{version=\"" PEOPLESYNC_VERSION "\"} 1");
}

TEST(Metrics, LabelsInDeclaredOrderAndSeriesSorted) {
  Registry r;
  r.inc(records_written_total, {"deals", "job.add", "ok"}, 2);
  r.inc(records_written_total, {"calls", "timelog.upsert", "ok"});
  r.inc(records_written_total, {"deals", "job.add", "ok"});
  const std::string text = r.render();
  const auto a = text.find(R"(peoplesync_records_written_total{stream="calls",op="timelog.upsert",outcome="ok"} 1)");
  const auto b = text.find(R"(peoplesync_records_written_total{stream="deals",op="job.add",outcome="ok"} 3)");
  ASSERT_NE(a, std::string::npos) << text;
  ASSERT_NE(b, std::string::npos) << text;
  EXPECT_LT(a, b);
  EXPECT_EQ(r.value(records_written_total, {"deals", "job.add", "ok"}), 3);
  EXPECT_EQ(r.value(records_written_total, {"deals", "job.add", "failed"}), 0);
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_help("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
  Registry r;
  r.inc(records_read_total, {"we\"ird\\stream\nname"});
  EXPECT_TRUE(has_line(r.render(), R"(peoplesync_records_read_total{stream="we\"ird\\stream\nname"} 1)")) << r.render();
}

TEST(Metrics, NumbersFormatForPrometheus) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1714557600), "1714557600");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  r.observe(api_request_duration_seconds, {"crm"}, 0.05);  // on a bound: counts in le="0.05"
  r.observe(api_request_duration_seconds, {"crm"}, 0.3);
  r.observe(api_request_duration_seconds, {"crm"}, 0.3);
  r.observe(api_request_duration_seconds, {"crm"}, 99);    // above the last bound: +Inf only
  const std::string t = r.render();
  EXPECT_TRUE(has_line(t, R"(peoplesync_api_request_duration_seconds_bucket{endpoint="crm",le="0.05"} 1)")) << t;
  EXPECT_TRUE(has_line(t, R"(peoplesync_api_request_duration_seconds_bucket{endpoint="crm",le="0.25"} 1)")) << t;
  EXPECT_TRUE(has_line(t, R"(peoplesync_api_request_duration_seconds_bucket{endpoint="crm",le="0.5"} 3)")) << t;
  EXPECT_TRUE(has_line(t, R"(peoplesync_api_request_duration_seconds_bucket{endpoint="crm",le="60"} 3)")) << t;
  EXPECT_TRUE(has_line(t, R"(peoplesync_api_request_duration_seconds_bucket{endpoint="crm",le="+Inf"} 4)")) << t;
  const double sum = 0.05 + 0.3 + 0.3 + 99;  // in the order observed
  EXPECT_TRUE(has_line(t, "peoplesync_api_request_duration_seconds_sum{endpoint=\"crm\"} " + format_value(sum))) << t;
  EXPECT_TRUE(has_line(t, R"(peoplesync_api_request_duration_seconds_count{endpoint="crm"} 4)")) << t;
  EXPECT_EQ(r.count(api_request_duration_seconds, {"crm"}), 4u);
  // One line per bound, plus +Inf, _sum and _count.
  EXPECT_EQ(samples(t).size(), 1 + definition(Metric::api_request_duration_seconds).buckets.size() + 3);
}

TEST(Metrics, GaugesSetAndClear) {
  Registry r;
  r.set(outbox_pending, {"deals"}, 4);
  r.set(outbox_pending, {"deals"}, 1);
  r.set(outbox_pending, {"old"}, 9);
  EXPECT_EQ(r.value(outbox_pending, {"deals"}), 1);
  r.clear(outbox_pending);
  EXPECT_EQ(r.render().find("peoplesync_outbox_pending{"), std::string::npos);
  r.set(outbox_pending, {"deals"}, 2);
  EXPECT_TRUE(has_line(r.render(), R"(peoplesync_outbox_pending{stream="deals"} 2)"));
}

TEST(Metrics, CountersRefuseToGoDown) {
  Registry r;
  EXPECT_THROW(r.inc(records_read_total, {"deals"}, -1), std::invalid_argument);
  EXPECT_THROW(r.inc(records_read_total, {"deals"}, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  EXPECT_THROW(r.observe(api_request_duration_seconds, {"crm"}, std::numeric_limits<double>::quiet_NaN()),
               std::invalid_argument);
  EXPECT_EQ(r.value(records_read_total, {"deals"}), 0);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  Registry r;
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&r, t] {
      const std::string stream = t % 2 ? "calls" : "deals";
      for (int i = 0; i < kEach; ++i) {
        r.inc(records_read_total, {stream});
        r.observe(api_request_duration_seconds, {"crm"}, 0.1);
        if (i % 1000 == 0) (void)r.render();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(r.value(records_read_total, {"deals"}), kThreads / 2 * kEach);
  EXPECT_EQ(r.value(records_read_total, {"calls"}), kThreads / 2 * kEach);
  EXPECT_EQ(r.count(api_request_duration_seconds, {"crm"}), static_cast<std::uint64_t>(kThreads * kEach));
}

// --- promtool (Debian package `prometheus`, installed by scripts/install-deps.sh)

struct ToolRun {
  int exit_code = -1;
  std::string output;
};

ToolRun promtool_check(const std::string& exposition) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("peoplesync-metrics-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::create_directories(dir);
  const auto in = dir / "metrics.txt";
  const auto out = dir / "promtool.out";
  std::ofstream(in) << exposition;
  const std::string cmd = "promtool check metrics < '" + in.string() + "' > '" + out.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  ToolRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(out);
  r.output.assign(std::istreambuf_iterator<char>(f), {});
  std::filesystem::remove_all(dir);
  return r;
}

bool have_promtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

TEST(MetricsPromtool, RenderedOutputWithEveryMetricPasses) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  Registry r;
  populate_all(r);
  const std::string text = r.render();
  // Every declared metric has at least one sample.
  for (const auto& d : kDefinitions)
    EXPECT_NE(text.find("\npeoplesync_" + std::string(d.name)), std::string::npos) << d.name;
  const ToolRun run = promtool_check(text);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n--- input:\n" << text;
  EXPECT_EQ(run.output, "") << run.output;
}

TEST(MetricsPromtool, ARealProblemIsReported) {
  // The same check rejects what a drifting name table would produce, so the
  // test above can fail.
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  const ToolRun run = promtool_check(
      "# HELP peoplesync_records_read records\n# TYPE peoplesync_records_read counter\n"
      "peoplesync_records_read{stream=\"deals\"} 1\n");
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("_total"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace peoplesync::metrics
