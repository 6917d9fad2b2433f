#pragma once
// The process's metrics (PRODUCT.md "Observability"): every metric is declared
// once, in PEOPLESYNC_METRICS below, with its name, help, type and label names.
// Everything else (the Metric enum, the typed handles in peoplesync::metrics,
// the definition table, the exposition) is generated from that list, so names
// and labels cannot drift apart.
//
//   metrics::Registry reg;                       // one per process, wired by the daemon
//   reg.inc(metrics::records_read_total, {"deals"});
//   reg.inc(metrics::records_written_total, {"deals", "job.add", "ok"}, 3);
//   reg.set(metrics::outbox_pending, {"calls"}, 12);
//   reg.observe(metrics::api_request_duration_seconds, {"crm"}, 0.183);
//   std::string text = reg.render();             // Prometheus text format 0.0.4
//
// The number of label values is checked at compile time (a call with too few
// or too many does not compile); calling inc() on a gauge, set() on a counter
// and so on does not compile either. All calls are thread-safe.
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

// X-macro: COUNTER(id, help, (labels...)), GAUGE(id, help, (labels...)),
// HISTOGRAM(id, help, (labels...), (bucket upper bounds...)).
// The exposed name is "peoplesync_" + id.
#define PEOPLESYNC_METRICS(COUNTER, GAUGE, HISTOGRAM)                                                        \
  COUNTER(records_read_total, "Source records read, per stream.", ("stream"))                                \
  COUNTER(records_written_total, "Write outcomes per stream, operation and outcome.",                        \
          ("stream", "op", "outcome"))                                                                       \
  COUNTER(api_requests_total, "Zoho API requests per endpoint and HTTP status (or transport error).",        \
          ("endpoint", "code"))                                                                              \
  HISTOGRAM(api_request_duration_seconds, "Zoho API request duration per endpoint, in seconds.",             \
            ("endpoint"), (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))                                     \
  COUNTER(ratelimit_wait_seconds_total, "Seconds spent waiting for the per-endpoint rate limiter.",         \
          ("endpoint"))                                                                                      \
  COUNTER(ratelimit_locks_total, "Lock replies received per endpoint.", ("endpoint"))                        \
  GAUGE(sync_lag_seconds,                                                                                    \
        "Seconds between now and the later of the stream's watermark and the start of its "                  \
        "last completed pass.",                                                                              \
        ("stream"))                                                                                          \
  GAUGE(last_success_timestamp_seconds, "Unix time of the stream's last successful pass.", ("stream"))       \
  GAUGE(outbox_pending, "Write intents stored and not yet confirmed, per stream.", ("stream"))               \
  GAUGE(dead_letters, "Dead-lettered records waiting for an operator, per stream.", ("stream"))              \
  COUNTER(token_refresh_total, "OAuth access-token refreshes per outcome.", ("outcome"))                     \
  GAUGE(build_info, "Always 1; the version of this build as a label.", ("version"))

