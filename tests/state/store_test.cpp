#include "state/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "state/schema.hpp"

namespace peoplesync::state {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-state-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Store> open() { return Store::open(path_, clock_); }

  // One pending intent, stored as the engine stores them (outbox_add_many).
  static std::int64_t add_intent(Store& store, const std::string& stream, const std::string& key,
                                 const std::string& op, const std::string& payload) {
    return store.outbox_add_many({{0, stream, key, op, payload, OutboxState::pending, 0, 0, 0}}).at(0);
  }

  // A second, raw connection, as another process (or a test) would have.
  sqlite3* raw() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
  }
  static void exec(sqlite3* db, const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << "\n" << sql;
  }
  static std::string query1(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  }

  Commit full_commit(const std::string& tag) {
    Commit c;
    c.checkpoints.push_back({"deals", "2024-05-01T10:00:00+05:30", {"d1", "d2"}, 0});
    c.id_map_upserts.push_back({"deals", "d1-" + tag, "P1", "h1", 0});
    c.id_map_upserts.push_back({"deals", "d2-" + tag, "P2", "h2", 0});
    c.dead_letters.push_back({0, "deals", "d3-" + tag, "missing field Deal_Name", "", "{}", 1, 0, 0});
    return c;
  }

  fs::path dir_;
  std::string path_;
  ManualClock clock_;
};

TEST_F(StoreTest, FreshFileIsMigratedWithDurableSettings) {
  auto store = open();
  EXPECT_EQ(store->schema_version(), sql::kSchemaVersion);
  sqlite3* db = raw();
  EXPECT_EQ(query1(db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query1(db, "PRAGMA user_version"), std::to_string(sql::kSchemaVersion));
  sqlite3_close(db);
  EXPECT_TRUE(store->checkpoints().empty());
  EXPECT_TRUE(store->outbox_list().empty());
  EXPECT_TRUE(store->dead_letters().empty());
  EXPECT_TRUE(store->endpoint_states().empty());
  EXPECT_TRUE(store->recent_runs(10).empty());
}

TEST_F(StoreTest, ReopenKeepsEveryTable) {
  {
    auto store = open();
    store->commit(full_commit("a"));
    add_intent(*store, "calls", "c1", "timelog.upsert", R"({"hours":"01:00"})");
    store->ref_cache_put({{"Zoho Projects", "project", "R1", "P9", 1, 0}, {"Zoho Projects", "project", "R2", "", 3, 0}});
    store->save_endpoint_state({"people/addupdatetimelogs", {1, 2, 3}, 99, 2, 7, 0});
    const auto run = store->begin_run("run-once");
    store->finish_run(run, 0, "ok");
  }
  auto store = open();
  auto cp = store->checkpoint("deals");
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->watermark, "2024-05-01T10:00:00+05:30");
  EXPECT_EQ(cp->ids_at_watermark, (std::vector<std::string>{"d1", "d2"}));
  EXPECT_EQ(store->id_map_get("deals", "d1-a")->target_id, "P1");
  EXPECT_EQ(store->id_map_list("deals").size(), 2u);
  ASSERT_EQ(store->outbox_list().size(), 1u);
  EXPECT_EQ(store->outbox_list()[0].payload, R"({"hours":"01:00"})");
  EXPECT_EQ(store->dead_letters().size(), 1u);
  auto refs = store->ref_cache_get("Zoho Projects", "project", {"R1", "R2", "R3"});
  EXPECT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs.at("R1").people_id, "P9");
  EXPECT_EQ(store->ref_cache_unresolved().size(), 1u);
  EXPECT_EQ(store->ref_cache_unresolved()[0].attempts, 3);
  auto ep = store->endpoint_state("people/addupdatetimelogs");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->recent_calls_ms, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(ep->locked_until_ms, 99);
  EXPECT_EQ(ep->lock_count, 2);
  EXPECT_EQ(ep->daily_used, 7);
  auto runs = store->recent_runs(5);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].mode, "run-once");
  EXPECT_EQ(runs[0].exit_code, 0);
  auto counts = store->counts_by_stream();
  EXPECT_EQ(counts["deals"].id_map, 2);
  EXPECT_EQ(counts["deals"].dead_letters, 1);
  EXPECT_EQ(counts["calls"].outbox, 1);
}

TEST_F(StoreTest, MigrationFromThePreviousVersionKeepsData) {
  {
    sqlite3* db = raw();
    exec(db, sql::kMigrations[0]);
    exec(db, "PRAGMA user_version = 1");
    exec(db, "INSERT INTO checkpoints VALUES('deals', '2024-01-01T00:00:00Z', 5)");
    exec(db, "INSERT INTO checkpoint_ids VALUES('deals', 'x1')");
    exec(db, "INSERT INTO id_map VALUES('deals', 'x1', 'P1', 'h', 5)");
    exec(db, "INSERT INTO ref_cache VALUES('Zoho Projects', 'project', 'R1', '', 5)");
    sqlite3_close(db);
  }
  auto store = open();
  EXPECT_EQ(store->schema_version(), sql::kSchemaVersion);
  EXPECT_EQ(store->checkpoint("deals")->watermark, "2024-01-01T00:00:00Z");
  EXPECT_EQ(store->checkpoint("deals")->ids_at_watermark, std::vector<std::string>{"x1"});
  EXPECT_EQ(store->id_map_get("deals", "x1")->target_id, "P1");
  auto unresolved = store->ref_cache_unresolved();
  ASSERT_EQ(unresolved.size(), 1u);
  EXPECT_EQ(unresolved[0].attempts, 0);  // the column v2 added, defaulted
  EXPECT_EQ(store->begin_run("daemon"), 1);  // the table v2 added
}

