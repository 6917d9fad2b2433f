// /status: the snapshot as one self-contained HTML page. Every value from
// the store, the config or a vendor is escaped.
#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "common/timefmt.hpp"
#include "daemon/status_format.hpp"
#include "daemon/status_html_assets.hpp"
#include "daemon/status_report.hpp"

namespace peoplesync::status {
namespace {

std::string e(std::string_view s) { return html_escape(s); }

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

std::string more_rows(std::size_t total, std::size_t max_rows) {
  if (total <= max_rows) return "";
  return fmt::format("<p class=\"muted\">and {} more (<code>peoplesync status</code> lists all).</p>",
                     total - max_rows);
}

void head_html(const Snapshot& s, const HtmlOptions& o, std::string& h) {
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">";
  if (o.refresh_seconds > 0) h += fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">", o.refresh_seconds);
  h += fmt::format("<title>peoplesync {}</title><style>{}</style></head>\n",
                   s.ready ? "status" : "status (not ready)", kStyle);
  h += fmt::format("<body data-refresh=\"{}\">\n<header><h1>peoplesync</h1>", o.refresh_seconds);
  h += s.ready ? "<span class=\"badge ok\" id=\"readiness\">ready</span>"
               : "<span class=\"badge bad\" id=\"readiness\">not ready</span>";
  h += fmt::format("<span class=\"muted\">version {}</span>", e(PEOPLESYNC_VERSION));
  h += fmt::format("<span class=\"muted\">state <code>{}</code> (schema v{})</span>", e(s.state_path),
                   s.schema_version);
  h += fmt::format("<span class=\"muted\">now {}</span>", format_utc_iso_seconds(s.now));
  if (s.started_at) h += fmt::format("<span class=\"muted\">up since {}</span>", relative(s.started_at, s.now));
  h += "</header>\n<main>\n";
  if (!s.summary.empty()) h += fmt::format("<section id=\"summary\">{}</section>\n", e(s.summary));
  if (!s.preflight_failures.empty()) {
    h += "<section id=\"preflight\"><h2>Preflight failed: nothing is written</h2><ul>";
    for (const auto& f : s.preflight_failures) h += fmt::format("<li class=\"bad\">{}</li>", e(f));
    h += "</ul></section>\n";
  }
}

std::string lag_cell(const StreamRow& r) {
  if (!r.lag_seconds) return "<td>" + dash() + "</td>";
  std::string cls;
  if (r.lag_is_live && r.poll_seconds) {
    if (*r.lag_seconds > 3 * *r.poll_seconds) cls = " class=\"bad\"";
    else if (*r.lag_seconds > *r.poll_seconds) cls = " class=\"warn\"";
  }
  return fmt::format("<td{}>{}</td>", cls, human(*r.lag_seconds));
}

void stream_row_html(const StreamRow& r, SysTime now, std::string& h) {
  const auto& sl = r.live;
  const auto& cp = r.checkpoint;
  h += fmt::format("<tr data-stream=\"{}\"><td><b>{}</b>{}{}</td>", e(r.name), e(r.name),
                   r.configured ? "" : " <span class=\"warn\">(not in config)</span>",
                   sl && sl->running ? " <span class=\"ok\">running</span>" : "");
  if (cp) {
    h += fmt::format("<td><code>{}</code>{}</td>", e(cp->watermark),
                     cp->ids_at_watermark.empty()
                         ? std::string()
                         : fmt::format(" <span class=\"muted\">+{} at mark</span>", cp->ids_at_watermark.size()));
  } else {
    h += "<td><span class=\"muted\">not started</span></td>";
  }
  h += lag_cell(r);
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
  h += num(r.counts.outbox);
  h += r.counts.dead_letters > 0 ? fmt::format("<td class=\"num bad\">{}</td>", r.counts.dead_letters) : num(0);
  h += "<td>" + (sl ? relative(sl->next_run, now) : dash()) + "</td></tr>\n";
}

void streams_html(const Snapshot& s, std::string& h) {
  h += "<section id=\"streams\"><h2>Streams</h2><table><thead><tr><th>Stream</th><th>Watermark</th><th>Lag</th>"
       "<th>Last run</th><th>Outcome</th><th class=\"num\">Read</th><th class=\"num\">Written</th>"
       "<th class=\"num\">Unchanged</th><th class=\"num\">Dead-lettered</th><th class=\"num\">Outbox</th>"
       "<th class=\"num\">Dead letters</th><th>Next poll</th></tr></thead><tbody>\n";
  for (const auto& r : s.streams)
    if (r.listed) stream_row_html(r, s.now, h);
  h += "</tbody></table></section>\n";
}

// Budget, calls and daily figures: the scheduler's when it runs, else the
// configured ceiling and the store's counts.
void endpoint_usage_html(const EndpointRow& r, std::string& h) {
  const auto& el = r.live;
  const int budget = el ? el->budget_per_minute : r.limit ? r.limit->per_minute : 0;
  h += budget > 0 ? num(budget) : "<td class=\"num\">" + dash() + "</td>";
  const int used = el ? el->calls_last_minute : r.stored_calls_last_60s;
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
    if (el->tokens_available < 0) {
      h += "<td><span class=\"muted\">no limit</span></td>";
    } else if (el->tokens_available >= 1 || !el->next_token_in) {
      h += fmt::format("<td>{}</td>", static_cast<std::int64_t>(el->tokens_available));
    } else {
      const auto ms = el->next_token_in->count();
      h += fmt::format("<td class=\"warn\">next in {:.1f} s</td>", static_cast<double>(ms) / 1000.0);
    }
    h += num(el->waiting) + num(el->in_flight);
  }
  const std::int64_t daily_used = el ? el->daily_used : r.stored ? r.stored->daily_used : 0;
  std::int64_t daily_budget = 0;
  if (el) daily_budget = el->daily_budget;
  else if (r.limit) daily_budget = r.limit->daily_credits ? r.limit->daily_credits : r.limit->daily_calls;
  h += daily_budget > 0 ? fmt::format("<td class=\"num\">{} / {}</td>", daily_used, daily_budget) : num(daily_used);
}

