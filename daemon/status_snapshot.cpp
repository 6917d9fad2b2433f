#include "daemon/status_snapshot.hpp"

#include <algorithm>
#include <chrono>

#include "common/metrics.hpp"
#include "common/timefmt.hpp"

namespace peoplesync::status {
namespace {

int calls_in_window(const state::EndpointState& e, SysTime now) {
  const std::int64_t from = to_unix_ms(now) - 60'000;
  return static_cast<int>(std::count_if(e.recent_calls_ms.begin(), e.recent_calls_ms.end(),
                                        [&](std::int64_t t) { return t > from; }));
}

template <class Row>
Row& row_named(std::vector<Row>& rows, const std::string& name) {
  for (auto& r : rows)
    if (r.name == name) return r;
  rows.push_back({});
  rows.back().name = name;
  return rows.back();
}

std::optional<std::int64_t> stream_lag(const StreamRow& row, SysTime now, bool* is_live) {
  std::optional<SysTime> fresh;
  if (row.checkpoint) fresh = parse_iso8601(row.checkpoint->watermark);
  *is_live = false;
  if (row.live && row.live->caught_up_at && (!fresh || *row.live->caught_up_at > *fresh)) {
    fresh = row.live->caught_up_at;
    *is_live = true;
  }
  if (!fresh) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(now - *fresh).count();
}

// Configured streams first (in config order), then any stream the store has
// a checkpoint for: the rows the status tables list. Then, for the gauges,
// streams known only from outbox / dead-letter rows or the live view.
void add_streams(Snapshot& s, const state::Store* store, const config::Config* cfg, const Live* live) {
  if (cfg)
    for (const auto& c : cfg->streams) {
      StreamRow& r = row_named(s.streams, c.name);
      r.configured = r.listed = true;
      r.poll_seconds =
          std::chrono::duration_cast<std::chrono::seconds>(c.poll_interval.value_or(cfg->service.poll_interval)).count();
    }
  if (store) {
    for (auto& cp : store->checkpoints()) {
      StreamRow& r = row_named(s.streams, cp.stream);
      r.listed = true;
      r.checkpoint = std::move(cp);
    }
    for (const auto& [name, counts] : store->counts_by_stream()) row_named(s.streams, name).counts = counts;
  }
  if (live)
    for (const auto& l : live->streams) row_named(s.streams, l.stream).live = l;
  for (auto& r : s.streams) r.lag_seconds = stream_lag(r, s.now, &r.lag_is_live);
}

// Configured limits (in config order), then endpoints only the store knows,
// then endpoints only the live view knows.
void add_endpoints(Snapshot& s, const state::Store* store, const config::Config* cfg, const Live* live) {
  if (cfg)
    for (const auto& [name, limit] : cfg->limits) row_named(s.endpoints, name).limit = limit;
  if (store)
    for (auto& st : store->endpoint_states()) {
      EndpointRow& r = row_named(s.endpoints, st.endpoint);
      r.stored_calls_last_60s = calls_in_window(st, s.now);
      r.stored = std::move(st);
    }
  if (live)
    for (const auto& l : live->endpoints) row_named(s.endpoints, l.endpoint).live = l;
  for (auto& r : s.endpoints) {
    r.locked_until_ms = r.stored ? r.stored->locked_until_ms : 0;
    if (r.live && r.live->locked_until) r.locked_until_ms = std::max(r.locked_until_ms, to_unix_ms(*r.live->locked_until));
  }
}

}  // namespace

Snapshot build_snapshot(const state::Store* store, const config::Config* cfg, SysTime now, const Live* live,
                        Detail detail) {
  Snapshot s;
  s.now = now;
  s.has_store = store != nullptr;
  if (store) {
    s.state_path = store->path();
    s.schema_version = store->schema_version();
  }
  if (live) {
    s.has_live = true;
    s.ready = live->ready;
    s.started_at = live->started_at;
    s.summary = live->summary;
    s.preflight_failures = live->preflight_failures;
  }
  add_streams(s, store, cfg, live);
  if (detail == Detail::streams) return s;
  add_endpoints(s, store, cfg, live);
  if (store) {
    s.outbox = store->outbox_list();
    s.dead_letters = store->dead_letters();
    s.unresolved = store->ref_cache_unresolved();
    s.runs = store->recent_runs(Snapshot::kRecentRuns);
  }
  return s;
}

void set_gauges(metrics::Registry& registry, const Snapshot& s) {
  registry.clear(metrics::sync_lag_seconds);
  registry.clear(metrics::last_success_timestamp_seconds);
  registry.clear(metrics::outbox_pending);
  registry.clear(metrics::dead_letters);
  for (const auto& r : s.streams) {
    if (r.lag_seconds) registry.set(metrics::sync_lag_seconds, {r.name}, static_cast<double>(*r.lag_seconds));
    if (r.live && r.live->last_success) {
      registry.set(metrics::last_success_timestamp_seconds, {r.name},
                   static_cast<double>(to_unix_ms(*r.live->last_success)) / 1000.0);
    }
    if (s.has_store) {
      registry.set(metrics::outbox_pending, {r.name}, static_cast<double>(r.counts.outbox));
      registry.set(metrics::dead_letters, {r.name}, static_cast<double>(r.counts.dead_letters));
    }
  }
}

const StreamLive* Live::stream(std::string_view name) const {
  for (const auto& s : streams)
    if (s.stream == name) return &s;
  return nullptr;
}

const EndpointLive* Live::endpoint(std::string_view name) const {
  for (const auto& e : endpoints)
    if (e.endpoint == name) return &e;
  return nullptr;
}

std::optional<std::int64_t> watermark_lag_seconds(const std::string& watermark, SysTime now) {
  auto t = parse_iso8601(watermark);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(now - *t).count();
}

}  // namespace peoplesync::status