namespace peoplesync::metrics {

enum class Type { counter, gauge, histogram };

enum class Metric {
#define PEOPLESYNC_METRIC_ENUM(id, ...) id,
  PEOPLESYNC_METRICS(PEOPLESYNC_METRIC_ENUM, PEOPLESYNC_METRIC_ENUM, PEOPLESYNC_METRIC_ENUM)
#undef PEOPLESYNC_METRIC_ENUM
};

struct Definition {
  Metric metric;
  std::string_view name;  // without the peoplesync_ prefix
  std::string_view help;
  Type type;
  std::span<const std::string_view> labels;
  std::span<const double> buckets;  // histograms only: upper bounds, ascending, without +Inf
};

inline constexpr std::string_view kPrefix = "peoplesync_";

// Exactly N label values, in the declared order of the metric's label names.
template <std::size_t N>
struct LabelValues {
  template <class... L>
    requires(sizeof...(L) == N && (std::convertible_to<const L&, std::string_view> && ...))
  LabelValues(const L&... v) : values{std::string_view(v)...} {}  // NOLINT: implicit on purpose
  std::array<std::string_view, N> values;
};

template <std::size_t N>
struct Counter {
  Metric metric;
};
template <std::size_t N>
struct Gauge {
  Metric metric;
};
template <std::size_t N>
struct Histogram {
  Metric metric;
};

namespace detail {
#define PEOPLESYNC_METRIC_EXPAND(...) __VA_ARGS__
#define PEOPLESYNC_METRIC_LABELS(id, help, labels, ...) \
  inline constexpr auto id##_labels = std::to_array<std::string_view>({PEOPLESYNC_METRIC_EXPAND labels});
#define PEOPLESYNC_METRIC_BUCKETS(id, help, labels, buckets) \
  PEOPLESYNC_METRIC_LABELS(id, help, labels)                  \
  inline constexpr auto id##_buckets = std::to_array<double>({PEOPLESYNC_METRIC_EXPAND buckets});
PEOPLESYNC_METRICS(PEOPLESYNC_METRIC_LABELS, PEOPLESYNC_METRIC_LABELS, PEOPLESYNC_METRIC_BUCKETS)
#undef PEOPLESYNC_METRIC_LABELS
#undef PEOPLESYNC_METRIC_BUCKETS
}  // namespace detail

// The typed handles: metrics::records_read_total and so on.
#define PEOPLESYNC_METRIC_COUNTER(id, ...) \
  inline constexpr Counter<detail::id##_labels.size()> id{Metric::id};
#define PEOPLESYNC_METRIC_GAUGE(id, ...) inline constexpr Gauge<detail::id##_labels.size()> id{Metric::id};
#define PEOPLESYNC_METRIC_HISTOGRAM(id, ...) \
  inline constexpr Histogram<detail::id##_labels.size()> id{Metric::id};
PEOPLESYNC_METRICS(PEOPLESYNC_METRIC_COUNTER, PEOPLESYNC_METRIC_GAUGE, PEOPLESYNC_METRIC_HISTOGRAM)
#undef PEOPLESYNC_METRIC_COUNTER
#undef PEOPLESYNC_METRIC_GAUGE
#undef PEOPLESYNC_METRIC_HISTOGRAM

// The definition table, in declaration order (the order of the exposition).
#define PEOPLESYNC_METRIC_DEF_COUNTER(id, help, ...) \
  Definition{Metric::id, #id, help, Type::counter, detail::id##_labels, {}},
#define PEOPLESYNC_METRIC_DEF_GAUGE(id, help, ...) \
  Definition{Metric::id, #id, help, Type::gauge, detail::id##_labels, {}},
#define PEOPLESYNC_METRIC_DEF_HISTOGRAM(id, help, ...) \
  Definition{Metric::id, #id, help, Type::histogram, detail::id##_labels, detail::id##_buckets},
inline constexpr Definition kDefinitions[] = {
    PEOPLESYNC_METRICS(PEOPLESYNC_METRIC_DEF_COUNTER, PEOPLESYNC_METRIC_DEF_GAUGE, PEOPLESYNC_METRIC_DEF_HISTOGRAM)};
#undef PEOPLESYNC_METRIC_DEF_COUNTER
#undef PEOPLESYNC_METRIC_DEF_GAUGE
#undef PEOPLESYNC_METRIC_DEF_HISTOGRAM
#undef PEOPLESYNC_METRIC_EXPAND

const Definition& definition(Metric m);

// A thread-safe registry of every metric's series. Series appear when first
// touched; build_info{version} is set to 1 at construction.
class Registry {
 public:
  Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Counters only go up: a negative or NaN amount is a programming error
  // (std::invalid_argument).
  template <std::size_t N>
  void inc(Counter<N> c, const std::type_identity_t<LabelValues<N>>& labels, double by = 1.0) {
    add(c.metric, labels.values, by);
  }
  template <std::size_t N>
  void set(Gauge<N> g, const std::type_identity_t<LabelValues<N>>& labels, double value) {
    put(g.metric, labels.values, value);
  }
  template <std::size_t N>
  void observe(Histogram<N> h, const std::type_identity_t<LabelValues<N>>& labels, double value) {
    sample(h.metric, labels.values, value);
  }
  // Drops every series of one gauge (e.g. before setting the per-stream
  // gauges afresh, so a stream removed by a reload disappears).
  template <std::size_t N>
  void clear(Gauge<N> g) {
    drop(g.metric);
  }

  // Reading back (tests, the status page). Absent series read as 0.
  template <std::size_t N>
  double value(Counter<N> c, const std::type_identity_t<LabelValues<N>>& labels) const {
    return read(c.metric, labels.values);
  }
  template <std::size_t N>
  double value(Gauge<N> g, const std::type_identity_t<LabelValues<N>>& labels) const {
    return read(g.metric, labels.values);
  }
  template <std::size_t N>
  std::uint64_t count(Histogram<N> h, const std::type_identity_t<LabelValues<N>>& labels) const {
    return read_count(h.metric, labels.values);
  }

  // Prometheus text exposition format 0.0.4: HELP and TYPE for every metric
  // (also those with no series yet), series sorted by label values,
  // histograms as cumulative _bucket{le=...} lines, _sum and _count.
  std::string render() const;

 private:
  struct Series {
    double value = 0;                   // counter / gauge
    std::vector<std::uint64_t> counts;  // histogram: per bucket, not cumulative; last = +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct KeyLess {
    using is_transparent = void;
    bool operator()(std::span<const std::string> a, std::span<const std::string> b) const;
    bool operator()(std::span<const std::string> a, std::span<const std::string_view> b) const;
    bool operator()(std::span<const std::string_view> a, std::span<const std::string> b) const;
  };
  using Family = std::map<std::vector<std::string>, Series, KeyLess>;

  void add(Metric m, std::span<const std::string_view> labels, double by);
  void put(Metric m, std::span<const std::string_view> labels, double v);
  void sample(Metric m, std::span<const std::string_view> labels, double v);
  void drop(Metric m);
  double read(Metric m, std::span<const std::string_view> labels) const;
  std::uint64_t read_count(Metric m, std::span<const std::string_view> labels) const;
  Series& series(Metric m, std::span<const std::string_view> labels);  // mutex held

  mutable std::mutex mutex_;
  std::array<Family, std::size(kDefinitions)> families_;
};

// Text-format helpers (exposed for tests).
std::string escape_label_value(std::string_view v);  // \ " and newline
std::string escape_help(std::string_view v);         // \ and newline
std::string format_value(double v);                  // shortest round-trip; +Inf, -Inf, NaN

}  // namespace peoplesync::metrics
