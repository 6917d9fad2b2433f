#pragma once
// The state database schema: numbered migrations (index i takes the file
// from user_version i to i+1) and every statement the store runs, as named
// constants. Statements are prepared once at open; nothing is concatenated.
#include <array>

namespace peoplesync::state::sql {

// ---- migrations
inline constexpr const char* kMigration1 = R"sql(
CREATE TABLE checkpoints (
  stream           TEXT PRIMARY KEY,
  watermark        TEXT NOT NULL,
  updated_at_ms    INTEGER NOT NULL
);
CREATE TABLE checkpoint_ids (
  stream           TEXT NOT NULL REFERENCES checkpoints(stream) ON DELETE CASCADE,
  source_key       TEXT NOT NULL,
  PRIMARY KEY (stream, source_key)
);
CREATE TABLE id_map (
  stream           TEXT NOT NULL,
  source_key       TEXT NOT NULL,
  target_id        TEXT NOT NULL,
  hash             TEXT NOT NULL,
  updated_at_ms    INTEGER NOT NULL,
  PRIMARY KEY (stream, source_key)
);
CREATE INDEX id_map_by_target ON id_map(stream, target_id);
CREATE TABLE outbox (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  stream           TEXT NOT NULL,
  source_key       TEXT NOT NULL,
  op               TEXT NOT NULL,
  payload          TEXT NOT NULL,
  state            INTEGER NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  created_at_ms    INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL
);
CREATE INDEX outbox_by_stream ON outbox(stream, id);
CREATE TABLE dead_letters (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  stream           TEXT NOT NULL,
  source_key       TEXT NOT NULL,
  reason           TEXT NOT NULL,
  vendor_code      TEXT NOT NULL,
  payload          TEXT NOT NULL,
  attempts         INTEGER NOT NULL,
  created_at_ms    INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL
);
CREATE INDEX dead_letters_by_stream ON dead_letters(stream, id);
CREATE TABLE ref_cache (
  service          TEXT NOT NULL,
  entity           TEXT NOT NULL,
  reference_id     TEXT NOT NULL,
  people_id        TEXT NOT NULL,
  checked_at_ms    INTEGER NOT NULL,
  PRIMARY KEY (service, entity, reference_id)
);
CREATE TABLE endpoint_state (
  endpoint         TEXT PRIMARY KEY,
  recent_calls     TEXT NOT NULL,
  locked_until_ms  INTEGER NOT NULL,
  lock_count       INTEGER NOT NULL,
  daily_used       INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL
);
)sql";

// v2: run history, and how often an unresolved reference was asked for.
inline constexpr const char* kMigration2 = R"sql(
ALTER TABLE ref_cache ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE TABLE runs (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  mode             TEXT NOT NULL,
  started_at_ms    INTEGER NOT NULL,
  finished_at_ms   INTEGER NOT NULL DEFAULT 0,
  exit_code        INTEGER NOT NULL DEFAULT -1,
  summary          TEXT NOT NULL DEFAULT ''
);
)sql";

// v3: the rolling 24 h usage of each endpoint, as "start_ms:amount" buckets
// (CRM credits, People daily calls), so a restart keeps the daily budget.
inline constexpr const char* kMigration3 = R"sql(
ALTER TABLE endpoint_state ADD COLUMN daily_log TEXT NOT NULL DEFAULT '';
)sql";

// v4: dead letters by record. A record that syncs or is dead-lettered again
// replaces its older dead letters (kDeadDeleteKey); without this index each of
// those deletes scanned the table, and a backfill's CPU per record grew with
// its size (bench/engine.sh 100000: 1.51 CPU s per 1,000 records before,
// 0.075 after).
inline constexpr const char* kMigration4 = R"sql(
CREATE INDEX dead_letters_by_key ON dead_letters(stream, source_key);
)sql";

