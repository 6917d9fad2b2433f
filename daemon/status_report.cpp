#include "daemon/status_report.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <map>
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

std::optional<std::int64_t> lag_seconds(const std::string& watermark, SysTime now) {
  return watermark_lag_seconds(watermark, now);
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

namespace {

void optional_time(json::Writer& w, std::string_view key, const std::optional<SysTime>& t) {
  w.key(key);
  if (t) w.value(format_utc_iso_seconds(*t)); else w.null();
}

void stream_live_json(json::Writer& w, const StreamLive* l) {
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

void endpoint_live_json(json::Writer& w, const EndpointLive* l) {
  w.key("live");
  if (!l) {
    w.null();
    return;
  }
  w.begin_object();
  w.field("budget_per_minute", l->budget_per_minute).field("calls_last_minute", l->calls_last_minute);
  w.field("tokens_available", l->tokens_available);
  w.key("next_token_in_ms");
  if (l->next_token_in) w.value(static_cast<std::int64_t>(l->next_token_in->count())); else w.null();
  optional_time(w, "locked_until", l->locked_until);
  w.field("waiting", l->waiting).field("in_flight", l->in_flight);
  w.field("daily_used", l->daily_used).field("daily_budget", l->daily_budget);
  w.end_object();
}

// The store's lock merged with the limiter's live one: the later wins.
std::int64_t locked_until_ms(const state::EndpointState* s, const EndpointLive* l) {
  std::int64_t t = s ? s->locked_until_ms : 0;
  if (l && l->locked_until) t = std::max(t, to_unix_ms(*l->locked_until));
  return t;
}

std::string json_document(const state::Store& store, const config::Config& cfg, SysTime now, const Live* live) {
  json::Writer w;
  w.begin_object();
  w.field("state_path", store.path());
  w.field("schema_version", store.schema_version());
  w.field("now", format_utc_iso_seconds(now));
  if (live) {
    w.field("ready", live->ready);
    optional_time(w, "started_at", live->started_at);
    w.field("summary", live->summary);
    w.key("preflight_failures").begin_array();
    for (const auto& f : live->preflight_failures) w.value(f);
    w.end_array();
  }

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
    const StreamLive* sl = live ? live->stream(name) : nullptr;
    w.key("lag_seconds");
    if (sl && sl->lag) w.value(static_cast<std::int64_t>(sl->lag->count()));
    else if (auto l = cp ? lag_seconds(cp->watermark, now) : std::nullopt) w.value(*l);
    else w.null();
    w.key("ids_at_watermark").begin_array();
    if (cp)
      for (const auto& id : cp->ids_at_watermark) w.value(id);
    w.end_array();
    w.field("checkpoint_updated_at_ms", cp ? cp->updated_at_ms : std::int64_t{0});
    w.field("id_map", c.id_map);
    w.field("outbox", c.outbox);
    w.field("dead_letters", c.dead_letters);
    if (live) stream_live_json(w, sl);
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
    const EndpointLive* el = live ? live->endpoint(endpoint) : nullptr;
    const std::int64_t until = locked_until_ms(s, el);
    w.field("locked_until_ms", until);
    w.field("locked", until > to_unix_ms(now));
    w.field("lock_count", s ? s->lock_count : 0);
    if (live) {
      w.key("lock_remaining_seconds");
      if (until > to_unix_ms(now)) w.value((until - to_unix_ms(now) + 999) / 1000); else w.null();
      endpoint_live_json(w, el);
    }
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

}  // namespace

std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now) {
  return json_document(store, cfg, now, nullptr);
}

std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now, const Live& live) {
  return json_document(store, cfg, now, &live);
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

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

constexpr std::string_view kStyle = R"css(
:root{color-scheme:light dark;--fg:#1d232b;--bg:#f6f7f9;--card:#fff;--muted:#667085;--line:#e3e6ea;
--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--bar:#3b82f6}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--bg:#111418;--card:#1a1f25;--muted:#98a2b3;--line:#2c333b}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}header{padding:16px 24px;background:var(--card);border-bottom:1px solid var(--line);
display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}h1{font-size:20px;margin:0}h2{font-size:16px;margin:0 0 8px}
main{padding:16px 24px;display:grid;gap:16px}section{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:12px 16px;overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 10px 4px 0;
border-bottom:1px solid var(--line);vertical-align:top;white-space:nowrap}th{color:var(--muted);font-weight:600;font-size:12px;
text-transform:uppercase;letter-spacing:.03em}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{white-space:normal;min-width:20em}.muted{color:var(--muted)}.ok{color:var(--ok)}.warn{color:var(--warn)}
.bad{color:var(--bad);font-weight:600}.badge{border-radius:999px;padding:2px 10px;font-weight:600;font-size:12px;color:#fff}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.bar{display:inline-block;width:80px;height:8px;background:var(--line);border-radius:4px;vertical-align:middle;margin-left:6px}
.bar span{display:block;height:8px;border-radius:4px;background:var(--bar)}footer{padding:0 24px 24px;color:var(--muted)}
)css";

// Updates lock countdowns every second and says when the page reloads; the
// meta refresh does the reloading, so the page also works without scripts.
constexpr std::string_view kScript = R"js(
(function(){
  var t0=Date.now(),refresh=Number(document.body.getAttribute("data-refresh"))||0;
  function span(s){if(s<=0)return "0s";var m=Math.floor(s/60),r=s%60;return (m?m+"m ":"")+r+"s";}
  function tick(){
    var gone=(Date.now()-t0)/1000;
    document.querySelectorAll("[data-countdown]").forEach(function(e){
      var left=Math.ceil(Number(e.getAttribute("data-countdown"))-gone);
      e.textContent=left>0?span(left):"lifting";
    });
    var r=document.getElementById("refresh-in");
    if(r&&refresh>0)r.textContent=span(Math.max(0,Math.ceil(refresh-gone)));
  }
  tick();setInterval(tick,1000);document.body.setAttribute("data-live","1");
})();
)js";

std::string span_text(std::int64_t seconds) {
  if (seconds <= 0) return "0s";
  if (seconds < 60) return std::to_string(seconds) + "s";
  if (seconds < 3600) return std::to_string(seconds / 60) + "m " + std::to_string(seconds % 60) + "s";
  return human(seconds);
}

// "3m ago" / "in 2m" with the exact time as a tooltip.
std::string relative(std::optional<SysTime> t, SysTime now) {
  if (!t) return "<span class=\"muted\">&mdash;</span>";
  const auto d = std::chrono::duration_cast<std::chrono::seconds>(now - *t).count();
  const std::string text = d >= 0 ? human(d) + " ago" : "in " + human(-d);
  return fmt::format("<span title=\"{}\">{}</span>", format_utc_iso_seconds(*t), text);
}

std::string relative_ms(std::int64_t ms, SysTime now) {
  return ms > 0 ? relative(from_unix_ms(ms), now) : relative(std::nullopt, now);
}

std::string dash() { return "<span class=\"muted\">&mdash;</span>"; }

std::string num(std::int64_t v) { return fmt::format("<td class=\"num\">{}</td>", v); }

}  // namespace