void endpoint_row_html(const EndpointRow& r, SysTime now, std::string& h) {
  const std::int64_t now_ms = to_unix_ms(now);
  const bool locked = r.locked_until_ms > now_ms;
  h += fmt::format("<tr data-endpoint=\"{}\"{}><td><code>{}</code>{}</td>", e(r.name), locked ? " class=\"locked\"" : "",
                   e(r.name), r.limit ? "" : " <span class=\"warn\">(unknown)</span>");
  endpoint_usage_html(r, h);
  if (locked) {
    const std::int64_t left = (r.locked_until_ms - now_ms + 999) / 1000;
    h += fmt::format("<td class=\"bad\">locked, <span data-countdown=\"{}\">{}</span> left "
                     "<span class=\"muted\">(until {})</span></td>",
                     left, span_text(left), format_utc_iso_seconds(from_unix_ms(r.locked_until_ms)));
  } else {
    h += "<td class=\"ok\">open</td>";
  }
  h += num(r.stored ? r.stored->lock_count : 0) + "</tr>\n";
}

void endpoints_html(const Snapshot& s, std::string& h) {
  h += "<section id=\"endpoints\"><h2>API budget and locks</h2><table><thead><tr><th>Endpoint</th>"
       "<th class=\"num\">Budget/min</th><th class=\"num\">Calls, last minute</th><th>Available now</th>"
       "<th class=\"num\">Queued</th><th class=\"num\">In flight</th><th class=\"num\">Daily used</th><th>Lock</th>"
       "<th class=\"num\">Locks seen</th></tr></thead><tbody>\n";
  for (const auto& r : s.endpoints) endpoint_row_html(r, s.now, h);
  h += "</tbody></table></section>\n";
}

void outbox_html(const Snapshot& s, const HtmlOptions& o, std::string& h) {
  std::map<std::string, std::int64_t> by_state;
  for (const auto& x : s.outbox) by_state[std::string(state_name(x.state))] += 1;
  h += fmt::format("<section id=\"outbox\"><h2>Outbox ({} intents)</h2>", s.outbox.size());
  if (s.outbox.empty()) {
    h += "<p class=\"muted\">Empty: every write intent has been confirmed.</p></section>\n";
    return;
  }
  h += "<p>";
  for (const auto& [st, n] : by_state) h += fmt::format("{} {} &nbsp; ", n, e(st));
  h += "</p><table><thead><tr><th>#</th><th>Stream</th><th>Op</th><th>Record</th><th>State</th><th class=\"num\">Attempts</th>"
       "<th>Since</th></tr></thead><tbody>\n";
  std::size_t shown = 0;
  for (const auto& x : s.outbox) {
    if (shown++ == o.max_rows) break;
    h += fmt::format("<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td{}>{}</td>{}<td>{}</td></tr>\n",
                     x.id, e(x.stream), e(x.op), e(x.source_key),
                     x.state == state::OutboxState::in_doubt ? " class=\"warn\"" : "", state_name(x.state),
                     num(x.attempts), relative_ms(x.created_at_ms, s.now));
  }
  h += "</tbody></table>" + more_rows(s.outbox.size(), o.max_rows) + "</section>\n";
}

