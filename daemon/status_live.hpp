#pragma once
// What the running daemon knows beyond the state store: per stream, the
// passes of this process (StreamLive); per endpoint, the scheduler's lane
// (EndpointLive). Kept by runtime::LiveTracker, read by the status snapshot.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"

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
  // Start of the last pass that completed: every change made before it has
  // been read. The lag is measured from here when it is later than the
  // watermark (a quiet source keeps an old watermark although nothing is
  // behind).
  std::optional<SysTime> caught_up_at;
};

// The scheduler's live view of one endpoint (sync::EndpointSnapshot as the
// page shows it): budget and lock countdown.
struct EndpointLive {
  std::string endpoint;  // as in config limits: "crm", "people/addupdatetimelogs", ...
  int budget_per_minute = 0;       // the ceiling the lane is shaped to (0 = none)
  int calls_last_minute = 0;       // admitted in the trailing 60 s
  double tokens_available = 0;     // calls that may start now; -1 = not limited
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

}  // namespace peoplesync::status