// v5: the day of a record read from a window source (Zoho Projects logs,
// Zoho Books time entries), so that a window read completely can tell which
// mapped records disappeared from it. Empty for every other stream.
inline constexpr const char* kMigration5 = R"sql(
ALTER TABLE id_map ADD COLUMN source_day TEXT NOT NULL DEFAULT '';
)sql";

inline constexpr std::array<const char*, 5> kMigrations{kMigration1, kMigration2, kMigration3, kMigration4,
                                                        kMigration5};
inline constexpr int kSchemaVersion = static_cast<int>(kMigrations.size());

// ---- connection set-up
inline constexpr const char* kPragmas =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;";
inline constexpr int kBusyTimeoutMs = 5000;

// ---- statements
inline constexpr const char* kBegin = "BEGIN IMMEDIATE";
inline constexpr const char* kCommit = "COMMIT";
inline constexpr const char* kRollback = "ROLLBACK";
inline constexpr const char* kUserVersion = "PRAGMA user_version";
inline constexpr const char* kQuickCheck = "PRAGMA quick_check";

inline constexpr const char* kCheckpointGet = "SELECT watermark, updated_at_ms FROM checkpoints WHERE stream = ?1";
inline constexpr const char* kCheckpointList = "SELECT stream FROM checkpoints ORDER BY stream";
inline constexpr const char* kCheckpointIds =
    "SELECT source_key FROM checkpoint_ids WHERE stream = ?1 ORDER BY source_key";
inline constexpr const char* kCheckpointUpsert =
    "INSERT INTO checkpoints(stream, watermark, updated_at_ms) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(stream) DO UPDATE SET watermark = excluded.watermark, updated_at_ms = excluded.updated_at_ms";
inline constexpr const char* kCheckpointIdsClear = "DELETE FROM checkpoint_ids WHERE stream = ?1";
inline constexpr const char* kCheckpointIdAdd = "INSERT OR IGNORE INTO checkpoint_ids(stream, source_key) VALUES(?1, ?2)";
inline constexpr const char* kCheckpointDelete = "DELETE FROM checkpoints WHERE stream = ?1";

inline constexpr const char* kIdMapGet =
    "SELECT target_id, hash, updated_at_ms, source_day FROM id_map WHERE stream = ?1 AND source_key = ?2";
inline constexpr const char* kIdMapList =
    "SELECT source_key, target_id, hash, updated_at_ms, source_day FROM id_map WHERE stream = ?1 "
    "ORDER BY source_key";
// An empty source_day keeps the one stored (a row written again by a
// reconcile, which knows no day).
inline constexpr const char* kIdMapUpsert =
    "INSERT INTO id_map(stream, source_key, target_id, hash, updated_at_ms, source_day) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT(stream, source_key) DO UPDATE SET target_id = excluded.target_id, hash = excluded.hash, "
    "updated_at_ms = excluded.updated_at_ms, "
    "source_day = CASE WHEN excluded.source_day = '' THEN id_map.source_day ELSE excluded.source_day END";
inline constexpr const char* kIdMapDelete = "DELETE FROM id_map WHERE stream = ?1 AND source_key = ?2";

inline constexpr const char* kOutboxAdd =
    "INSERT INTO outbox(stream, source_key, op, payload, state, attempts, created_at_ms, updated_at_ms) "
    "VALUES(?1, ?2, ?3, ?4, 0, 0, ?5, ?5)";
// An intent stored in a given state with its attempt count (batched intents, parked records).
inline constexpr const char* kOutboxAddFull =
    "INSERT INTO outbox(stream, source_key, op, payload, state, attempts, created_at_ms, updated_at_ms) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
inline constexpr const char* kOutboxSetState =
    "UPDATE outbox SET state = ?2, attempts = attempts + ?3, updated_at_ms = ?4 WHERE id = ?1";
inline constexpr const char* kOutboxDelete = "DELETE FROM outbox WHERE id = ?1";
inline constexpr const char* kOutboxListAll =
    "SELECT id, stream, source_key, op, payload, state, attempts, created_at_ms, updated_at_ms FROM outbox "
    "ORDER BY id";
