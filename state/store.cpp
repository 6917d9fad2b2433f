#include "state/store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <charconv>
#include <cerrno>
#include <cstring>

#include "state/outbox_ops.hpp"
#include "state/schema.hpp"

namespace peoplesync::state {
namespace {

// What a failed call means, for the operator: the kind of failure in plain
// words, then SQLite's message. rc is an extended result code.
std::string failure_text(sqlite3* db, int rc) {
  const std::string msg = sqlite3_errmsg(db);
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return "disk full (no space left on the device, or the file reached its size limit): " + msg;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "locked by another process (still busy when the wait ran out; safe to retry): " + msg;
    case SQLITE_IOERR:
      return msg + " (I/O error, SQLite code " + std::to_string(rc) + ")";
    case SQLITE_READONLY:
      return "read-only: " + msg;
    default:
      return msg;
  }
}

// One prepared statement: prepared once, then bound, stepped and reset.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& path) : db_(db), path_(path) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
      throw StoreError(path + ": cannot prepare statement: " + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  // True while there is a row; false when done. Throws on error.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const std::string msg = failure_text(db_, rc);
    reset();
    throw StoreError(path_ + ": " + msg);
  }
  void run() {
    while (step()) {
    }
  }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw StoreError(path_ + ": bind failed: " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const std::string& path_;
};

// Resets a statement when the scope ends, whatever happens.
class Use {
 public:
  explicit Use(Stmt& s) : s_(s) {}
  ~Use() { s_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  Stmt* operator->() { return &s_; }
  Stmt& operator*() { return s_; }

 private:
  Stmt& s_;
};

std::string encode_calls(const std::vector<std::int64_t>& calls) {
  std::string out;
  for (auto t : calls) {
    if (!out.empty()) out.push_back(',');
    out += std::to_string(t);
  }
  return out;
}

std::vector<std::int64_t> decode_calls(const std::string& s) {
  std::vector<std::int64_t> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    std::int64_t v = 0;
    if (std::from_chars(s.data() + pos, s.data() + end, v).ec == std::errc{}) out.push_back(v);
    pos = end + 1;
  }
  return out;
}

// "start:amount,start:amount"; malformed items are skipped.
std::string encode_usage(const std::vector<UsageBucket>& buckets) {
  std::string out;
  for (const auto& b : buckets) {
    if (!out.empty()) out.push_back(',');
    out += std::to_string(b.start_ms);
    out.push_back(':');
    out += std::to_string(b.amount);
  }
  return out;
}

std::vector<UsageBucket> decode_usage(const std::string& s) {
  std::vector<UsageBucket> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    const std::size_t colon = s.find(':', pos);
    UsageBucket b;
    if (colon < end && std::from_chars(s.data() + pos, s.data() + colon, b.start_ms).ec == std::errc{} &&
        std::from_chars(s.data() + colon + 1, s.data() + end, b.amount).ec == std::errc{})
      out.push_back(b);
    pos = end + 1;
  }
  return out;
}

}  // namespace

struct Store::Impl {
  std::string path;
  const Clock& clock;
  sqlite3* db = nullptr;
  int version = 0;
  int busy_timeout_ms = sql::kBusyTimeoutMs;

  // Prepared once, after migrations (declared after db: destroyed before it).
  std::unique_ptr<Stmt> begin, commit, rollback;
  std::unique_ptr<Stmt> cp_get, cp_list, cp_ids, cp_upsert, cp_ids_clear, cp_id_add, cp_delete;
  std::unique_ptr<Stmt> map_get, map_list, map_upsert, map_delete;
  std::unique_ptr<Stmt> out_add, out_add_full, out_state, out_delete, out_all, out_stream;
  std::unique_ptr<Stmt> dead_add, dead_all, dead_stream, dead_delete, dead_delete_key;
  std::unique_ptr<Stmt> ref_get, ref_put, ref_unresolved;
  std::unique_ptr<Stmt> ep_get, ep_list, ep_put;
  std::unique_ptr<Stmt> run_begin, run_finish, run_recent;
  std::unique_ptr<Stmt> counts;

