#include "common/metrics.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace peoplesync::metrics {
namespace {

template <class A, class B>
bool less_lex(std::span<A> a, std::span<B> b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](const auto& x, const auto& y) { return std::string_view(x) < std::string_view(y); });
}

constexpr bool kTableInOrder = [] {
  for (std::size_t i = 0; i < std::size(kDefinitions); ++i)
    if (static_cast<std::size_t>(kDefinitions[i].metric) != i) return false;
  return true;
}();
static_assert(kTableInOrder, "kDefinitions must follow the Metric enum");

constexpr bool kBucketsAscending = [] {
  for (const auto& d : kDefinitions) {
    if (d.type == Type::histogram && d.buckets.empty()) return false;
    for (std::size_t i = 1; i < d.buckets.size(); ++i)
      if (!(d.buckets[i - 1] < d.buckets[i])) return false;
  }
  return true;
}();
static_assert(kBucketsAscending, "histogram buckets must be non-empty and strictly ascending");

void append_labels(std::string& out, const Definition& d, std::span<const std::string> values,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (d.labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < d.labels.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += d.labels[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

}  // namespace

const Definition& definition(Metric m) { return kDefinitions[static_cast<std::size_t>(m)]; }

bool Registry::KeyLess::operator()(std::span<const std::string> a, std::span<const std::string> b) const {
  return less_lex(a, b);
}
bool Registry::KeyLess::operator()(std::span<const std::string> a, std::span<const std::string_view> b) const {
  return less_lex(a, b);
}
bool Registry::KeyLess::operator()(std::span<const std::string_view> a, std::span<const std::string> b) const {
  return less_lex(a, b);
}

Registry::Registry() { set(build_info, {PEOPLESYNC_VERSION}, 1); }

Registry::Series& Registry::series(Metric m, std::span<const std::string_view> labels) {
  Family& f = families_[static_cast<std::size_t>(m)];
  auto it = f.find(labels);
  if (it == f.end()) {
    Series s;
    if (definition(m).type == Type::histogram) s.counts.assign(definition(m).buckets.size() + 1, 0);
    it = f.emplace(std::vector<std::string>(labels.begin(), labels.end()), std::move(s)).first;
  }
  return it->second;
}

void Registry::add(Metric m, std::span<const std::string_view> labels, double by) {
  if (!(by >= 0)) throw std::invalid_argument(fmt::format("metric {}: counters only go up (by {})", definition(m).name, by));
  std::lock_guard lock(mutex_);
  series(m, labels).value += by;
}

void Registry::put(Metric m, std::span<const std::string_view> labels, double v) {
  std::lock_guard lock(mutex_);
  series(m, labels).value = v;
}

void Registry::sample(Metric m, std::span<const std::string_view> labels, double v) {
  if (std::isnan(v)) throw std::invalid_argument(fmt::format("metric {}: NaN observed", definition(m).name));
  const auto& bounds = definition(m).buckets;
  // The first bucket whose upper bound is >= v; past the end = +Inf.
  const auto idx = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
  std::lock_guard lock(mutex_);
  Series& s = series(m, labels);
  s.counts[idx] += 1;
  s.sum += v;
  s.count += 1;
}

void Registry::drop(Metric m) {
  std::lock_guard lock(mutex_);
  families_[static_cast<std::size_t>(m)].clear();
}

double Registry::read(Metric m, std::span<const std::string_view> labels) const {
  std::lock_guard lock(mutex_);
  const Family& f = families_[static_cast<std::size_t>(m)];
  auto it = f.find(labels);
  return it == f.end() ? 0.0 : it->second.value;
}

std::uint64_t Registry::read_count(Metric m, std::span<const std::string_view> labels) const {
  std::lock_guard lock(mutex_);
  const Family& f = families_[static_cast<std::size_t>(m)];
  auto it = f.find(labels);
  return it == f.end() ? 0 : it->second.count;
}

std::string Registry::render() const {
  std::string out;
  out.reserve(4096);
  std::lock_guard lock(mutex_);
  for (const Definition& d : kDefinitions) {
    const std::string name = std::string(kPrefix) + std::string(d.name);
    out += "# HELP " + name + " " + escape_help(d.help) + "\n";
    out += "# TYPE " + name + " ";
    out += d.type == Type::counter ? "counter" : d.type == Type::gauge ? "gauge" : "histogram";
    out += '\n';
    for (const auto& [labels, s] : families_[static_cast<std::size_t>(d.metric)]) {
      if (d.type != Type::histogram) {
        out += name;
        append_labels(out, d, labels);
        out += ' ' + format_value(s.value) + '\n';
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i <= d.buckets.size(); ++i) {
        cumulative += s.counts[i];
        out += name + "_bucket";
        append_labels(out, d, labels, "le", i < d.buckets.size() ? format_value(d.buckets[i]) : "+Inf");
        out += ' ' + std::to_string(cumulative) + '\n';
      }
      out += name + "_sum";
      append_labels(out, d, labels);
      out += ' ' + format_value(s.sum) + '\n';
      out += name + "_count";
      append_labels(out, d, labels);
      out += ' ' + std::to_string(s.count) + '\n';
    }
  }
  return out;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace peoplesync::metrics