std::string render_html(const state::Store& store, const config::Config& cfg, SysTime now, const Live& live,
                        const HtmlOptions& options) {
  const std::int64_t now_ms = to_unix_ms(now);
  const auto counts = store.counts_by_stream();
  const auto outbox = store.outbox_list();
  const auto dead = store.dead_letters();
  const auto states = store.endpoint_states();
  const auto unresolved = store.ref_cache_unresolved();
  const auto runs = store.recent_runs(10);
  const auto e = [](std::string_view s) { return html_escape(s); };

  std::string h;
  h.reserve(16384 + 256 * (outbox.size() + dead.size()));
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">";
  if (options.refresh_seconds > 0)
    h += fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">", options.refresh_seconds);
  h += fmt::format("<title>peoplesync {}</title><style>{}</style></head>\n",
                   live.ready ? "status" : "status (not ready)", kStyle);
  h += fmt::format("<body data-refresh=\"{}\">\n<header><h1>peoplesync</h1>", options.refresh_seconds);
  h += live.ready ? "<span class=\"badge ok\" id=\"readiness\">ready</span>"
                  : "<span class=\"badge bad\" id=\"readiness\">not ready</span>";
  h += fmt::format("<span class=\"muted\">version {}</span>", e(PEOPLESYNC_VERSION));
  h += fmt::format("<span class=\"muted\">state <code>{}</code> (schema v{})</span>", e(store.path()),
                   store.schema_version());
  h += fmt::format("<span class=\"muted\">now {}</span>", format_utc_iso_seconds(now));
  if (live.started_at) h += fmt::format("<span class=\"muted\">up since {}</span>", relative(live.started_at, now));
  h += "</header>\n<main>\n";
  if (!live.summary.empty()) h += fmt::format("<section id=\"summary\">{}</section>\n", e(live.summary));
  if (!live.preflight_failures.empty()) {
    h += "<section id=\"preflight\"><h2>Preflight failed: nothing is written</h2><ul>";
    for (const auto& f : live.preflight_failures) h += fmt::format("<li class=\"bad\">{}</li>", e(f));
    h += "</ul></section>\n";
  }

  // --- streams
  h += "<section id=\"streams\"><h2>Streams</h2><table><thead><tr><th>Stream</th><th>Watermark</th><th>Lag</th>"
       "<th>Last run</th><th>Outcome</th><th class=\"num\">Read</th><th class=\"num\">Written</th>"
       "<th class=\"num\">Unchanged</th><th class=\"num\">Dead-lettered</th><th class=\"num\">Outbox</th>"
       "<th class=\"num\">Dead letters</th><th>Next poll</th></tr></thead><tbody>\n";
  for (const auto& name : stream_names(store, cfg)) {
    const auto cp = store.checkpoint(name);
    const auto it = counts.find(name);
    const state::Counts c = it == counts.end() ? state::Counts{} : it->second;
    const StreamLive* sl = live.stream(name);
    const config::Stream* conf = cfg.find_stream(name);
    h += fmt::format("<tr data-stream=\"{}\"><td><b>{}</b>{}{}</td>", e(name), e(name),
                     conf ? "" : " <span class=\"warn\">(not in config)</span>",
                     sl && sl->running ? " <span class=\"ok\">running</span>" : "");
    if (cp) {
      h += fmt::format("<td><code>{}</code>{}</td>", e(cp->watermark),
                       cp->ids_at_watermark.empty()
                           ? std::string()
                           : fmt::format(" <span class=\"muted\">+{} at mark</span>", cp->ids_at_watermark.size()));
    } else {
      h += "<td><span class=\"muted\">not started</span></td>";
    }
    std::optional<std::int64_t> lag;
    if (sl && sl->lag) lag = sl->lag->count();
    else if (cp) lag = lag_seconds(cp->watermark, now);
    std::string lag_class;
    if (sl && sl->lag && conf) {
      const auto poll = std::chrono::duration_cast<std::chrono::seconds>(
                            conf->poll_interval.value_or(cfg.service.poll_interval))
                            .count();
      if (*lag > 3 * poll) lag_class = " class=\"bad\"";
      else if (*lag > poll) lag_class = " class=\"warn\"";
    }
    h += lag ? fmt::format("<td{}>{}</td>", lag_class, human(*lag)) : "<td>" + dash() + "</td>";
    if (sl) {
      h += "<td>" + relative(sl->last_run_finished ? sl->last_run_finished : sl->last_run_started, now) + "</td>";
      const bool good = sl->last_run_outcome == "ok";
      h += sl->last_run_outcome.empty()
               ? "<td>" + dash() + "</td>"
               : fmt::format("<td class=\"{}\">{}</td>", good ? "ok" : "warn", e(sl->last_run_outcome));
      h += num(sl->records_read) + num(sl->records_written) + num(sl->records_unchanged) +
           num(sl->records_dead_lettered);
    } else {
      h += "<td>" + dash() + "</td><td>" + dash() + "</td><td class=\"num\">" + dash() + "</td><td class=\"num\">" +
           dash() + "</td><td class=\"num\">" + dash() + "</td><td class=\"num\">" + dash() + "</td>";
    }
    h += num(c.outbox);
    h += c.dead_letters > 0 ? fmt::format("<td class=\"num bad\">{}</td>", c.dead_letters) : num(0);
    h += "<td>" + (sl ? relative(sl->next_run, now) : dash()) + "</td></tr>\n";
  }
  h += "</tbody></table></section>\n";

  // --- endpoints: budget and locks
  h += "<section id=\"endpoints\"><h2>API budget and locks</h2><table><thead><tr><th>Endpoint</th>"
       "<th class=\"num\">Budget/min</th><th class=\"num\">Calls, last minute</th><th>Available now</th>"
       "<th class=\"num\">Queued</th><th class=\"num\">In flight</th><th class=\"num\">Daily used</th><th>Lock</th>"
       "<th class=\"num\">Locks seen</th></tr></thead><tbody>\n";
  std::vector<std::string> endpoints;
  for (const auto& [name, limit] : cfg.limits) endpoints.push_back(name);
  for (const auto& s : states)
    if (!cfg.limits.count(s.endpoint)) endpoints.push_back(s.endpoint);
  for (const auto& l : live.endpoints)
    if (std::find(endpoints.begin(), endpoints.end(), l.endpoint) == endpoints.end()) endpoints.push_back(l.endpoint);
  for (const auto& name : endpoints) {
    const state::EndpointState* st = nullptr;
    for (const auto& s : states)
      if (s.endpoint == name) st = &s;
    const EndpointLive* el = live.endpoint(name);
    const auto lim = cfg.limits.find(name);
    const config::Limit* limit = lim == cfg.limits.end() ? nullptr : &lim->second;
    const std::int64_t until = locked_until_ms(st, el);
    const bool locked = until > now_ms;
    h += fmt::format("<tr data-endpoint=\"{}\"{}><td><code>{}</code>{}</td>", e(name), locked ? " class=\"locked\"" : "",
                     e(name), limit ? "" : " <span class=\"warn\">(unknown)</span>");
    const int budget = el && el->budget_per_minute > 0 ? el->budget_per_minute : limit ? limit->per_minute : 0;
    h += budget > 0 ? num(budget) : "<td class=\"num\">" + dash() + "</td>";
    const int used = el ? el->calls_last_minute : st ? calls_in_window(*st, now) : 0;
    if (budget > 0) {
      const int pct = std::clamp(used * 100 / budget, 0, 100);
      h += fmt::format("<td class=\"num\">{}<span class=\"bar\" title=\"{}% of the budget\"><span style=\"width:{}%\">"
                       "</span></span></td>",
                       used, pct, pct);
    } else {
      h += num(used);
    }
    if (!el) {
      h += "<td>" + dash() + "</td><td class=\"num\">" + dash() + "</td><td class=\"num\">" + dash() + "</td>";
    } else {
      if (el->tokens_available >= 1 || !el->next_token_in) {
        h += fmt::format("<td>{}</td>", static_cast<std::int64_t>(el->tokens_available));
      } else {
        const auto ms = el->next_token_in->count();
        h += fmt::format("<td class=\"warn\">next in {:.1f} s</td>", static_cast<double>(ms) / 1000.0);
      }
      h += num(el->waiting) + num(el->in_flight);
    }
    const std::int64_t daily_used = el ? el->daily_used : st ? st->daily_used : 0;
    std::int64_t daily_budget = el ? el->daily_budget : 0;
    if (daily_budget == 0 && limit) daily_budget = limit->daily_credits ? limit->daily_credits : limit->daily_calls;
    h += daily_budget > 0 ? fmt::format("<td class=\"num\">{} / {}</td>", daily_used, daily_budget) : num(daily_used);
    if (locked) {
      const std::int64_t left = (until - now_ms + 999) / 1000;
      h += fmt::format("<td class=\"bad\">locked, <span data-countdown=\"{}\">{}</span> left "
                       "<span class=\"muted\">(until {})</span></td>",
                       left, span_text(left), format_utc_iso_seconds(from_unix_ms(until)));
    } else {
      h += "<td class=\"ok\">open</td>";
    }
    h += num(st ? st->lock_count : 0) + "</tr>\n";
  }
  h += "</tbody></table></section>\n";

  // --- outbox
  std::map<std::string, std::int64_t> by_state;
  for (const auto& o : outbox) by_state[std::string(state_name(o.state))] += 1;
  h += fmt::format("<section id=\"outbox\"><h2>Outbox ({} intents)</h2>", outbox.size());
  if (outbox.empty()) {
    h += "<p class=\"muted\">Empty: every write intent has been confirmed.</p>";
  } else {
    h += "<p>";
    for (const auto& [st, n] : by_state) h += fmt::format("{} {} &nbsp; ", n, e(st));
    h += "</p><table><thead><tr><th>#</th><th>Stream</th><th>Op</th><th>Record</th><th>State</th><th class=\"num\">Attempts</th>"
         "<th>Since</th></tr></thead><tbody>\n";
    std::size_t shown = 0;
    for (const auto& o : outbox) {
      if (shown++ == options.max_rows) break;
      h += fmt::format("<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td{}>{}</td>{}<td>{}</td></tr>\n",
                       o.id, e(o.stream), e(o.op), e(o.source_key),
                       o.state == state::OutboxState::in_doubt ? " class=\"warn\"" : "", state_name(o.state),
                       num(o.attempts), relative_ms(o.created_at_ms, now));
    }
    h += "</tbody></table>";
    if (outbox.size() > options.max_rows)
      h += fmt::format("<p class=\"muted\">and {} more (<code>peoplesync status</code> lists all).</p>",
                       outbox.size() - options.max_rows);
  }
  h += "</section>\n";

  // --- dead letters
  h += fmt::format("<section id=\"dead-letters\"><h2>Dead letters ({})</h2>", dead.size());
  if (dead.empty()) {
    h += "<p class=\"muted\">None.</p>";
  } else {
    h += "<p class=\"muted\">Records that cannot be written until someone acts. After fixing the cause, "
         "<code>peoplesync retry [--stream NAME]</code> puts them back in the queue.</p>"
         "<table><thead><tr><th>#</th><th>Stream</th><th>Record</th><th>Code</th><th class=\"num\">Attempts</th><th>Since</th>"
         "<th>Reason</th></tr></thead><tbody>\n";
    std::size_t shown = 0;
    for (const auto& d : dead) {
      if (shown++ == options.max_rows) break;
      h += fmt::format("<tr class=\"dead-letter\"><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td>"
                       "{}<td>{}</td><td class=\"wrap reason\">{}</td></tr>\n",
                       d.id, e(d.stream), e(d.source_key), d.vendor_code.empty() ? dash() : e(d.vendor_code),
                       num(d.attempts), relative_ms(d.created_at_ms, now), e(d.reason));
    }
    h += "</tbody></table>";
    if (dead.size() > options.max_rows)
      h += fmt::format("<p class=\"muted\">and {} more (<code>peoplesync status</code> lists all).</p>",
                       dead.size() - options.max_rows);
  }
  h += "</section>\n";

  // --- references Zoho has not synced yet
  if (!unresolved.empty()) {
    h += fmt::format("<section id=\"references\"><h2>References waiting for Zoho to sync ({})</h2><table><thead><tr>"
                     "<th>Service</th><th>Entity</th><th>Reference</th><th class=\"num\">Asked</th><th>Last asked</th></tr></thead><tbody>\n",
                     unresolved.size());
    std::size_t shown = 0;
    for (const auto& r : unresolved) {
      if (shown++ == options.max_rows) break;
      h += fmt::format("<tr><td>{}</td><td>{}</td><td><code>{}</code></td>{}<td>{}</td></tr>\n", e(r.service),
                       e(r.entity), e(r.reference_id), num(r.attempts), relative_ms(r.checked_at_ms, now));
    }
    h += "</tbody></table></section>\n";
  }

  // --- recent runs
  h += "<section id=\"runs\"><h2>Recent runs</h2>";
  if (runs.empty()) {
    h += "<p class=\"muted\">None yet.</p>";
  } else {
    h += "<table><thead><tr><th>#</th><th>Mode</th><th>Started</th><th>Finished</th><th>Exit</th><th>Summary</th>"
         "</tr></thead><tbody>\n";
    for (const auto& r : runs) {
      const std::string exit = r.exit_code < 0 ? dash()
                               : r.exit_code == 0
                                   ? "<span class=\"ok\">0</span>"
                                   : fmt::format("<span class=\"warn\">{}</span>", r.exit_code);
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"wrap\">{}</td></tr>\n",
                       r.id, e(r.mode), relative_ms(r.started_at_ms, now),
                       r.finished_at_ms ? relative_ms(r.finished_at_ms, now) : "<span class=\"muted\">running or interrupted</span>",
                       exit, e(r.summary));
    }
    h += "</tbody></table>";
  }
  h += "</section>\n</main>\n<footer>";
  if (options.refresh_seconds > 0)
    h += fmt::format("Reloads every {} s (next in <span id=\"refresh-in\">{} s</span>). ", options.refresh_seconds,
                     options.refresh_seconds);
  h += "Also: <a href=\"status.json\">status.json</a> &middot; <a href=\"metrics\">metrics</a> &middot; "
       "<a href=\"readyz\">readyz</a></footer>\n";
  h += fmt::format("<script>{}</script>\n</body></html>\n", kScript);
  return h;
}

}  // namespace peoplesync::status
