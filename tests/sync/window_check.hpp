#pragma once
// Exact checks of admission logs for the limiter and scheduler tests.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include "common/clock.hpp"

namespace peoplesync::testing_support {

using Steady = std::chrono::steady_clock::time_point;

// The most admissions any closed window [a, a + length] holds, over every
// position a. (A window can always be slid right until its left edge meets
// an admission without losing any, so starting at admissions is exhaustive.)
inline int max_in_any_window(std::vector<Steady> times, Millis length) {
  std::sort(times.begin(), times.end());
  int best = 0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    j = std::max(j, i);
    while (j < times.size() && times[j] <= times[i] + length) ++j;
    best = std::max(best, static_cast<int>(j - i));
  }
  return best;
}

// Window lengths to check: every length from 1 ms up to well past the
// vendor's minute, densest around it.
inline std::vector<Millis> window_lengths() {
  std::vector<Millis> out;
  for (long ms : {1L, 10L, 250L, 1'000L, 5'000L, 10'000L, 29'999L, 30'000L, 45'000L, 59'000L, 59'999L, 60'000L,
                  60'001L, 60'999L, 61'000L, 90'000L, 120'000L, 300'000L, 3'600'000L})
    out.emplace_back(ms);
  return out;
}

// What a window of `length` may hold when no span of `span` holds more than n.
inline int allowed_in(Millis length, Millis span, int n) {
  // Windows of length < span hold at most n; each further span (or part) adds n.
  const auto spans = length.count() / span.count() + 1;
  return static_cast<int>(spans) * n;
}

}  // namespace peoplesync::testing_support
