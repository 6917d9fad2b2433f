#pragma once
// The state store: one SQLite file holding checkpoints, the id map, the
// outbox, dead letters, the reference-resolution cache, limiter and lock
// state per endpoint, and run history. Sync code talks to this interface and
// never sees SQL; state/ is the only place with SQL.
//
// Durability: WAL, synchronous=FULL, busy_timeout; every write is one
// BEGIN IMMEDIATE transaction. commit() applies checkpoint + id map + outbox
// + dead-letter changes atomically: all of them or none.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace peoplesync::state {

// Any failure of the store (open, migrate, read, write). The message names the
// file and what failed (disk full, I/O error, locked by another process,
// read-only, damaged). A failed write is never half applied: the file holds
// it entirely or not at all. "Not at all" is the rule; "entirely" happens
// only when the failure came after the commit record reached the file (an
// fsync or a later step failing), so a caller treats a failed write as
// "maybe applied", as the outbox already does (tests/state/storage_faults_test).
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a stream has read up to: the source's watermark (as the vendor wrote
// it, e.g. CRM Modified_Time "2024-05-01T10:00:00+05:30") plus the ids already
// processed at exactly that watermark, so equal timestamps are neither skipped
// nor repeated.
struct Checkpoint {
  std::string stream;
  std::string watermark;
  std::vector<std::string> ids_at_watermark;
  std::int64_t updated_at_ms = 0;
};

// Source key (e.g. CRM record id) -> People id, with the hash of the mapped
// fields of the last write People confirmed.
struct IdMapEntry {
  std::string stream;
  std::string source_key;
  std::string target_id;
  std::string hash;
  std::int64_t updated_at_ms = 0;
  std::string source_day = {};  // window sources: the record's day (yyyy-MM-dd); empty otherwise
};

enum class OutboxState {
  pending,   // stored, not yet sent
  sent,      // request written to the wire, reply not yet recorded
  in_doubt,  // connection died after sending: must be reconciled by reading back
};

