#pragma once
// What the parts of the engine share during one pass: the config, the store,
// the clock and the options; the pass's outcome so far; and the helpers every
// part uses (a call sent again through locks, an error noted on its stream,
// a dry-run plan line, a commit). Also the shapes a batch of records takes on
// its way from a source to a target.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/value.hpp"
#include "config/config.hpp"
#include "connectors/result.hpp"
#include "sync/engine.hpp"
#include "sync/mapper.hpp"

namespace peoplesync::state {
class Store;
struct Commit;
}  // namespace peoplesync::state

namespace peoplesync::sync {

// One source record on its way through a batch.
struct Work {
  std::string key;                         // source key
  Value record;                            // the source record
  std::optional<std::int64_t> parked_row;  // the outbox row it came from, if re-processed
  int attempts = 0;                        // parked attempts so far
  std::string target_id;  // where the record is already known to go (write-back: the CRM record)
  std::string day;        // window sources: the record's day (yyyy-MM-dd), kept in the id map
};

// A record and what its stream's mapping made of it.
using Ready = std::pair<Work, Mapped>;

// What writing a batch came to.
struct Step {
  bool ok = true;         // false: stop the stream (error noted)
  bool in_doubt = false;  // a write may have landed: its intent stays; reconcile, then write the batch again
  std::string doubt;      // the last in-doubt error (names its endpoint)
  std::set<std::string> doubtful;  // source keys whose writes are in doubt
};
inline Step stopped() { return Step{false, false, "", {}}; }

// Dry run: plan lines printed so far, per kind.
using Shown = std::map<std::string, std::size_t>;

class Pass {
 public:
  Pass(const config::Config& config, state::Store& store, const Clock& clock, const EngineOptions& options);

  const config::Config& cfg;
  state::Store& store;
  const Clock& clock;
  const EngineOptions& opt;
  TemplateContext ctx;
  ProgressFn progress;
  bool stop_requested = false;
  log::Logger log{"sync"};

  // Per pass.
  RunOutcome worst = RunOutcome::ok;
  std::map<std::string, std::set<std::string>> planned;  // dry run: stream -> keys it would create
  // (stream, source key) of adds this pass found in the target by reading
  // back (reconcile): when the record is processed again it is "created",
  // not "unchanged" (its id-map row is already there).
  std::set<std::pair<std::string, std::string>> added_by_read_back;

  // Forgets what the last pass learnt.
  void begin();

  void note_error(StreamReport& rep, const connectors::CallError& e);
  // Dry run: one line of the plan, the first few per kind.
  void plan(StreamReport& rep, Shown& shown, const std::string& kind, const std::string& line) const;
  // Stores what a batch confirmed (nothing in a dry run) and empties `c`.
  void commit(state::Commit& c);
  void report(const StreamReport& rep) const {
    if (progress) progress(rep);
  }

  // Calls f() (an awaitable of Expected<T>), sending again while the reply
  // is a lock or a 429: the scheduler knows the limit by then and makes the
  // next attempt wait for its end, so a lock never fails a record.
  template <class F>
  auto limited(StreamReport& rep, F f) -> decltype(f()) {
    for (int i = 0;; ++i) {
      auto r = co_await f();
      ++rep.api_calls;
      auto* e = std::get_if<connectors::CallError>(&r);
      if (e && waits_out(*e) && i + 1 < kLimitRetries) {
        log.with("stream", rep.stream).warn("{}; waiting for the limit to pass", e->message);
        continue;
      }
      co_return r;
    }
  }

 private:
  static constexpr int kLimitRetries = 6;  // lock / 429 replies waited out per call before the stream stops
  static bool waits_out(const connectors::CallError& e);
};

}  // namespace peoplesync::sync
