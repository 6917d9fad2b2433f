#include "daemon/live_tracker.hpp"

#include <algorithm>

#include "common/metrics.hpp"

namespace peoplesync::runtime {

LiveTracker::LiveTracker(metrics::Registry& registry) : registry_(registry) {}

status::StreamLive& LiveTracker::stream(const std::string& name) {
  for (auto& x : live_.streams)
    if (x.stream == name) return x;
  live_.streams.push_back({});
  live_.streams.back().stream = name;
  return live_.streams.back();
}

void LiveTracker::progress(const sync::StreamReport& r) {
  auto& prev = last_seen_[r.stream];
  if (r.read < prev.read) prev = sync::StreamReport{};  // a new pass
  registry_.inc(metrics::records_read_total, {r.stream}, static_cast<double>(r.read - prev.read));
  auto written = [&](const char* op, std::int64_t now, std::int64_t before) {
    if (now > before) registry_.inc(metrics::records_written_total, {r.stream, op, "ok"}, static_cast<double>(now - before));
  };
  written("create", r.created, prev.created);
  written("update", r.updated, prev.updated);
  written("status", r.status_changes, prev.status_changes);
  written("delete", r.deleted, prev.deleted);
  if (r.dead_lettered > prev.dead_lettered)
    registry_.inc(metrics::records_written_total, {r.stream, "any", "dead_letter"},
                  static_cast<double>(r.dead_lettered - prev.dead_lettered));
  if (r.unchanged > prev.unchanged)
    registry_.inc(metrics::records_written_total, {r.stream, "any", "unchanged"},
                  static_cast<double>(r.unchanged - prev.unchanged));
  status::StreamLive& sl = stream(r.stream);
  sl.running = true;
  sl.records_read += r.read - prev.read;
  sl.records_written += (r.created + r.updated + r.status_changes + r.deleted) -
                        (prev.created + prev.updated + prev.status_changes + prev.deleted);
  sl.records_unchanged += r.unchanged - prev.unchanged;
  sl.records_dead_lettered += r.dead_lettered - prev.dead_lettered;
  prev = r;
}

void LiveTracker::pass_started(SysTime at) {
  pass_started_ = at;
  for (auto& x : live_.streams) x.last_run_started = at;
}

void LiveTracker::pass_finished(const sync::RunReport& report, SysTime finished, std::optional<SysTime> next_run) {
  for (const auto& x : report.streams) {
    progress(x);
    status::StreamLive& l = stream(x.stream);
    l.running = false;
    l.last_run_finished = finished;
    l.last_run_outcome =
        x.completed ? (x.dead_lettered ? std::to_string(x.dead_lettered) + " dead letters" : "ok") : x.error;
    if (x.completed) {
      l.last_success = finished;
      // Everything changed before the pass began has been read: the lag
      // starts again from there, however old the watermark of a quiet source.
      l.caught_up_at = pass_started_.value_or(finished);
    }
    if (next_run) l.next_run = next_run;
    last_seen_.erase(x.stream);
  }
}

void LiveTracker::endpoints(const std::vector<sync::EndpointSnapshot>& lanes) {
  live_.endpoints.clear();
  for (const auto& e : lanes) {
    live_.endpoints.push_back(endpoint_live(e));
    auto& waited = waits_reported_[e.endpoint];
    if (e.wait_seconds < waited) waited = 0;
    registry_.inc(metrics::ratelimit_wait_seconds_total, {e.endpoint}, e.wait_seconds - waited);
    waited = e.wait_seconds;
    auto& seen = locks_reported_[e.endpoint];
    if (e.lock_count < seen) seen = 0;
    registry_.inc(metrics::ratelimit_locks_total, {e.endpoint}, static_cast<double>(e.lock_count - seen));
    seen = e.lock_count;
  }
}

status::EndpointLive endpoint_live(const sync::EndpointSnapshot& e) {
  status::EndpointLive l;
  l.endpoint = e.endpoint;
  l.budget_per_minute = e.per_minute;
  l.calls_last_minute = e.calls_in_window;
  l.tokens_available = e.available_now;  // -1: the lane has no threshold
  l.next_token_in = e.next_admission_in;
  l.locked_until = e.paused_until;
  l.waiting = e.queued;
  l.in_flight = e.in_flight;
  l.daily_used = e.daily_used;
  l.daily_budget = e.daily_budget;
  return l;
}

}  // namespace peoplesync::runtime