TEST_F(StoreTest, FailureInsideAnAtomicCommitLeavesNothing) {
  auto store = open();
  store->commit(full_commit("before"));
  const auto outbox_id = add_intent(*store, "deals", "d1", "job.add", "{}");
  // Make the third statement of the commit fail: an id-map insert.
  sqlite3* db = raw();
  exec(db, "CREATE TRIGGER boom BEFORE INSERT ON id_map WHEN NEW.source_key = 'd2-fail' "
           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  Commit c = full_commit("fail");
  c.checkpoints[0].watermark = "2024-06-01T00:00:00Z";
  c.outbox_done.push_back(outbox_id);
  EXPECT_THROW(store->commit(c), StoreError);
  // Nothing of it is visible: checkpoint, first id-map row, outbox, dead letter.
  EXPECT_EQ(store->checkpoint("deals")->watermark, "2024-05-01T10:00:00+05:30");
  EXPECT_FALSE(store->id_map_get("deals", "d1-fail"));
  EXPECT_EQ(store->outbox_list().size(), 1u);
  EXPECT_EQ(store->dead_letters().size(), 1u);
  // And the store is still usable once the cause is gone.
  exec(db, "DROP TRIGGER boom");
  sqlite3_close(db);
  store->commit(c);
  EXPECT_EQ(store->checkpoint("deals")->watermark, "2024-06-01T00:00:00Z");
  EXPECT_TRUE(store->outbox_list().empty());
  EXPECT_EQ(store->dead_letters().size(), 2u);
}

TEST_F(StoreTest, EveryStatementOfTheCommitPathFailingLeavesNothing) {
  // Fail-Nth: a trigger aborts the Nth write of the commit, for each N.
  const std::vector<std::string> triggers{
      "BEFORE INSERT ON checkpoints",  "BEFORE DELETE ON checkpoint_ids", "BEFORE INSERT ON checkpoint_ids",
      "BEFORE INSERT ON id_map",       "BEFORE DELETE ON id_map",         "BEFORE DELETE ON outbox",
      "BEFORE UPDATE ON outbox",       "BEFORE INSERT ON dead_letters"};
  for (const auto& when : triggers) {
    fs::remove(path_);
    fs::remove(path_ + "-wal");
    fs::remove(path_ + "-shm");
    auto store = open();
    store->commit(Commit{{{"s", "w0", {"old"}, 0}}, {{"s", "keep", "T0", "h0", 0}}, {}, {}, {}, {}, {}});
    const auto o1 = add_intent(*store, "s", "k1", "op", "{}");
    const auto o2 = add_intent(*store, "s", "k2", "op", "{}");
    sqlite3* db = raw();
    exec(db, "CREATE TRIGGER boom " + when + " BEGIN SELECT RAISE(ABORT, 'injected'); END");
    Commit c;
    c.checkpoints.push_back({"s", "w1", {"new"}, 0});
    c.id_map_upserts.push_back({"s", "k1", "T1", "h1", 0});
    c.id_map_deletes.push_back({"s", "keep"});
    c.outbox_done.push_back(o1);
    c.outbox_state.push_back({o2, OutboxState::sent});
    c.dead_letters.push_back({0, "s", "k3", "r", "", "{}", 1, 0, 0});
    EXPECT_THROW(store->commit(c), StoreError) << when;
    EXPECT_EQ(store->checkpoint("s")->watermark, "w0") << when;
    EXPECT_EQ(store->checkpoint("s")->ids_at_watermark, std::vector<std::string>{"old"}) << when;
    EXPECT_TRUE(store->id_map_get("s", "keep")) << when;
    EXPECT_FALSE(store->id_map_get("s", "k1")) << when;
    EXPECT_EQ(store->outbox_list().size(), 2u) << when;
    EXPECT_EQ(store->outbox_list()[1].state, OutboxState::pending) << when;
    EXPECT_TRUE(store->dead_letters().empty()) << when;
    exec(db, "DROP TRIGGER boom");
    sqlite3_close(db);
  }
}

TEST_F(StoreTest, NewerSchemaIsRefusedAndUntouched) {
  {
    auto store = open();
  }
  sqlite3* db = raw();
  exec(db, "PRAGMA user_version = 99");
  sqlite3_close(db);
  try {
    open();
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("newer peoplesync (schema v99"), std::string::npos) << e.what();
  }
  db = raw();
  EXPECT_EQ(query1(db, "PRAGMA user_version"), "99");
  sqlite3_close(db);
}

