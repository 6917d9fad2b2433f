// `peoplesync status --json` and /status.json: the snapshot as one JSON
// document; the daemon's adds the live fields.
#include "common/json.hpp"
#include "common/timefmt.hpp"
#include "daemon/status_format.hpp"
#include "daemon/status_report.hpp"

namespace peoplesync::status {
namespace {

constexpr int kJsonRuns = 5;

void optional_time(json::Writer& w, std::string_view key, const std::optional<SysTime>& t) {
  w.key(key);
  if (t) w.value(format_utc_iso_seconds(*t)); else w.null();
}

void stream_live_json(json::Writer& w, const std::optional<StreamLive>& l) {
  w.key("live");
  if (!l) {
    w.null();
    return;
  }
  w.begin_object();
  w.field("running", l->running);
  w.field("records_read", l->records_read).field("records_written", l->records_written);
  w.field("records_unchanged", l->records_unchanged).field("records_dead_lettered", l->records_dead_lettered);
  optional_time(w, "last_run_started", l->last_run_started);
  optional_time(w, "last_run_finished", l->last_run_finished);
  w.field("last_run_outcome", l->last_run_outcome);
  optional_time(w, "last_success", l->last_success);
  optional_time(w, "next_run", l->next_run);
  w.end_object();
}

void endpoint_live_json(json::Writer& w, const std::optional<EndpointLive>& l) {
  w.key("live");
  if (!l) {
    w.null();
    return;
  }
  w.begin_object();
  w.field("budget_per_minute", l->budget_per_minute).field("calls_last_minute", l->calls_last_minute);
  w.key("tokens_available");
  if (l->tokens_available >= 0) w.value(l->tokens_available); else w.null();  // null: not limited
  w.key("next_token_in_ms");
  if (l->next_token_in) w.value(static_cast<std::int64_t>(l->next_token_in->count())); else w.null();
  optional_time(w, "locked_until", l->locked_until);
  w.field("waiting", l->waiting).field("in_flight", l->in_flight);
  w.field("daily_used", l->daily_used).field("daily_budget", l->daily_budget);
  w.end_object();
}

void header_json(json::Writer& w, const Snapshot& s) {
  w.field("state_path", s.state_path);
  w.field("schema_version", s.schema_version);
  w.field("now", format_utc_iso_seconds(s.now));
  if (!s.has_live) return;
  w.field("ready", s.ready);
  optional_time(w, "started_at", s.started_at);
  w.field("summary", s.summary);
  w.key("preflight_failures").begin_array();
  for (const auto& f : s.preflight_failures) w.value(f);
  w.end_array();
}

void streams_json(json::Writer& w, const Snapshot& s) {
  w.key("streams").begin_array();
  for (const auto& r : s.streams) {
    if (!r.listed) continue;
    const auto& cp = r.checkpoint;
    w.begin_object();
    w.field("name", r.name);
    w.field("configured", r.configured);
    w.key("watermark");
    if (cp) w.value(cp->watermark); else w.null();
    w.key("lag_seconds");
    if (r.lag_seconds) w.value(*r.lag_seconds); else w.null();
    w.key("ids_at_watermark").begin_array();
    if (cp)
      for (const auto& id : cp->ids_at_watermark) w.value(id);
    w.end_array();
    w.field("checkpoint_updated_at_ms", cp ? cp->updated_at_ms : std::int64_t{0});
    w.field("id_map", r.counts.id_map);
    w.field("outbox", r.counts.outbox);
    w.field("dead_letters", r.counts.dead_letters);
    if (s.has_live) stream_live_json(w, r.live);
    w.end_object();
  }
  w.end_array();
}

void queues_json(json::Writer& w, const Snapshot& s) {
  w.key("outbox").begin_array();
  for (const auto& e : s.outbox) {
    w.begin_object();
    w.field("id", e.id).field("stream", e.stream).field("op", e.op).field("source_key", e.source_key);
    w.field("state", state_name(e.state)).field("attempts", e.attempts).field("created_at_ms", e.created_at_ms);
    w.end_object();
  }
  w.end_array();

  w.key("dead_letters").begin_array();
  for (const auto& d : s.dead_letters) {
    w.begin_object();
    w.field("id", d.id).field("stream", d.stream).field("source_key", d.source_key).field("reason", d.reason);
    w.field("vendor_code", d.vendor_code).field("attempts", d.attempts).field("created_at_ms", d.created_at_ms);
    w.end_object();
  }
  w.end_array();

  w.key("unresolved_references").begin_array();
  for (const auto& r : s.unresolved) {
    w.begin_object();
    w.field("service", r.service).field("entity", r.entity).field("reference_id", r.reference_id);
    w.field("attempts", r.attempts).field("checked_at_ms", r.checked_at_ms);
    w.end_object();
  }
  w.end_array();
}

// The configured endpoints only.
void limiter_json(json::Writer& w, const Snapshot& s) {
  const std::int64_t now_ms = s.now_ms();
  w.key("limiter").begin_array();
  for (const auto& e : s.endpoints) {
    if (!e.limit) continue;
    w.begin_object();
    w.field("endpoint", e.name).field("per_minute", e.limit->per_minute);
    w.field("lock_seconds", static_cast<std::int64_t>(e.limit->lock.count() / 1000));
    w.field("calls_last_60s", e.stored_calls_last_60s);
    w.field("daily_used", e.stored ? e.stored->daily_used : 0);
    w.field("locked_until_ms", e.locked_until_ms);
    w.field("locked", e.locked_until_ms > now_ms);
    w.field("lock_count", e.stored ? e.stored->lock_count : 0);
    if (s.has_live) {
      w.key("lock_remaining_seconds");
      if (e.locked_until_ms > now_ms) w.value((e.locked_until_ms - now_ms + 999) / 1000); else w.null();
      endpoint_live_json(w, e.live);
    }
    w.end_object();
  }
  w.end_array();
}

void runs_json(json::Writer& w, const Snapshot& s) {
  w.key("recent_runs").begin_array();
  int shown = 0;
  for (const auto& r : s.runs) {
    if (shown++ == kJsonRuns) break;
    w.begin_object();
    w.field("id", r.id).field("mode", r.mode).field("started_at_ms", r.started_at_ms);
    w.field("finished_at_ms", r.finished_at_ms).field("exit_code", r.exit_code).field("summary", r.summary);
    w.end_object();
  }
  w.end_array();
}

}  // namespace

std::string render_json(const Snapshot& s) {
  json::Writer w;
  w.begin_object();
  header_json(w, s);
  streams_json(w, s);
  queues_json(w, s);
  limiter_json(w, s);
  runs_json(w, s);
  w.end_object();
  return w.str() + "\n";
}

std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now) {
  return render_json(build_snapshot(&store, &cfg, now, nullptr));
}

std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now, const Live& live) {
  return render_json(build_snapshot(&store, &cfg, now, &live));
}

}  // namespace peoplesync::status