struct OutboxEntry {
  std::int64_t id = 0;
  std::string stream;
  std::string source_key;
  std::string op;       // one of state/outbox_ops.hpp
  std::string payload;  // the mapped fields, as the sync layer serialised them
  OutboxState state = OutboxState::pending;
  int attempts = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct DeadLetter {
  std::int64_t id = 0;  // assigned by the store
  std::string stream;
  std::string source_key;
  std::string reason;       // human-readable
  std::string vendor_code;  // e.g. "9025", "INVALID_DATA"; empty if none
  std::string payload;
  int attempts = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// One reference-resolution answer. An empty people_id means "asked, not yet
// synced by Zoho" (to be asked again later, with attempts counting up).
struct RefCacheEntry {
  std::string service;  // "Zoho Projects", "Zoho CRM", ...
  std::string entity;   // "project", "client", "job", "timelog"
  std::string reference_id;
  std::string people_id;
  int attempts = 0;
  std::int64_t checked_at_ms = 0;
};

// Usage in one time bucket of the rolling 24 h (calls or credits).
struct UsageBucket {
  std::int64_t start_ms = 0;
  std::int64_t amount = 0;
  bool operator==(const UsageBucket&) const = default;
};

// Limiter and lock state of one endpoint, persisted so a restart cannot
// exceed a threshold the previous process had used up.
struct EndpointState {
  std::string endpoint;                     // e.g. "people/addupdatetimelogs", "crm"
  std::vector<std::int64_t> recent_calls_ms;  // admission times in the current window(s)
  std::int64_t locked_until_ms = 0;         // 0 = not locked
  std::int64_t lock_count = 0;              // lock replies seen, ever
  std::int64_t daily_used = 0;              // calls/credits used in the rolling 24 h
  std::int64_t updated_at_ms = 0;
  std::vector<UsageBucket> daily_log = {};  // what daily_used is made of, oldest first (schema v3)
};

struct RunRecord {
  std::int64_t id = 0;
  std::string mode;  // "daemon", "run-once", "dry-run", "demo"
  std::int64_t started_at_ms = 0;
  std::int64_t finished_at_ms = 0;  // 0 while running (or if the process died)
  int exit_code = -1;               // -1 while running
  std::string summary;              // one line, or JSON from the sync layer
};

// Everything one unit of sync progress changes, applied by Store::commit() in
// one transaction.
struct Commit {
  std::vector<Checkpoint> checkpoints;                      // upserted by stream
  std::vector<IdMapEntry> id_map_upserts;                   // by (stream, source_key)
  std::vector<std::pair<std::string, std::string>> id_map_deletes;  // (stream, source_key)
  std::vector<std::int64_t> outbox_done;                    // outbox ids to remove
  std::vector<std::pair<std::int64_t, OutboxState>> outbox_state;  // state changes
  std::vector<DeadLetter> dead_letters;                     // inserted (id ignored)
  std::vector<OutboxEntry> outbox_inserts;                  // inserted (id ignored): parked records

  bool empty() const {
    return checkpoints.empty() && id_map_upserts.empty() && id_map_deletes.empty() &&
           outbox_done.empty() && outbox_state.empty() && dead_letters.empty() && outbox_inserts.empty();
  }
};

struct Counts {
  std::int64_t outbox = 0;
  std::int64_t dead_letters = 0;
  std::int64_t id_map = 0;
};

struct StoreOptions {
  // How long a write waits while another process holds the state file's
  // lock before it fails with StoreError; unset: 5 s (sql::kBusyTimeoutMs).
  std::optional<std::chrono::milliseconds> busy_timeout;
};

class Store {
 public:
  // Opens (creating if needed) and migrates the database at path. Throws
  // StoreError with a clear message: unreadable or read-only file, not a
  // database, another application's database, corrupted file, or a schema
  // newer than this build (never overwritten).
  static std::unique_ptr<Store> open(const std::string& path, const Clock& clock, const StoreOptions& options = {});

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schema_version() const;
  const std::string& path() const;

  // --- checkpoints
  std::optional<Checkpoint> checkpoint(const std::string& stream) const;
  std::vector<Checkpoint> checkpoints() const;  // ordered by stream
  // Explicit operator move (`peoplesync reset`): sets or clears one checkpoint.
  void reset_checkpoint(const std::string& stream, const std::optional<std::string>& watermark);

  // --- id map
  std::optional<IdMapEntry> id_map_get(const std::string& stream,
                                       const std::string& source_key) const;
  std::vector<IdMapEntry> id_map_list(const std::string& stream) const;

  // --- outbox: an intent is stored (own transaction) before its request is sent.
  // Many intents in one transaction (one fsync for a whole batch), each in
  // its given state and attempt count. Returns their ids in order.
  std::vector<std::int64_t> outbox_add_many(const std::vector<OutboxEntry>& entries);
  std::vector<OutboxEntry> outbox_list(const std::optional<std::string>& stream = {}) const;

  // --- the atomic unit of progress
  void commit(const Commit& change);

  // --- dead letters
  std::vector<DeadLetter> dead_letters(const std::optional<std::string>& stream = {}) const;
  // `peoplesync retry`, atomically: moves the dead letters (of one stream or
  // all) into the outbox as op "retry" intents (source_key and payload kept),
  // so the next run re-reads and re-syncs those records. Returns how many.
  std::int64_t requeue_dead_letters(const std::optional<std::string>& stream = {});

  // --- reference-resolution cache
  std::map<std::string, RefCacheEntry> ref_cache_get(const std::string& service,
                                                     const std::string& entity,
                                                     const std::vector<std::string>& ids) const;
  void ref_cache_put(const std::vector<RefCacheEntry>& entries);
  std::vector<RefCacheEntry> ref_cache_unresolved() const;  // people_id empty

  // --- limiter and lock state
  std::optional<EndpointState> endpoint_state(const std::string& endpoint) const;
  std::vector<EndpointState> endpoint_states() const;  // ordered by endpoint
  void save_endpoint_state(const EndpointState& s);

  // --- run history
  std::int64_t begin_run(const std::string& mode);
  void finish_run(std::int64_t id, int exit_code, const std::string& summary);
  std::vector<RunRecord> recent_runs(int limit) const;  // newest first

  // --- per-stream counts for status and metrics
  std::map<std::string, Counts> counts_by_stream() const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace peoplesync::state