  Impl(std::string p, const Clock& c) : path(std::move(p)), clock(c) {}
  ~Impl() {
    // Statements must be finalised before the connection closes.
    begin.reset(); commit.reset(); rollback.reset();
    cp_get.reset(); cp_list.reset(); cp_ids.reset(); cp_upsert.reset(); cp_ids_clear.reset(); cp_id_add.reset();
    cp_delete.reset();
    map_get.reset(); map_list.reset(); map_upsert.reset(); map_delete.reset();
    out_add.reset(); out_add_full.reset(); out_state.reset(); out_delete.reset(); out_all.reset(); out_stream.reset();
    dead_add.reset(); dead_all.reset(); dead_stream.reset(); dead_delete.reset(); dead_delete_key.reset();
    ref_get.reset(); ref_put.reset(); ref_unresolved.reset();
    ep_get.reset(); ep_list.reset(); ep_put.reset();
    run_begin.reset(); run_finish.reset(); run_recent.reset();
    counts.reset();
    if (db) sqlite3_close_v2(db);
  }

  std::int64_t now_ms() const { return to_unix_ms(clock.now()); }

  void exec(const char* sql, const char* what) {
    char* err = nullptr;
    if (const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
      sqlite3_free(err);
      throw StoreError(path + ": " + what + ": " + failure_text(db, rc));
    }
  }

  std::unique_ptr<Stmt> prepare(const char* sql) { return std::make_unique<Stmt>(db, sql, path); }

  // A BEGIN IMMEDIATE transaction that rolls back unless committed.
  class Tx {
   public:
    explicit Tx(Impl& i) : impl_(i) { Use(*impl_.begin)->run(); }
    ~Tx() {
      if (!done_) {
        try {
          Use(*impl_.rollback)->run();
        } catch (...) {
          // The connection rolls back by itself if ROLLBACK fails.
        }
      }
    }
    Tx(const Tx&) = delete;
    Tx& operator=(const Tx&) = delete;
    void commit() {
      Use(*impl_.commit)->run();
      done_ = true;
    }

   private:
    Impl& impl_;
    bool done_ = false;
  };

