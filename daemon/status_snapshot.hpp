#pragma once
// One snapshot of what an operator sees: the state store joined with the
// config in force and, in the daemon, with the live view of the engine and
// the scheduler. Built once per request; `peoplesync status` (text and
// --json), /status, /status.json and the per-stream gauges are all rendered
// from it (status_text.cpp, status_json.cpp, status_html.cpp,
// status_gauges.cpp), so they cannot disagree on a lag or a lock.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "daemon/status_live.hpp"
#include "state/store.hpp"

namespace peoplesync::metrics {
class Registry;
}

namespace peoplesync::status {

struct StreamRow {
  std::string name;
  bool configured = false;  // in the config in force
  // In the status tables: configured, or the store has a checkpoint. (The
  // gauges also cover streams known only from outbox rows or the live view.)
  bool listed = false;
  std::optional<state::Checkpoint> checkpoint;
  state::Counts counts;
  // Seconds behind: from the live view's caught_up_at when that is later
  // than the watermark, else now - watermark; nullopt when neither is known.
  std::optional<std::int64_t> lag_seconds;
  bool lag_is_live = false;             // the live view set lag_seconds
  std::optional<std::int64_t> poll_seconds;  // the stream's poll interval (configured streams)
  std::optional<StreamLive> live;
};

struct EndpointRow {
  std::string name;
  std::optional<config::Limit> limit;          // configured (nullopt: not a known endpoint)
  std::optional<state::EndpointState> stored;  // the store's row
  std::optional<EndpointLive> live;            // the scheduler's lane
  int stored_calls_last_60s = 0;               // from the store's admission log
  std::int64_t locked_until_ms = 0;            // the store's lock and the live one: the later wins
};

enum class Detail {
  streams,  // per-stream rows and counts only (what the gauges need)
  full,     // plus outbox, dead letters, references, limiter, runs
};

struct Snapshot {
  SysTime now;
  bool has_store = false;  // false: the state file is not open yet (store parts empty)
  std::string state_path;
  int schema_version = 0;
  bool has_live = false;  // the daemon's view; `peoplesync status` has none
  bool ready = false;
  std::optional<SysTime> started_at;
  std::string summary;
  std::vector<std::string> preflight_failures;
  std::vector<StreamRow> streams;      // configured (in order), then the store's, then live-only
  std::vector<EndpointRow> endpoints;  // configured limits, then the store's, then the live view's
  std::vector<state::OutboxEntry> outbox;
  std::vector<state::DeadLetter> dead_letters;
  std::vector<state::RefCacheEntry> unresolved;
  std::vector<state::RunRecord> runs;  // newest first, at most kRecentRuns

  static constexpr int kRecentRuns = 10;
  std::int64_t now_ms() const { return to_unix_ms(now); }
};

// store or cfg may be null (the daemon before its state is open): those
// parts stay empty. live is null for `peoplesync status`.
Snapshot build_snapshot(const state::Store* store, const config::Config* cfg, SysTime now, const Live* live,
                        Detail detail = Detail::full);

// Sets the per-stream gauges (sync_lag_seconds, last_success_timestamp_seconds,
// outbox_pending, dead_letters) afresh from the snapshot: streams no longer
// known disappear.
void set_gauges(metrics::Registry& registry, const Snapshot& snapshot);

// Lag = now - watermark, when the watermark is a parseable time.
std::optional<std::int64_t> watermark_lag_seconds(const std::string& watermark, SysTime now);

}  // namespace peoplesync::status
