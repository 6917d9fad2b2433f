// `peoplesync status`: the snapshot as plain text tables.
#include <fmt/core.h>

#include "common/timefmt.hpp"
#include "daemon/status_format.hpp"
#include "daemon/status_report.hpp"

namespace peoplesync::status {
namespace {

constexpr int kTextRuns = 5;

void streams_text(const Snapshot& s, std::string& out) {
  out += "\nStreams\n";
  out += fmt::format("  {:<16} {:<27} {:>6} {:>8} {:>8} {:>7} {:>6}  {}\n", "STREAM", "WATERMARK", "LAG", "AT-MARK",
                     "ID-MAP", "OUTBOX", "DEAD", "UPDATED");
  for (const auto& r : s.streams) {
    if (!r.listed) continue;
    const auto& cp = r.checkpoint;
    const std::string lag = r.lag_seconds ? human(*r.lag_seconds) : "-";
    const std::string label = r.configured ? r.name : r.name + " (not in config)";
    out += fmt::format("  {:<16} {:<27} {:>6} {:>8} {:>8} {:>7} {:>6}  {}\n", label,
                       cp ? cp->watermark : "(not started)", lag, cp ? cp->ids_at_watermark.size() : 0,
                       r.counts.id_map, r.counts.outbox, r.counts.dead_letters, cp ? when(cp->updated_at_ms) : "-");
  }
}

void queues_text(const Snapshot& s, std::string& out) {
  out += fmt::format("\nOutbox ({} intents)\n", s.outbox.size());
  if (s.outbox.empty()) out += "  (empty)\n";
  for (const auto& e : s.outbox) {
    out += fmt::format("  #{:<6} {:<16} {:<14} {:<22} {:<9} attempts {}  since {}\n", e.id, e.stream, e.op,
                       e.source_key, state_name(e.state), e.attempts, when(e.created_at_ms));
  }

  out += fmt::format("\nDead letters ({})\n", s.dead_letters.size());
  if (s.dead_letters.empty()) out += "  (none)\n";
  for (const auto& d : s.dead_letters) {
    out += fmt::format("  #{:<6} {:<16} {:<22} code {:<10} attempts {}  {}\n", d.id, d.stream, d.source_key,
                       d.vendor_code.empty() ? "-" : d.vendor_code, d.attempts, d.reason);
  }

  out += fmt::format("\nReferences waiting for Zoho to sync ({})\n", s.unresolved.size());
  if (s.unresolved.empty()) out += "  (none)\n";
  for (const auto& r : s.unresolved) {
    out += fmt::format("  {} {} {}  asked {} times, last {}\n", r.service, r.entity, r.reference_id, r.attempts,
                       when(r.checked_at_ms));
  }
}

// Configured endpoints, then those only the store knows ("(unknown)").
void limiter_text(const Snapshot& s, std::string& out) {
  out += "\nLimiter\n";
  out += fmt::format("  {:<36} {:>9} {:>10} {:>12}  {:<22} {:>6}\n", "ENDPOINT", "LIMIT/MIN", "CALLS(60s)",
                     "DAILY USED", "LOCKED UNTIL", "LOCKS");
  const std::int64_t now_ms = s.now_ms();
  for (const auto& e : s.endpoints) {
    if (!e.limit) continue;
    const state::EndpointState* st = e.stored ? &*e.stored : nullptr;
    std::string locked = "-";
    if (st && st->locked_until_ms > now_ms)
      locked = when(st->locked_until_ms) + " (" + human((st->locked_until_ms - now_ms + 999) / 1000) + ")";
    out += fmt::format("  {:<36} {:>9} {:>10} {:>12}  {:<22} {:>6}\n", e.name,
                       e.limit->per_minute ? std::to_string(e.limit->per_minute) : "-", e.stored_calls_last_60s,
                       st ? st->daily_used : 0, locked, st ? st->lock_count : 0);
  }
  for (const auto& e : s.endpoints) {
    if (e.limit || !e.stored) continue;
    out += fmt::format("  {:<36} {:>9} {:>10} {:>12}  {:<22} {:>6}\n", e.name + " (unknown)", "-",
                       e.stored_calls_last_60s, e.stored->daily_used, when(e.stored->locked_until_ms),
                       e.stored->lock_count);
  }
}

void runs_text(const Snapshot& s, std::string& out) {
  out += "\nRecent runs\n";
  if (s.runs.empty()) out += "  (none)\n";
  int shown = 0;
  for (const auto& r : s.runs) {
    if (shown++ == kTextRuns) break;
    out += fmt::format("  #{:<5} {:<9} started {}  finished {}  exit {}  {}\n", r.id, r.mode, when(r.started_at_ms),
                       r.finished_at_ms ? when(r.finished_at_ms) : "(running or interrupted)",
                       r.exit_code >= 0 ? std::to_string(r.exit_code) : "-", r.summary);
  }
}

}  // namespace

std::string render_text(const Snapshot& s) {
  std::string out = fmt::format("peoplesync status: state {} (schema v{}), now {}\n", s.state_path, s.schema_version,
                                format_utc_iso_seconds(s.now));
  streams_text(s, out);
  queues_text(s, out);
  limiter_text(s, out);
  runs_text(s, out);
  return out;
}

std::string render_text(const state::Store& store, const config::Config& cfg, SysTime now) {
  return render_text(build_snapshot(&store, &cfg, now, nullptr));
}

}  // namespace peoplesync::status