TEST_F(StoreTest, GarbageFileIsRefusedAndLeftAsItWas) {
  std::string garbage(8192, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 7919) % 251);
  std::ofstream(path_, std::ios::binary) << garbage;
  try {
    open();
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("left untouched"), std::string::npos) << e.what();
  }
  std::ifstream in(path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), garbage);
}

TEST_F(StoreTest, MissingDirectoryIsAClearError) {
  try {
    Store::open((dir_ / "no" / "such" / "state.db").string(), clock_);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("does the directory exist"), std::string::npos) << e.what();
  }
}

TEST_F(StoreTest, OutboxStatesAndAttempts) {
  auto store = open();
  const auto id = add_intent(*store, "calls", "c1", "timelog.upsert", "{}");
  // Through the commit, as the engine moves them: sent (an attempt), in doubt, sent again.
  for (OutboxState st : {OutboxState::sent, OutboxState::in_doubt, OutboxState::sent}) {
    Commit c;
    c.outbox_state.push_back({id, st});
    store->commit(c);
  }
  auto list = store->outbox_list("calls");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state, OutboxState::sent);
  EXPECT_EQ(list[0].attempts, 2);
  EXPECT_TRUE(store->outbox_list("deals").empty());
}

TEST_F(StoreTest, DeadLettersRequeued) {
  auto store = open();
  Commit c;
  c.dead_letters.push_back({0, "calls", "1", "r1", "9025", "{\"a\":1}", 1, 0, 0});
  c.dead_letters.push_back({0, "calls", "2", "r2", "", "{}", 2, 0, 0});
  c.dead_letters.push_back({0, "deals", "3", "r3", "", "{}", 1, 0, 0});
  store->commit(c);
  EXPECT_EQ(store->requeue_dead_letters(std::string("calls")), 2);
  EXPECT_EQ(store->dead_letters().size(), 1u);
  auto outbox = store->outbox_list("calls");
  ASSERT_EQ(outbox.size(), 2u);
  EXPECT_EQ(outbox[0].op, "retry");
  EXPECT_EQ(outbox[0].payload, "{\"a\":1}");
  EXPECT_EQ(store->requeue_dead_letters(std::nullopt), 1);
  EXPECT_TRUE(store->dead_letters().empty());
}

TEST_F(StoreTest, ResetCheckpoint) {
  auto store = open();
  store->commit(full_commit("x"));
  store->reset_checkpoint("deals", std::string("2023-01-01T00:00:00Z"));
  EXPECT_EQ(store->checkpoint("deals")->watermark, "2023-01-01T00:00:00Z");
  EXPECT_TRUE(store->checkpoint("deals")->ids_at_watermark.empty());
  store->reset_checkpoint("deals", std::nullopt);
  EXPECT_FALSE(store->checkpoint("deals"));
}

TEST_F(StoreTest, TimestampsComeFromTheInjectedClock) {
  auto store = open();
  clock_.set_wall(from_unix_ms(1'234'567'000));
  add_intent(*store, "s", "k", "op", "{}");
  EXPECT_EQ(store->outbox_list()[0].created_at_ms, 1'234'567'000);
}

TEST_F(StoreTest, EndpointDailyLogRoundTripsAndDefaultsAfterMigration) {
  {
    sqlite3* db = raw();
    exec(db, sql::kMigrations[0]);
    exec(db, sql::kMigrations[1]);
    exec(db, "PRAGMA user_version = 2");
    exec(db, "INSERT INTO endpoint_state VALUES('crm', '5,6', 0, 1, 9, 7)");
    sqlite3_close(db);
  }
  auto store = open();
  auto old = store->endpoint_state("crm");
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->daily_log.empty());  // the column v3 added, defaulted
  EXPECT_EQ(old->daily_used, 9);
  EndpointState e;
  e.endpoint = "crm";
  e.daily_log = {{1'000, 3}, {601'000, 40}};
  store->save_endpoint_state(e);
  EXPECT_EQ(store->endpoint_state("crm")->daily_log, e.daily_log);
}

TEST_F(StoreTest, DeadLetterReplacementFindsRowsByIndex) {
  // kDeadDeleteKey runs for every record a pass syncs or dead-letters; a scan
  // of the whole table there made a backfill quadratic (schema v4).
  auto store = open();
  sqlite3* db = raw();
  std::string plan;
  sqlite3_stmt* s = nullptr;
  const std::string q = std::string("EXPLAIN QUERY PLAN ") + sql::kDeadDeleteKey;
  ASSERT_EQ(sqlite3_prepare_v2(db, q.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (sqlite3_step(s) == SQLITE_ROW) plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
  sqlite3_finalize(s);
  sqlite3_close(db);
  EXPECT_NE(plan.find("USING INDEX dead_letters_by_key"), std::string::npos) << plan;
}

}  // namespace
}  // namespace peoplesync::state