  void open() {
    struct stat st {};
    const bool existed = ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      throw StoreError("cannot open state file " + path + ": " + msg +
                       " (does the directory exist, and may this user write to it?)");
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    // SQLite opens a file it may not write (EACCES, EROFS) read-only instead:
    // refuse it now rather than at the first write, after calls to Zoho.
    if (sqlite3_db_readonly(db, "main") == 1) {
      throw StoreError("state file " + path +
                       " is read-only (the file system or the file's permissions refuse writing, and peoplesync "
                       "writes its progress there); it was left untouched");
    }
    if (existed) {
      // Read-only checks first: a file that is not a database, or a damaged
      // one, is refused before anything could write to it.
      sqlite3_stmt* check = nullptr;
      if (sqlite3_prepare_v2(db, sql::kQuickCheck, -1, &check, nullptr) != SQLITE_OK) {
        const std::string msg = sqlite3_errmsg(db);
        throw StoreError("state file " + path + " is not a usable peoplesync database (" + msg +
                         "); it was left untouched: move it away or restore a backup");
      }
      const int rc = sqlite3_step(check);
      std::string result = rc == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(check, 0)) : "";
      const std::string msg = sqlite3_errmsg(db);
      sqlite3_finalize(check);
      if (rc != SQLITE_ROW || result != "ok") {
        throw StoreError("state file " + path + " is damaged (" + (result.empty() ? msg : result) +
                         "); it was left untouched: move it away or restore a backup");
      }
    }
    version = read_version();
    if (existed && version == 0) {
      // Not ours: no schema version, yet tables (another application's
      // database, a wrong state.path). Migrating would add our tables to it.
      if (const int tables = count_tables(); tables > 0) {
        throw StoreError("state file " + path + " is not a peoplesync state file (a SQLite database with " +
                         std::to_string(tables) + " table" + (tables == 1 ? "" : "s") +
                         " and no peoplesync schema version); it was left untouched: check state.path");
      }
    }
    if (version > sql::kSchemaVersion) {
      throw StoreError("state file " + path + " was written by a newer peoplesync (schema v" +
                       std::to_string(version) + ", this build knows v" + std::to_string(sql::kSchemaVersion) +
                       "); it was left untouched");
    }
    exec(sql::kPragmas, "cannot set up the connection");
    begin = prepare(sql::kBegin);
    commit = prepare(sql::kCommit);
    rollback = prepare(sql::kRollback);
    migrate();
    prepare_all();
  }

  int count_tables() {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &s, nullptr) != SQLITE_OK)
      throw StoreError("state file " + path + ": " + sqlite3_errmsg(db));
    int n = 0;
    if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
  }

  int read_version() {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql::kUserVersion, -1, &s, nullptr) != SQLITE_OK)
      throw StoreError("state file " + path + ": " + sqlite3_errmsg(db));
    int v = 0;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
  }

  void migrate() {
    while (version < sql::kSchemaVersion) {
      Tx tx(*this);
      // Another process may have migrated while we waited for the lock.
      const int now = read_version();
      if (now != version) {
        version = now;
        continue;
      }
      exec(sql::kMigrations[static_cast<std::size_t>(version)], "migration failed");
      // PRAGMA takes no bound parameters; the number comes from this build.
      const std::string bump = "PRAGMA user_version = " + std::to_string(version + 1);
      exec(bump.c_str(), "migration failed");
      tx.commit();
      ++version;
    }
  }

  void prepare_all() {
    cp_get = prepare(sql::kCheckpointGet);
    cp_list = prepare(sql::kCheckpointList);
    cp_ids = prepare(sql::kCheckpointIds);
    cp_upsert = prepare(sql::kCheckpointUpsert);
    cp_ids_clear = prepare(sql::kCheckpointIdsClear);
    cp_id_add = prepare(sql::kCheckpointIdAdd);
    cp_delete = prepare(sql::kCheckpointDelete);
    map_get = prepare(sql::kIdMapGet);
    map_list = prepare(sql::kIdMapList);
    map_upsert = prepare(sql::kIdMapUpsert);
    map_delete = prepare(sql::kIdMapDelete);
    out_add = prepare(sql::kOutboxAdd);
    out_add_full = prepare(sql::kOutboxAddFull);
    out_state = prepare(sql::kOutboxSetState);
    out_delete = prepare(sql::kOutboxDelete);
    out_all = prepare(sql::kOutboxListAll);
    out_stream = prepare(sql::kOutboxListStream);
    dead_add = prepare(sql::kDeadAdd);
    dead_all = prepare(sql::kDeadListAll);
    dead_stream = prepare(sql::kDeadListStream);
    dead_delete = prepare(sql::kDeadDelete);
    dead_delete_key = prepare(sql::kDeadDeleteKey);
    ref_get = prepare(sql::kRefGet);
    ref_put = prepare(sql::kRefPut);
    ref_unresolved = prepare(sql::kRefUnresolved);
    ep_get = prepare(sql::kEndpointGet);
    ep_list = prepare(sql::kEndpointList);
    ep_put = prepare(sql::kEndpointPut);
    run_begin = prepare(sql::kRunBegin);
    run_finish = prepare(sql::kRunFinish);
    run_recent = prepare(sql::kRunRecent);
    counts = prepare(sql::kCounts);
  }

  void add_outbox_full(const OutboxEntry& e, std::int64_t now) {
    Use(*out_add_full)
        ->bind(1, e.stream)
        .bind(2, e.source_key)
        .bind(3, e.op)
        .bind(4, e.payload)
        .bind(5, static_cast<std::int64_t>(e.state))
        .bind(6, std::int64_t{e.attempts})
        .bind(7, now)
        .run();
  }

  void put_checkpoint(const Checkpoint& c) {
    const std::int64_t at = c.updated_at_ms ? c.updated_at_ms : now_ms();
    Use(*cp_upsert)->bind(1, c.stream).bind(2, c.watermark).bind(3, at).run();
    Use(*cp_ids_clear)->bind(1, c.stream).run();
    for (const auto& id : c.ids_at_watermark) Use(*cp_id_add)->bind(1, c.stream).bind(2, id).run();
  }

  std::vector<OutboxEntry> read_outbox(Stmt& s) {
    std::vector<OutboxEntry> out;
    while (s.step()) {
      OutboxEntry e;
      e.id = s.int64(0);
      e.stream = s.text(1);
      e.source_key = s.text(2);
      e.op = s.text(3);
      e.payload = s.text(4);
      e.state = static_cast<OutboxState>(s.int64(5));
      e.attempts = static_cast<int>(s.int64(6));
      e.created_at_ms = s.int64(7);
      e.updated_at_ms = s.int64(8);
      out.push_back(std::move(e));
    }
    return out;
  }

  std::vector<DeadLetter> read_dead(const std::optional<std::string>& stream) {
    Stmt& s = stream ? *dead_stream : *dead_all;
    Use use(s);
    if (stream) s.bind(1, *stream);
    std::vector<DeadLetter> out;
    while (s.step()) {
      DeadLetter d;
      d.id = s.int64(0);
      d.stream = s.text(1);
      d.source_key = s.text(2);
      d.reason = s.text(3);
      d.vendor_code = s.text(4);
      d.payload = s.text(5);
      d.attempts = static_cast<int>(s.int64(6));
      d.created_at_ms = s.int64(7);
      d.updated_at_ms = s.int64(8);
      out.push_back(std::move(d));
    }
    return out;
  }

  EndpointState read_endpoint(Stmt& s) {
    EndpointState e;
    e.endpoint = s.text(0);
    e.recent_calls_ms = decode_calls(s.text(1));
    e.locked_until_ms = s.int64(2);
    e.lock_count = s.int64(3);
    e.daily_used = s.int64(4);
    e.updated_at_ms = s.int64(5);
    e.daily_log = decode_usage(s.text(6));
    return e;
  }
};