inline constexpr const char* kOutboxListStream =
    "SELECT id, stream, source_key, op, payload, state, attempts, created_at_ms, updated_at_ms FROM outbox "
    "WHERE stream = ?1 ORDER BY id";

inline constexpr const char* kDeadAdd =
    "INSERT INTO dead_letters(stream, source_key, reason, vendor_code, payload, attempts, created_at_ms, "
    "updated_at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
inline constexpr const char* kDeadListAll =
    "SELECT id, stream, source_key, reason, vendor_code, payload, attempts, created_at_ms, updated_at_ms "
    "FROM dead_letters ORDER BY id";
inline constexpr const char* kDeadListStream =
    "SELECT id, stream, source_key, reason, vendor_code, payload, attempts, created_at_ms, updated_at_ms "
    "FROM dead_letters WHERE stream = ?1 ORDER BY id";
inline constexpr const char* kDeadDelete = "DELETE FROM dead_letters WHERE id = ?1";
// A record synced or dead-lettered again: its older dead letters are history.
inline constexpr const char* kDeadDeleteKey = "DELETE FROM dead_letters WHERE stream = ?1 AND source_key = ?2";

inline constexpr const char* kRefGet =
    "SELECT people_id, attempts, checked_at_ms FROM ref_cache WHERE service = ?1 AND entity = ?2 AND "
    "reference_id = ?3";
inline constexpr const char* kRefPut =
    "INSERT INTO ref_cache(service, entity, reference_id, people_id, attempts, checked_at_ms) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(service, entity, reference_id) DO UPDATE SET "
    "people_id = excluded.people_id, attempts = excluded.attempts, checked_at_ms = excluded.checked_at_ms";
inline constexpr const char* kRefUnresolved =
    "SELECT service, entity, reference_id, people_id, attempts, checked_at_ms FROM ref_cache "
    "WHERE people_id = '' ORDER BY service, entity, reference_id";

inline constexpr const char* kEndpointGet =
    "SELECT endpoint, recent_calls, locked_until_ms, lock_count, daily_used, updated_at_ms, daily_log "
    "FROM endpoint_state WHERE endpoint = ?1";
inline constexpr const char* kEndpointList =
    "SELECT endpoint, recent_calls, locked_until_ms, lock_count, daily_used, updated_at_ms, daily_log "
    "FROM endpoint_state ORDER BY endpoint";
inline constexpr const char* kEndpointPut =
    "INSERT INTO endpoint_state(endpoint, recent_calls, locked_until_ms, lock_count, daily_used, updated_at_ms, "
    "daily_log) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(endpoint) DO UPDATE SET "
    "recent_calls = excluded.recent_calls, locked_until_ms = excluded.locked_until_ms, "
    "lock_count = excluded.lock_count, daily_used = excluded.daily_used, updated_at_ms = excluded.updated_at_ms, "
    "daily_log = excluded.daily_log";

inline constexpr const char* kRunBegin = "INSERT INTO runs(mode, started_at_ms) VALUES(?1, ?2)";
inline constexpr const char* kRunFinish =
    "UPDATE runs SET finished_at_ms = ?2, exit_code = ?3, summary = ?4 WHERE id = ?1";
inline constexpr const char* kRunRecent =
    "SELECT id, mode, started_at_ms, finished_at_ms, exit_code, summary FROM runs ORDER BY id DESC LIMIT ?1";

inline constexpr const char* kCounts =
    "SELECT stream, SUM(o), SUM(d), SUM(m) FROM ("
    " SELECT stream, 1 AS o, 0 AS d, 0 AS m FROM outbox"
    " UNION ALL SELECT stream, 0, 1, 0 FROM dead_letters"
    " UNION ALL SELECT stream, 0, 0, 1 FROM id_map) GROUP BY stream ORDER BY stream";

}  // namespace peoplesync::state::sql
