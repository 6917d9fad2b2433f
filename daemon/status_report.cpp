#include "daemon/status_report.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "common/json.hpp"
#include "common/timefmt.hpp"

namespace peoplesync::status {
namespace {

std::string_view state_name(state::OutboxState s) {
  switch (s) {
    case state::OutboxState::pending: return "pending";
    case state::OutboxState::sent: return "sent";
    case state::OutboxState::in_doubt: return "in_doubt";
  }
  return "?";
}

std::string when(std::int64_t ms) { return ms > 0 ? format_utc_iso_seconds(from_unix_ms(ms)) : "-"; }

std::string human(std::int64_t seconds) {
  if (seconds < 0) return "-";
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  if (seconds < 172800) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

// Lag = now - watermark, when the watermark is a parseable time.
std::optional<std::int64_t> lag_seconds(const std::string& watermark, SysTime now) {
  auto t = parse_iso8601(watermark);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(now - *t).count();
}

int calls_in_window(const state::EndpointState& e, SysTime now) {
  const std::int64_t from = to_unix_ms(now) - 60'000;
  return static_cast<int>(std::count_if(e.recent_calls_ms.begin(), e.recent_calls_ms.end(),
                                        [&](std::int64_t t) { return t > from; }));
}

// Configured streams first (in config order), then any stream the store
// knows that the config no longer has.
std::vector<std::string> stream_names(const state::Store& store, const config::Config& cfg) {
  std::vector<std::string> names;
  for (const auto& s : cfg.streams) names.push_back(s.name);
  for (const auto& c : store.checkpoints())
    if (std::find(names.begin(), names.end(), c.stream) == names.end()) names.push_back(c.stream);
  return names;
}

}  // namespace

std::string render_text(const state::Store& store, const config::Config& cfg, SysTime now) {
  std::string out;
  out += fmt::format("peoplesync status: state {} (schema v{}), now {}\n", store.path(), store.schema_version(),
                     format_utc_iso_seconds(now));

  const auto counts = store.counts_by_stream();
  out += "\nStreams\n";
  out += fmt::format("  {:<16} {:<27} {:>6} {:>8} {:>8} {:>7} {:>6}  {}\n", "STREAM", "WATERMARK", "LAG", "AT-MARK",
                     "ID-MAP", "OUTBOX", "DEAD", "UPDATED");
  for (const auto& name : stream_names(store, cfg)) {
    const auto cp = store.checkpoint(name);
    const auto it = counts.find(name);
    const state::Counts c = it == counts.end() ? state::Counts{} : it->second;
    std::string lag = "-";
    if (cp) {
      if (auto l = lag_seconds(cp->watermark, now)) lag = human(*l);
    }
    std::string label = name;
    if (!cfg.find_stream(name)) label += " (not in config)";
    out += fmt::format("  {:<16} {:<27} {:>6} {:>8} {:>8} {:>7} {:>6}  {}\n", label,
                       cp ? cp->watermark : "(not started)", lag, cp ? cp->ids_at_watermark.size() : 0, c.id_map,
                       c.outbox, c.dead_letters, cp ? when(cp->updated_at_ms) : "-");
  }

  const auto outbox = store.outbox_list();
  out += fmt::format("\nOutbox ({} intents)\n", outbox.size());
  if (outbox.empty()) out += "  (empty)\n";
  for (const auto& e : outbox) {
    out += fmt::format("  #{:<6} {:<16} {:<14} {:<22} {:<9} attempts {}  since {}\n", e.id, e.stream, e.op,
                       e.source_key, state_name(e.state), e.attempts, when(e.created_at_ms));
  }

  const auto dead = store.dead_letters();
  out += fmt::format("\nDead letters ({})\n", dead.size());
  if (dead.empty()) out += "  (none)\n";
  for (const auto& d : dead) {
    out += fmt::format("  #{:<6} {:<16} {:<22} code {:<10} attempts {}  {}\n", d.id, d.stream, d.source_key,
                       d.vendor_code.empty() ? "-" : d.vendor_code, d.attempts, d.reason);
  }

  const auto unresolved = store.ref_cache_unresolved();
  out += fmt::format("\nReferences waiting for Zoho to sync ({})\n", unresolved.size());
  if (unresolved.empty()) out += "  (none)\n";
  for (const auto& r : unresolved) {
    out += fmt::format("  {} {} {}  asked {} times, last {}\n", r.service, r.entity, r.reference_id, r.attempts,
                       when(r.checked_at_ms));
  }

  out += "\nLimiter\n";
  out += fmt::format("  {:<36} {:>9} {:>10} {:>12}  {:<22} {:>6}\n", "ENDPOINT", "LIMIT/MIN", "CALLS(60s)",
                     "DAILY USED", "LOCKED UNTIL", "LOCKS");
  std::set<std::string> shown;
  const auto states = store.endpoint_states();
  auto state_of = [&](const std::string& ep) -> const state::EndpointState* {
    for (const auto& s : states)
      if (s.endpoint == ep) return &s;
    return nullptr;
  };
  for (const auto& [endpoint, limit] : cfg.limits) {
    const state::EndpointState* s = state_of(endpoint);
    std::string locked = "-";
    if (s && s->locked_until_ms > to_unix_ms(now)) {
      locked = when(s->locked_until_ms) + " (" + human((s->locked_until_ms - to_unix_ms(now) + 999) / 1000) + ")";
    }
    out += fmt::format("  {:<36} {:>9} {:>10} {:>12}  {:<22} {:>6}\n", endpoint,
                       limit.per_minute ? std::to_string(limit.per_minute) : "-", s ? calls_in_window(*s, now) : 0,
                       s ? s->daily_used : 0, locked, s ? s->lock_count : 0);
    shown.insert(endpoint);
  }
  for (const auto& s : states) {
    if (shown.count(s.endpoint)) continue;
    out += fmt::format("  {:<36} {:>9} {:>10} {:>12}  {:<22} {:>6}\n", s.endpoint + " (unknown)", "-",
                       calls_in_window(s, now), s.daily_used, when(s.locked_until_ms), s.lock_count);
  }

  const auto runs = store.recent_runs(5);
  out += "\nRecent runs\n";
  if (runs.empty()) out += "  (none)\n";
  for (const auto& r : runs) {
    out += fmt::format("  #{:<5} {:<9} started {}  finished {}  exit {}  {}\n", r.id, r.mode, when(r.started_at_ms),
                       r.finished_at_ms ? when(r.finished_at_ms) : "(running or interrupted)",
                       r.exit_code >= 0 ? std::to_string(r.exit_code) : "-", r.summary);
  }
  return out;
}

std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now) {
  json::Writer w;
  w.begin_object();
  w.field("state_path", store.path());
  w.field("schema_version", store.schema_version());
  w.field("now", format_utc_iso_seconds(now));

  const auto counts = store.counts_by_stream();
  w.key("streams").begin_array();
  for (const auto& name : stream_names(store, cfg)) {
    const auto cp = store.checkpoint(name);
    const auto it = counts.find(name);
    const state::Counts c = it == counts.end() ? state::Counts{} : it->second;
    w.begin_object();
    w.field("name", name);
    w.field("configured", cfg.find_stream(name) != nullptr);
    w.key("watermark");
    if (cp) w.value(cp->watermark); else w.null();
    w.key("lag_seconds");
    if (auto l = cp ? lag_seconds(cp->watermark, now) : std::nullopt) w.value(*l); else w.null();
    w.key("ids_at_watermark").begin_array();
    if (cp)
      for (const auto& id : cp->ids_at_watermark) w.value(id);
    w.end_array();
    w.field("checkpoint_updated_at_ms", cp ? cp->updated_at_ms : std::int64_t{0});
    w.field("id_map", c.id_map);
    w.field("outbox", c.outbox);
    w.field("dead_letters", c.dead_letters);
    w.end_object();
  }
  w.end_array();

  w.key("outbox").begin_array();
  for (const auto& e : store.outbox_list()) {
    w.begin_object();
    w.field("id", e.id).field("stream", e.stream).field("op", e.op).field("source_key", e.source_key);
    w.field("state", state_name(e.state)).field("attempts", e.attempts).field("created_at_ms", e.created_at_ms);
    w.end_object();
  }
  w.end_array();

  w.key("dead_letters").begin_array();
  for (const auto& d : store.dead_letters()) {
    w.begin_object();
    w.field("id", d.id).field("stream", d.stream).field("source_key", d.source_key).field("reason", d.reason);
    w.field("vendor_code", d.vendor_code).field("attempts", d.attempts).field("created_at_ms", d.created_at_ms);
    w.end_object();
  }
  w.end_array();

  w.key("unresolved_references").begin_array();
  for (const auto& r : store.ref_cache_unresolved()) {
    w.begin_object();
    w.field("service", r.service).field("entity", r.entity).field("reference_id", r.reference_id);
    w.field("attempts", r.attempts).field("checked_at_ms", r.checked_at_ms);
    w.end_object();
  }
  w.end_array();

  const auto states = store.endpoint_states();
  w.key("limiter").begin_array();
  for (const auto& [endpoint, limit] : cfg.limits) {
    const state::EndpointState* s = nullptr;
    for (const auto& st : states)
      if (st.endpoint == endpoint) s = &st;
    w.begin_object();
    w.field("endpoint", endpoint).field("per_minute", limit.per_minute);
    w.field("lock_seconds", static_cast<std::int64_t>(limit.lock.count() / 1000));
    w.field("calls_last_60s", s ? calls_in_window(*s, now) : 0);
    w.field("daily_used", s ? s->daily_used : 0);
    w.field("locked_until_ms", s ? s->locked_until_ms : 0);
    w.field("locked", s != nullptr && s->locked_until_ms > to_unix_ms(now));
    w.field("lock_count", s ? s->lock_count : 0);
    w.end_object();
  }
  w.end_array();

  w.key("recent_runs").begin_array();
  for (const auto& r : store.recent_runs(5)) {
    w.begin_object();
    w.field("id", r.id).field("mode", r.mode).field("started_at_ms", r.started_at_ms);
    w.field("finished_at_ms", r.finished_at_ms).field("exit_code", r.exit_code).field("summary", r.summary);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str() + "\n";
}

}  // namespace peoplesync::status
