#pragma once
// What `peoplesync status` prints, and what the running daemon serves as
// /status (HTML) and /status.json: renderings of one status::Snapshot
// (daemon/status_snapshot.hpp) of the state store, joined with the
// configured streams and, in the daemon, with what the engine and the
// scheduler know live (StreamLive, EndpointLive).
#include <cstddef>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "daemon/status_live.hpp"
#include "daemon/status_snapshot.hpp"
#include "state/store.hpp"

namespace peoplesync::status {

// `peoplesync status`: plain text tables.
std::string render_text(const Snapshot& snapshot);
// The CLI's `status --json`, or with a live snapshot /status.json: the same
// document plus "ready", "started_at", "summary", a "live" object per stream
// and per limiter entry (null where unknown) and the lag/lock fields merged
// from the live data.
std::string render_json(const Snapshot& snapshot);

struct HtmlOptions {
  int refresh_seconds = 5;      // the page reloads itself this often (0 = never)
  std::size_t max_rows = 200;   // per table (outbox, dead letters); the rest is counted
};
// /status: one self-contained HTML page (no external assets): streams,
// watermarks, lag, last run, outbox, dead letters with reasons, per-endpoint
// budget and lock countdown, recent runs. Every value is HTML-escaped.
std::string render_html(const Snapshot& snapshot, const HtmlOptions& options = {});

// The same, building the snapshot first.
std::string render_text(const state::Store& store, const config::Config& cfg, SysTime now);
std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now);
std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now, const Live& live);
std::string render_html(const state::Store& store, const config::Config& cfg, SysTime now, const Live& live,
                        const HtmlOptions& options = {});

std::string html_escape(std::string_view s);

}  // namespace peoplesync::status
