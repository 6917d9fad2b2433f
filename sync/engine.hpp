#pragma once
// The sync engine: runs the configured streams (crm -> people.job,
// crm -> people.timelog, people jobs -> crm.update) with the semantics of
// PRODUCT.md "Sync semantics":
//  - every write intent is stored in the outbox before its request is sent;
//    the id map, the checkpoint and the outbox change in one transaction
//    after People confirmed;
//  - on start, intents left "sent" by a crash are reconciled by reading
//    People back (an add found there gets its id-map row; otherwise the
//    record is simply re-read, since the checkpoint never passed it);
//  - a record that cannot be written yet (a reference Zoho has not synced, a
//    lookup the other stream has not written) is parked in the outbox with
//    its source record and retried on later passes, bounded; a record that
//    can never be written is dead-lettered with the reason and vendor code;
//  - the checkpoint passes only records that are synced, parked or
//    dead-lettered, and ties on Modified_Time are kept by the CRM walker.
// Streams run one after the other in dependency order on the caller's
// executor, so a stream that looks another up finds what that one wrote in
// the same pass. Time comes from the injected Clock; waits for limits are
// the scheduler's (connectors::CallGate), not the engine's.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"

namespace peoplesync::state {
class Store;
}
namespace peoplesync::connectors {
class CrmClient;
class PeopleClient;
}  // namespace peoplesync::connectors

namespace peoplesync::sync {

struct EngineOptions {
  bool dry_run = false;                  // read and plan; write nothing to Zoho or the store
  std::optional<std::string> since;      // --since: read CRM from this time for this run (ISO-8601)
  std::vector<std::string> streams;      // --stream: only these (empty = all)
  int max_park_attempts = 20;            // passes a parked record is retried before it is dead-lettered
  std::size_t plan_items_shown = 5;      // dry run: first items printed per kind
};

// What one pass did to one stream.
struct StreamReport {
  std::string stream;
  std::int64_t read = 0;          // source records read (CRM records, People jobs)
  std::int64_t filtered = 0;      // not passing `where`
  std::int64_t unchanged = 0;     // mapped fields hash as last confirmed: no write
  std::int64_t created = 0;
  std::int64_t updated = 0;
  std::int64_t status_changes = 0;
  std::int64_t deleted = 0;       // delete / complete on CRM deletion
  std::int64_t dead_lettered = 0;
  std::int64_t parked = 0;        // waiting for a reference or lookup (outbox)
  std::int64_t reconciled = 0;    // in-doubt intents found in People after a crash
  std::int64_t api_calls = 0;     // calls this stream made (all endpoints)
  bool not_modified = false;      // the CRM read answered 304
  bool completed = false;         // the pass finished (nothing left to do now)
  std::string error;              // why it stopped early (temporary or authorisation)
  std::vector<std::string> plan;  // dry run: what would be done, first items per kind
};

enum class RunOutcome {
  ok,             // everything done
  dead_letters,   // done, but some records were dead-lettered in this pass
  temporary,      // could not finish now (network, locked endpoint, server errors): safe to re-run
  auth,           // authorisation refused: the operator must act
};

struct RunReport {
  std::vector<StreamReport> streams;
  RunOutcome outcome = RunOutcome::ok;
};

// Live progress, for the TTY display and metrics (called on the engine's executor).
using ProgressFn = std::function<void(const StreamReport&)>;

class Engine {
 public:
  Engine(const config::Config& config, state::Store& store, connectors::CrmClient& crm,
         connectors::PeopleClient& people, const Clock& clock, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void on_progress(ProgressFn fn);
  // Asks a running pass to stop at the next safe point (between batches):
  // what was confirmed is committed, the rest stays for the next run.
  void request_stop();

  // One pass over every selected stream until nothing is left to do now.
  boost::asio::awaitable<RunReport> run_once();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string_view to_string(RunOutcome o);

}  // namespace peoplesync::sync
