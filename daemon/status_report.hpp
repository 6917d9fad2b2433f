#pragma once
// What `peoplesync status` prints, and what the running daemon serves as
// /status (HTML) and /status.json: a snapshot of the state store, joined with
// the configured streams and, in the daemon, with what the engine and the
// limiter know live (StreamLive, EndpointLive).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "state/store.hpp"

namespace peoplesync::status {

// What the running engine knows of one stream beyond the store. Counts are
// since the process started.
struct StreamLive {
  std::string stream;
  bool running = false;  // a pass is in progress now
  std::int64_t records_read = 0;
  std::int64_t records_written = 0;
  std::int64_t records_unchanged = 0;  // skipped: same hash as the last confirmed write
  std::int64_t records_dead_lettered = 0;
  std::optional<SysTime> last_run_started;
  std::optional<SysTime> last_run_finished;
  std::string last_run_outcome;  // one line, e.g. "ok", "2 dead letters", "locked: people/addupdatetimelogs"
  std::optional<SysTime> last_success;  // end of the last pass that left nothing to do
  std::optional<SysTime> next_run;      // when the next poll is due
  // The engine's own lag, when it knows better than "now - watermark" (a
  // quiet source keeps an old watermark although nothing is behind).
  std::optional<std::chrono::seconds> lag;
};

// The limiter's live view of one endpoint: budget and lock countdown.
struct EndpointLive {
  std::string endpoint;  // as in config limits: "crm", "people/addupdatetimelogs", ...
  int budget_per_minute = 0;       // the ceiling the bucket is shaped to (0 = none)
  int calls_last_minute = 0;       // admitted in the trailing 60 s
  double tokens_available = 0;     // calls that may start now
  std::optional<Millis> next_token_in;  // when none is available: until the next one
  std::optional<SysTime> locked_until;  // paused by a lock reply until then
  int waiting = 0;                 // calls queued for admission
  int in_flight = 0;
  std::int64_t daily_used = 0;     // CRM credits / People calls in the rolling 24 h
  std::int64_t daily_budget = 0;   // 0 = untracked
};

struct Live {
  bool ready = false;                 // the health server sets this from its readiness provider
  std::optional<SysTime> started_at;  // process start
  std::string summary;                // the one-line summary (the STATUS= text)
  // The preflight's failed checks, one line each with its fix; while there
  // are any the daemon writes nothing and /readyz answers 503.
  std::vector<std::string> preflight_failures;
  std::vector<StreamLive> streams;
  std::vector<EndpointLive> endpoints;

  const StreamLive* stream(std::string_view name) const;
  const EndpointLive* endpoint(std::string_view name) const;
};

std::string render_text(const state::Store& store, const config::Config& cfg, SysTime now);
// The CLI's `status --json` (no live data).
std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now);
// /status.json: the same document plus "ready", "started_at", "summary", a
// "live" object per stream and per limiter entry (null where unknown) and the
// lag/lock fields merged from the live data.
std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now, const Live& live);

struct HtmlOptions {
  int refresh_seconds = 5;      // the page reloads itself this often (0 = never)
  std::size_t max_rows = 200;   // per table (outbox, dead letters); the rest is counted
};
// /status: one self-contained HTML page (no external assets): streams,
// watermarks, lag, last run, outbox, dead letters with reasons, per-endpoint
// budget and lock countdown, recent runs. Every value is HTML-escaped.
std::string render_html(const state::Store& store, const config::Config& cfg, SysTime now, const Live& live,
                        const HtmlOptions& options = {});

// Lag = now - watermark, when the watermark is a parseable time.
std::optional<std::int64_t> watermark_lag_seconds(const std::string& watermark, SysTime now);

std::string html_escape(std::string_view s);

}  // namespace peoplesync::status