std::unique_ptr<Store> Store::open(const std::string& path, const Clock& clock, const StoreOptions& options) {
  auto impl = std::make_unique<Impl>(path, clock);
  if (options.busy_timeout) impl->busy_timeout_ms = static_cast<int>(options.busy_timeout->count());
  impl->open();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

int Store::schema_version() const { return impl_->version; }
const std::string& Store::path() const { return impl_->path; }

std::optional<Checkpoint> Store::checkpoint(const std::string& stream) const {
  Checkpoint c;
  {
    Use s(*impl_->cp_get);
    s->bind(1, stream);
    if (!s->step()) return std::nullopt;
    c.stream = stream;
    c.watermark = s->text(0);
    c.updated_at_ms = s->int64(1);
  }
  Use ids(*impl_->cp_ids);
  ids->bind(1, stream);
  while (ids->step()) c.ids_at_watermark.push_back(ids->text(0));
  return c;
}

std::vector<Checkpoint> Store::checkpoints() const {
  std::vector<std::string> names;
  {
    Use s(*impl_->cp_list);
    while (s->step()) names.push_back(s->text(0));
  }
  std::vector<Checkpoint> out;
  for (const auto& n : names)
    if (auto c = checkpoint(n)) out.push_back(std::move(*c));
  return out;
}

void Store::reset_checkpoint(const std::string& stream, const std::optional<std::string>& watermark) {
  Impl::Tx tx(*impl_);
  if (watermark) {
    impl_->put_checkpoint(Checkpoint{stream, *watermark, {}, 0});
  } else {
    Use(*impl_->cp_delete)->bind(1, stream).run();
  }
  tx.commit();
}

std::optional<IdMapEntry> Store::id_map_get(const std::string& stream, const std::string& source_key) const {
  Use s(*impl_->map_get);
  s->bind(1, stream).bind(2, source_key);
  if (!s->step()) return std::nullopt;
  return IdMapEntry{stream, source_key, s->text(0), s->text(1), s->int64(2), s->text(3)};
}

std::vector<IdMapEntry> Store::id_map_list(const std::string& stream) const {
  Use s(*impl_->map_list);
  s->bind(1, stream);
  std::vector<IdMapEntry> out;
  while (s->step()) out.push_back({stream, s->text(0), s->text(1), s->text(2), s->int64(3), s->text(4)});
  return out;
}

std::vector<std::int64_t> Store::outbox_add_many(const std::vector<OutboxEntry>& entries) {
  std::vector<std::int64_t> ids;
  if (entries.empty()) return ids;
  const std::int64_t now = impl_->now_ms();
  Impl::Tx tx(*impl_);
  for (const auto& e : entries) {
    impl_->add_outbox_full(e, now);
    ids.push_back(sqlite3_last_insert_rowid(impl_->db));
  }
  tx.commit();
  return ids;
}

std::vector<OutboxEntry> Store::outbox_list(const std::optional<std::string>& stream) const {
  Stmt& s = stream ? *impl_->out_stream : *impl_->out_all;
  Use use(s);
  if (stream) s.bind(1, *stream);
  return impl_->read_outbox(s);
}

void Store::commit(const Commit& change) {
  if (change.empty()) return;
  const std::int64_t now = impl_->now_ms();
  Impl::Tx tx(*impl_);
  for (const auto& c : change.checkpoints) impl_->put_checkpoint(c);
  for (const auto& m : change.id_map_upserts) {
    Use(*impl_->dead_delete_key)->bind(1, m.stream).bind(2, m.source_key).run();
    Use(*impl_->map_upsert)
        ->bind(1, m.stream)
        .bind(2, m.source_key)
        .bind(3, m.target_id)
        .bind(4, m.hash)
        .bind(5, m.updated_at_ms ? m.updated_at_ms : now)
        .bind(6, m.source_day)
        .run();
  }
  for (const auto& [stream, key] : change.id_map_deletes) Use(*impl_->map_delete)->bind(1, stream).bind(2, key).run();
  for (const auto id : change.outbox_done) Use(*impl_->out_delete)->bind(1, id).run();
  for (const auto& [id, state] : change.outbox_state) {
    Use(*impl_->out_state)
        ->bind(1, id)
        .bind(2, static_cast<std::int64_t>(state))
        .bind(3, std::int64_t{state == OutboxState::sent ? 1 : 0})
        .bind(4, now)
        .run();
  }
  for (const auto& e : change.outbox_inserts) impl_->add_outbox_full(e, now);
  for (const auto& d : change.dead_letters) {
    Use(*impl_->dead_delete_key)->bind(1, d.stream).bind(2, d.source_key).run();
    Use(*impl_->dead_add)
        ->bind(1, d.stream)
        .bind(2, d.source_key)
        .bind(3, d.reason)
        .bind(4, d.vendor_code)
        .bind(5, d.payload)
        .bind(6, std::int64_t{d.attempts})
        .bind(7, now)
        .run();
  }
  tx.commit();
}

std::vector<DeadLetter> Store::dead_letters(const std::optional<std::string>& stream) const {
  return impl_->read_dead(stream);
}

std::int64_t Store::requeue_dead_letters(const std::optional<std::string>& stream) {
  const std::int64_t now = impl_->now_ms();
  Impl::Tx tx(*impl_);
  auto letters = impl_->read_dead(stream);
  for (const auto& d : letters) {
    Use(*impl_->out_add)->bind(1, d.stream).bind(2, d.source_key).bind(3, std::string(op::retry)).bind(4, d.payload)
        .bind(5, now).run();
    Use(*impl_->dead_delete)->bind(1, d.id).run();
  }
  tx.commit();
  return static_cast<std::int64_t>(letters.size());
}

std::map<std::string, RefCacheEntry> Store::ref_cache_get(const std::string& service, const std::string& entity,
                                                          const std::vector<std::string>& ids) const {
  std::map<std::string, RefCacheEntry> out;
  for (const auto& id : ids) {
    Use s(*impl_->ref_get);
    s->bind(1, service).bind(2, entity).bind(3, id);
    if (s->step())
      out.emplace(id, RefCacheEntry{service, entity, id, s->text(0), static_cast<int>(s->int64(1)), s->int64(2)});
  }
  return out;
}

void Store::ref_cache_put(const std::vector<RefCacheEntry>& entries) {
  const std::int64_t now = impl_->now_ms();
  Impl::Tx tx(*impl_);
  for (const auto& e : entries) {
    Use(*impl_->ref_put)
        ->bind(1, e.service)
        .bind(2, e.entity)
        .bind(3, e.reference_id)
        .bind(4, e.people_id)
        .bind(5, std::int64_t{e.attempts})
        .bind(6, e.checked_at_ms ? e.checked_at_ms : now)
        .run();
  }
  tx.commit();
}

std::vector<RefCacheEntry> Store::ref_cache_unresolved() const {
  Use s(*impl_->ref_unresolved);
  std::vector<RefCacheEntry> out;
  while (s->step())
    out.push_back({s->text(0), s->text(1), s->text(2), s->text(3), static_cast<int>(s->int64(4)), s->int64(5)});
  return out;
}

std::optional<EndpointState> Store::endpoint_state(const std::string& endpoint) const {
  Use s(*impl_->ep_get);
  s->bind(1, endpoint);
  if (!s->step()) return std::nullopt;
  return impl_->read_endpoint(*s);
}

std::vector<EndpointState> Store::endpoint_states() const {
  Use s(*impl_->ep_list);
  std::vector<EndpointState> out;
  while (s->step()) out.push_back(impl_->read_endpoint(*s));
  return out;
}

void Store::save_endpoint_state(const EndpointState& e) {
  Impl::Tx tx(*impl_);
  Use(*impl_->ep_put)
      ->bind(1, e.endpoint)
      .bind(2, encode_calls(e.recent_calls_ms))
      .bind(3, e.locked_until_ms)
      .bind(4, e.lock_count)
      .bind(5, e.daily_used)
      .bind(6, e.updated_at_ms ? e.updated_at_ms : impl_->now_ms())
      .bind(7, encode_usage(e.daily_log))
      .run();
  tx.commit();
}

std::int64_t Store::begin_run(const std::string& mode) {
  Impl::Tx tx(*impl_);
  Use(*impl_->run_begin)->bind(1, mode).bind(2, impl_->now_ms()).run();
  const std::int64_t id = sqlite3_last_insert_rowid(impl_->db);
  tx.commit();
  return id;
}

void Store::finish_run(std::int64_t id, int exit_code, const std::string& summary) {
  Impl::Tx tx(*impl_);
  Use(*impl_->run_finish)->bind(1, id).bind(2, impl_->now_ms()).bind(3, std::int64_t{exit_code}).bind(4, summary).run();
  tx.commit();
}

std::vector<RunRecord> Store::recent_runs(int limit) const {
  Use s(*impl_->run_recent);
  s->bind(1, std::int64_t{limit});
  std::vector<RunRecord> out;
  while (s->step())
    out.push_back({s->int64(0), s->text(1), s->int64(2), s->int64(3), static_cast<int>(s->int64(4)), s->text(5)});
  return out;
}

std::map<std::string, Counts> Store::counts_by_stream() const {
  Use s(*impl_->counts);
  std::map<std::string, Counts> out;
  while (s->step()) out[s->text(0)] = Counts{s->int64(1), s->int64(2), s->int64(3)};
  return out;
}

}  // namespace peoplesync::state
