#pragma once
// The daemon's live view (status::Live) and the counters in /metrics that
// come from the engine and the scheduler, kept up to date from three feeds:
// the engine's progress during a pass, the report at the end of each pass,
// and the scheduler's lanes (asked for when /status or /metrics is read).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "daemon/status_live.hpp"
#include "sync/engine.hpp"
#include "sync/scheduler.hpp"

namespace peoplesync::metrics {
class Registry;
}

namespace peoplesync::runtime {

class LiveTracker {
 public:
  explicit LiveTracker(metrics::Registry& registry);

  // Progress of a stream during a pass (cumulative figures of that pass):
  // the record counters grow by what is new since the last call.
  void progress(const sync::StreamReport& r);
  void pass_started(SysTime at);
  // A pass ended at `finished`: final counts, outcome, last success, and the
  // lag's new reference (the pass's start) for each stream that completed.
  // next_run: when the daemon polls again (nullopt for a one-shot run).
  void pass_finished(const sync::RunReport& report, SysTime finished, std::optional<SysTime> next_run);
  // The scheduler's lanes now: the endpoint view, with the wait and lock
  // counters grown by what is new since the last call (a lane whose figures
  // went down belongs to a scheduler rebuilt by a reload: counted from 0).
  void endpoints(const std::vector<sync::EndpointSnapshot>& lanes);

  status::Live& live() { return live_; }
  const status::Live& live() const { return live_; }

 private:
  status::StreamLive& stream(const std::string& name);
  metrics::Registry& registry_;
  status::Live live_;
  std::optional<SysTime> pass_started_;
  std::map<std::string, sync::StreamReport> last_seen_;  // for counter deltas within a pass
  // Scheduler figures already counted (a reload builds a new scheduler,
  // whose figures start again from 0).
  std::map<std::string, double> waits_reported_;
  std::map<std::string, std::int64_t> locks_reported_;
};

// One scheduler lane as the status page shows it: the budget, the calls
// that may start now and the wait for the next are the scheduler's own.
status::EndpointLive endpoint_live(const sync::EndpointSnapshot& lane);

}  // namespace peoplesync::runtime