void dead_letters_html(const Snapshot& s, const HtmlOptions& o, std::string& h) {
  h += fmt::format("<section id=\"dead-letters\"><h2>Dead letters ({})</h2>", s.dead_letters.size());
  if (s.dead_letters.empty()) {
    h += "<p class=\"muted\">None.</p></section>\n";
    return;
  }
  h += "<p class=\"muted\">Records that cannot be written until someone acts. After fixing the cause, "
       "<code>peoplesync retry [--stream NAME]</code> puts them back in the queue.</p>"
       "<table><thead><tr><th>#</th><th>Stream</th><th>Record</th><th>Code</th><th class=\"num\">Attempts</th><th>Since</th>"
       "<th>Reason</th></tr></thead><tbody>\n";
  std::size_t shown = 0;
  for (const auto& d : s.dead_letters) {
    if (shown++ == o.max_rows) break;
    h += fmt::format("<tr class=\"dead-letter\"><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td>"
                     "{}<td>{}</td><td class=\"wrap reason\">{}</td></tr>\n",
                     d.id, e(d.stream), e(d.source_key), d.vendor_code.empty() ? dash() : e(d.vendor_code),
                     num(d.attempts), relative_ms(d.created_at_ms, s.now), e(d.reason));
  }
  h += "</tbody></table>" + more_rows(s.dead_letters.size(), o.max_rows) + "</section>\n";
}

// Only when some reference waits for Zoho to sync it.
void references_html(const Snapshot& s, const HtmlOptions& o, std::string& h) {
  if (s.unresolved.empty()) return;
  h += fmt::format("<section id=\"references\"><h2>References waiting for Zoho to sync ({})</h2><table><thead><tr>"
                   "<th>Service</th><th>Entity</th><th>Reference</th><th class=\"num\">Asked</th><th>Last asked</th></tr></thead><tbody>\n",
                   s.unresolved.size());
  std::size_t shown = 0;
  for (const auto& r : s.unresolved) {
    if (shown++ == o.max_rows) break;
    h += fmt::format("<tr><td>{}</td><td>{}</td><td><code>{}</code></td>{}<td>{}</td></tr>\n", e(r.service),
                     e(r.entity), e(r.reference_id), num(r.attempts), relative_ms(r.checked_at_ms, s.now));
  }
  h += "</tbody></table></section>\n";
}

void runs_html(const Snapshot& s, std::string& h) {
  h += "<section id=\"runs\"><h2>Recent runs</h2>";
  if (s.runs.empty()) {
    h += "<p class=\"muted\">None yet.</p></section>\n";
    return;
  }
  h += "<table><thead><tr><th>#</th><th>Mode</th><th>Started</th><th>Finished</th><th>Exit</th><th>Summary</th>"
       "</tr></thead><tbody>\n";
  for (const auto& r : s.runs) {
    const std::string exit = r.exit_code < 0 ? dash()
                             : r.exit_code == 0
                                 ? "<span class=\"ok\">0</span>"
                                 : fmt::format("<span class=\"warn\">{}</span>", r.exit_code);
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"wrap\">{}</td></tr>\n",
                     r.id, e(r.mode), relative_ms(r.started_at_ms, s.now),
                     r.finished_at_ms ? relative_ms(r.finished_at_ms, s.now) : "<span class=\"muted\">running or interrupted</span>",
                     exit, e(r.summary));
  }
  h += "</tbody></table></section>\n";
}

void footer_html(const HtmlOptions& o, std::string& h) {
  h += "</main>\n<footer>";
  if (o.refresh_seconds > 0)
    h += fmt::format("Reloads every {} s (next in <span id=\"refresh-in\">{} s</span>). ", o.refresh_seconds,
                     o.refresh_seconds);
  h += "Also: <a href=\"status.json\">status.json</a> &middot; <a href=\"metrics\">metrics</a> &middot; "
       "<a href=\"readyz\">readyz</a></footer>\n";
  h += fmt::format("<script>{}</script>\n</body></html>\n", kScript);
}

}  // namespace

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

std::string render_html(const Snapshot& s, const HtmlOptions& options) {
  std::string h;
  h.reserve(16384 + 256 * (s.outbox.size() + s.dead_letters.size()));
  head_html(s, options, h);
  streams_html(s, h);
  endpoints_html(s, h);
  outbox_html(s, options, h);
  dead_letters_html(s, options, h);
  references_html(s, options, h);
  runs_html(s, h);
  footer_html(options, h);
  return h;
}

std::string render_html(const state::Store& store, const config::Config& cfg, SysTime now, const Live& live,
                        const HtmlOptions& options) {
  return render_html(build_snapshot(&store, &cfg, now, &live), options);
}

}  // namespace peoplesync::status
