// The state store under storage faults (issue 8, item 4): every I/O operation
// of the checkpoint/outbox commit path made to fail in turn (fail-Nth), a full
// disk, a read-only file, corrupted files at start, and SQLITE_BUSY from a
// second process holding the write lock.
//
// Faults are injected by a wrapper VFS (fault_vfs.hpp) registered as SQLite's
// default, so Store::open goes through it unchanged. Every check of "what is
// on disk" reads the file through the real VFS on a separate connection.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "fault_vfs.hpp"
#include "state/schema.hpp"
#include "state/store.hpp"

namespace peoplesync::state {
namespace {

namespace fs = std::filesystem;
namespace ft = peoplesync::state::testing;

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A connection through the real VFS, as another process would have.
class Raw {
 public:
  explicit Raw(const std::string& path, bool write = false) {
    const int flags = write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, ft::real_vfs_name()) != SQLITE_OK)
      ADD_FAILURE() << "raw open " << path << ": " << sqlite3_errmsg(db_);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Raw() { sqlite3_close_v2(db_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  // Rows of one query as text, one line per row; "(error: ...)" on failure.
  std::string rows(const std::string& sql) const {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      return std::string("(error: ") + sqlite3_errmsg(db_) + ")";
    std::string out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const auto* t = sqlite3_column_text(s, i);
        out += i ? "|" : "";
        out += t ? reinterpret_cast<const char*>(t) : "NULL";
      }
      out += "\n";
    }
    if (rc != SQLITE_DONE) out += std::string("(error: ") + sqlite3_errmsg(db_) + ")";
    sqlite3_finalize(s);
    return out;
  }
  std::string exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string out = rc == SQLITE_OK ? "" : (err ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    return out;
  }

  // Everything a commit can change, and what could be collateral damage.
  std::string snapshot() const {
    std::string out;
    for (const char* t : {"checkpoints", "checkpoint_ids", "id_map", "outbox", "dead_letters", "runs",
                          "endpoint_state", "ref_cache"})
      out += std::string("[") + t + "]\n" + rows(std::string("SELECT * FROM ") + t + " ORDER BY 1, 2");
    out += "[seq]\n" + rows("SELECT * FROM sqlite_sequence ORDER BY 1");
    out += "[version]\n" + rows("PRAGMA user_version");
    return out;
  }
  std::string integrity() const { return rows("PRAGMA integrity_check"); }

 private:
  sqlite3* db_ = nullptr;
};

// Waits for a forked child; true if it exited with status 0.
bool reap(pid_t child) {
  int status = 0;
  if (waitpid(child, &status, 0) != child) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

class StorageFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ft::install();
    dir_ = base_dir() / ("peoplesync-faults-" + std::to_string(::getpid()) + "-" +
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override {
    ft::disarm();
    ft::use_default_vfs(true);
    fs::remove_all(dir_);
  }

  // Where the test's files go. The fail-Nth matrix opens, fsyncs and copies
  // some hundred small files: it uses tmpfs (/dev/shm) when there is one, which
  // makes fsync free and changes nothing in what is injected.
  virtual fs::path base_dir() const { return fs::path(::testing::TempDir()); }

  std::unique_ptr<Store> open(const std::string& path) { return Store::open(path, clock_); }
  // Store::open through the real VFS.
  std::unique_ptr<Store> open_normal(const std::string& path) {
    ft::use_default_vfs(false);
    try {
      auto s = Store::open(path, clock_);
      ft::use_default_vfs(true);
      return s;
    } catch (...) {
      ft::use_default_vfs(true);
      throw;
    }
  }

  fs::path dir_;
  std::string path_;
  ManualClock clock_;
};

// ---------------------------------------------------------------- fail-Nth

// A seeded state file and one operation on it; the matrix below runs the
// operation with the Nth I/O call failing, for N = 1, 2, ... until the
// operation no longer reaches N.
struct Scenario {
  std::string name;
  std::function<void(Store&)> seed;  // into the template file
  // Then, on the template still open (its -wal kept, as after a crash):
  // makes the WAL that every run starts from.
  std::function<void(Store&, const std::string& path)> prepare_wal = {};
  // On each run's store, opened, before arming.
  std::function<void(Store&, const std::string& path)> prepare = {};
  std::function<void(Store&)> op;
};

// Copies a state file and its WAL (not the -shm: as after a crash).
void copy_state(const std::string& from, const std::string& to) {
  for (const char* suffix : {"", "-wal"})
    if (fs::exists(from + suffix)) fs::copy_file(from + suffix, to + suffix);
}

// WAL frames in the file's -wal (0 if none).
long wal_frames(const std::string& db) {
  std::error_code ec;
  const auto size = fs::file_size(db + "-wal", ec);
  if (ec || size < 32) return 0;
  return static_cast<long>((size - 32) / (4096 + 24));
}

std::string big(char c, std::size_t n) { return std::string(n, c); }  // spills onto overflow pages

Scenario commit_scenario() {
  Scenario s;
  s.name = "Store::commit";
  s.seed = [](Store& st) {
    st.commit(Commit{{{"deals", "w0", {"old1", "old2"}, 0}},
                     {{"deals", "keep", "T0", "h0", 0}, {"deals", "k1", "T-old", "h-old", 0}},
                     {}, {}, {}, {{0, "deals", "k1", "stale", "", "{}", 1, 0, 0}}, {}});
    st.outbox_add_many({{0, "deals", "k1", "job.add", big('a', 3000), OutboxState::pending, 0, 0, 0}});
    st.outbox_add_many({{0, "deals", "k2", "job.add", big('b', 3000), OutboxState::pending, 0, 0, 0}});
    st.save_endpoint_state({"crm", {1, 2, 3}, 0, 0, 3, 0});
  };
  s.op = [](Store& st) {
    Commit c;
    c.checkpoints.push_back({"deals", "w1", {"new1", "new2", "new3"}, 0});
    c.checkpoints.push_back({"calls", "c1", {"x"}, 0});
    c.id_map_upserts.push_back({"deals", "k1", "T1", "h1", 0});
    c.id_map_upserts.push_back({"deals", "k4", "T4", big('h', 2000), 0});
    c.id_map_deletes.push_back({"deals", "keep"});
    c.outbox_done.push_back(1);
    c.outbox_state.push_back({2, OutboxState::sent});
    c.outbox_inserts.push_back({0, "deals", "k5", "job.add", big('p', 3000), OutboxState::pending, 2, 0, 0});
    c.dead_letters.push_back({0, "deals", "k3", "missing field Deal_Name", "9025", big('d', 2500), 1, 0, 0});
    st.commit(c);
  };
  return s;
}

// The commit, made by a store whose page cache another process has just
// invalidated: the commit re-reads what changed (xRead, xShmMap, ...).
Scenario cold_commit_scenario() {
  Scenario s = commit_scenario();
  s.name = "Store::commit (cold)";
  s.prepare = [](Store&, const std::string& path) {
    Raw other(path, true);
    EXPECT_EQ(other.exec("INSERT INTO runs(mode, started_at_ms) VALUES('other process', 1)"), "");
  };
  return s;
}

// The commit that brings the WAL past SQLite's auto-checkpoint threshold
// (1000 pages): the checkpoint copying it into the database file runs inside
// the commit, and is failed in turn too. The WAL is filled by rewriting one
// row, so the checkpoint has few distinct pages to copy.
Scenario checkpointing_commit_scenario() {
  Scenario s = commit_scenario();
  s.name = "Store::commit (checkpoint)";
  s.prepare_wal = [](Store& st, const std::string& path) {
    for (std::int64_t i = 0; wal_frames(path) < 990; ++i) st.save_endpoint_state({"crm", {i}, 0, 0, i, 0});
  };
  return s;
}

Scenario add_many_scenario() {
  Scenario s;
  s.name = "Store::outbox_add_many";
  s.seed = [](Store& st) {
    st.commit(Commit{{{"calls", "w0", {}, 0}}, {}, {}, {}, {}, {}, {}});
    st.outbox_add_many({{0, "calls", "c0", "timelog.upsert", "{}", OutboxState::pending, 0, 0, 0}});
  };
  s.op = [](Store& st) {
    std::vector<OutboxEntry> entries;
    for (int i = 1; i <= 3; ++i)
      entries.push_back({0, "calls", "c" + std::to_string(i), "timelog.upsert", big(static_cast<char>('a' + i), 2500),
                         i == 3 ? OutboxState::sent : OutboxState::pending, i == 3 ? 1 : 0, 0, 0});
    st.outbox_add_many(entries);
  };
  return s;
}

struct MatrixResult {
  long points = 0;         // injection points covered (N for which the Nth call happened)
  long threw = 0;          // ... where the operation threw StoreError
  long absorbed = 0;       // ... where SQLite recovered by itself and the operation succeeded
  long live_after = 0;     // ... where the live store already showed the change after the error
  long crash_after = 0;    // ... where the file image at that moment already held the change
  std::set<std::string> first_failures;
};

class FailNthTest : public StorageFaultTest {
 protected:
  fs::path base_dir() const override {
    std::error_code ec;
    if (fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
    return StorageFaultTest::base_dir();
  }

  // Runs the matrix for one scenario; sticky: the Nth call and every later
  // one fail until the operation has returned.
  MatrixResult run_matrix(const Scenario& sc, bool sticky, ft::FaultPlan base = {}) {
    MatrixResult res;
    const fs::path dir = dir_ / ("matrix" + std::to_string(++matrices_));
    fs::create_directories(dir);
    // The template: the seeded file, closed (WAL checkpointed into it), or
    // with the WAL prepare_wal made.
    fs::path tmpl = dir / "template.db";
    {
      auto st = open_normal(tmpl.string());
      sc.seed(*st);
      if (sc.prepare_wal) {
        sc.prepare_wal(*st, tmpl.string());
        const fs::path with_wal = dir / "template-wal.db";
        copy_state(tmpl.string(), with_wal.string());
        tmpl = with_wal;
      }
    }
    // The reference states: before, after once, after twice.
    std::string before, after1, after2;
    {
      const fs::path ref = dir / "ref.db";
      copy_state(tmpl.string(), ref.string());
      auto st = open(ref.string());
      if (sc.prepare) sc.prepare(*st, ref.string());
      before = Raw(ref.string()).snapshot();
      const std::string file_before = read_bytes(ref);
      sc.op(*st);
      after1 = Raw(ref.string()).snapshot();
      if (sc.prepare_wal) {
        EXPECT_NE(read_bytes(ref), file_before) << "the commit did not checkpoint the WAL";
      }
      sc.op(*st);
      after2 = Raw(ref.string()).snapshot();
    }
    EXPECT_NE(before, after1);

    for (long n = 1; n < 10'000; ++n) {
      SCOPED_TRACE(sc.name + (sticky ? " sticky" : " once") + ", failing I/O call #" + std::to_string(n));
      const fs::path run_dir = dir / ("n" + std::to_string(n));
      fs::create_directories(run_dir);
      const std::string db = (run_dir / "state.db").string();
      copy_state(tmpl.string(), db);
      auto st = open(db);
      if (sc.prepare) sc.prepare(*st, db);

      ft::FaultPlan plan = base;
      plan.fail_at = n;
      plan.sticky = sticky;
      ft::arm(plan);
      bool threw = false;
      std::string message;
      try {
        sc.op(*st);
      } catch (const StoreError& e) {
        threw = true;
        message = e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "not a StoreError: " << e.what();
        threw = true;
      }
      const ft::FaultStats stats = ft::stats();
      ft::disarm();

      if (stats.failed == 0) {
        // The operation completed before reaching call #n: the matrix is done.
        EXPECT_FALSE(threw) << message;
        EXPECT_EQ(Raw(db).snapshot(), after1);
        st.reset();
        fs::remove_all(run_dir);
        break;
      }
      ++res.points;
      res.first_failures.insert(stats.first_failure.substr(0, stats.first_failure.find(' ')));
      SCOPED_TRACE("injected: " + stats.first_failure + (threw ? ", threw: " + message : ", no error"));

      if (!threw) {
        ++res.absorbed;
      } else {
        ++res.threw;
        EXPECT_TRUE(contains(message, db)) << "the error names the state file: " << message;
        if (base.code == SQLITE_FULL) {
          EXPECT_TRUE(contains(message, "disk full") && contains(message, "no space")) << message;
        } else {
          EXPECT_TRUE(contains(message, "I/O error")) << "the error says what failed: " << message;
        }
      }

      // 1. What the file holds at this moment, as if the process died now:
      //    exactly before or exactly after, intact, and the same operation
      //    goes through on it.
      const fs::path crash_dir = run_dir / "crash";
      fs::create_directories(crash_dir);
      const std::string crash = (crash_dir / "state.db").string();
      copy_state(db, crash);
      {
        auto reopened = open_normal(crash);
        const std::string seen = Raw(crash).snapshot();
        EXPECT_TRUE(seen == before || seen == after1) << "the file image is neither before nor after:\n" << seen;
        if (seen == after1) {
        ++res.crash_after;
        std::printf("[fail-Nth]   file image 'after' although the call %s: %s\n", threw ? "threw" : "succeeded",
                    stats.first_failure.c_str());
      }
        EXPECT_EQ(Raw(crash).integrity(), "ok\n");
        EXPECT_NO_THROW(sc.op(*reopened));
        EXPECT_EQ(Raw(crash).snapshot(), seen == after1 ? after2 : after1);
      }

      // 2. The live store, seen from another connection: before or after;
      //    the same store object accepts the operation again.
      const std::string live = Raw(db).snapshot();
      EXPECT_TRUE(live == before || live == after1) << "the live state is neither before nor after:\n" << live;
      if (!threw) {
        EXPECT_EQ(live, after1) << "no error, so the change must be there";
      } else if (live == after1) {
        ++res.live_after;
        std::printf("[fail-Nth]   live state 'after' although the call threw: %s: %s\n", stats.first_failure.c_str(),
                    message.c_str());
      }
      if (threw) {
        EXPECT_NO_THROW(sc.op(*st));
        EXPECT_EQ(Raw(db).snapshot(), live == after1 ? after2 : after1);
      }
      const std::string final_state = Raw(db).snapshot();

      // 3. Closed and reopened with the normal VFS: the same, intact.
      st.reset();
      {
        auto reopened = open_normal(db);
        EXPECT_EQ(Raw(db).snapshot(), final_state);
        EXPECT_EQ(Raw(db).integrity(), "ok\n");
      }
      fs::remove_all(run_dir);
      if (::testing::Test::HasFailure()) break;  // one broken point is enough to read
    }
    std::string kinds;
    for (const auto& k : res.first_failures) kinds += (kinds.empty() ? "" : ",") + k;
    std::printf(
        "[fail-Nth] %-26s %-9s: %ld injection points (%s); %ld threw StoreError, %ld absorbed by SQLite; "
        "after the error: live state 'after' %ld, file image 'after' %ld\n",
        sc.name.c_str(), base.code == SQLITE_FULL ? "disk full" : sticky ? "sticky" : "once", res.points, kinds.c_str(), res.threw, res.absorbed,
        res.live_after, res.crash_after);
    fs::remove_all(dir);
    return res;
  }
  int matrices_ = 0;
};

TEST_F(FailNthTest, CommitEveryIoCallFailingOnceIsAtomic) {
  const auto r = run_matrix(commit_scenario(), false);
  EXPECT_GE(r.points, 10);
  EXPECT_GE(r.threw, 1);
}

TEST_F(FailNthTest, CommitWithTheDeviceFailingFromTheNthCallOnIsAtomic) {
  const auto r = run_matrix(commit_scenario(), true);
  EXPECT_GE(r.points, 10);
}

TEST_F(FailNthTest, CommitAfterAnotherProcessWroteEveryIoCallFailingIsAtomic) {
  const auto r = run_matrix(cold_commit_scenario(), false);
  EXPECT_GE(r.points, 10);
  EXPECT_EQ(r.first_failures.count("xRead"), 1u);
}

TEST_F(FailNthTest, CommitThatCheckpointsTheWalEveryIoCallFailingIsAtomic) {
  const auto r = run_matrix(checkpointing_commit_scenario(), false);
  EXPECT_GE(r.points, 20);
}

TEST_F(FailNthTest, OutboxAddManyEveryIoCallFailingIsAtomic) {
  EXPECT_GE(run_matrix(add_many_scenario(), false).points, 5);
  EXPECT_GE(run_matrix(add_many_scenario(), true).points, 5);
}

// ---------------------------------------------------------------- full disk

TEST_F(FailNthTest, DiskFullFromAnyWriteOfTheCommitOnIsAClearErrorAndNothingHalfWritten) {
  // The disk fills up at the Nth write and stays full until the call returns;
  // then space comes back and the same commit goes through (run_matrix).
  ft::FaultPlan full;
  full.ops = static_cast<unsigned>(ft::IoOp::write) | static_cast<unsigned>(ft::IoOp::truncate);
  full.code = SQLITE_FULL;
  const auto r = run_matrix(commit_scenario(), true, full);
  EXPECT_GE(r.points, 10);
  EXPECT_EQ(r.threw, r.points);
  EXPECT_GE(run_matrix(checkpointing_commit_scenario(), true, full).points, 20);
  EXPECT_GE(run_matrix(add_many_scenario(), true, full).points, 5);
}

TEST_F(FailNthTest, DiskFullWhileCreatingTheStateFileLeavesAFileTheNextStartAccepts) {
  // The first start on a full disk: whatever it left behind, the next start
  // (with space back) must not refuse it as damaged.
  long points = 0, absorbed = 0;
  for (long n = 1; n < 1000; ++n) {
    SCOPED_TRACE("write #" + std::to_string(n) + " and later fail with SQLITE_FULL");
    const fs::path run_dir = dir_ / ("n" + std::to_string(n));
    fs::create_directories(run_dir);
    const std::string db = (run_dir / "state.db").string();
    ft::FaultPlan full;
    full.ops = static_cast<unsigned>(ft::IoOp::write) | static_cast<unsigned>(ft::IoOp::truncate);
    full.code = SQLITE_FULL;
    full.fail_at = n;
    full.sticky = true;
    ft::arm(full);
    std::string message;
    try {
      open(db);
    } catch (const StoreError& e) {
      message = e.what();
    }
    const long failed = ft::stats().failed;
    ft::disarm();
    if (failed == 0) {
      EXPECT_EQ(message, "");
      break;
    }
    ++points;
    if (message.empty()) {
      ++absorbed;  // SQLite got over it (a write it could do without)
    } else {
      EXPECT_TRUE(contains(message, db) && contains(message, "disk full")) << message;
    }
    EXPECT_NO_THROW({
      auto st = open_normal(db);
      EXPECT_EQ(st->schema_version(), sql::kSchemaVersion);
      st->commit(Commit{{{"deals", "w1", {}, 0}}, {}, {}, {}, {}, {}, {}});
    });
    EXPECT_EQ(Raw(db).integrity(), "ok\n");
    fs::remove_all(run_dir);
    if (HasFailure()) break;
  }
  std::printf("[disk full] first start on a full disk: %ld injection points, %ld absorbed by SQLite\n", points,
              absorbed);
  EXPECT_GE(points, 3);
}

// ---------------------------------------------------------------- read-only

TEST_F(StorageFaultTest, ReadOnlyStateFileIsRefusedAtOpenNamingThePath) {
  {
    auto st = open(path_);
    st->commit(Commit{{{"deals", "w1", {"a"}, 0}}, {}, {}, {}, {}, {}, {}});
  }
  const std::string bytes = read_bytes(path_);
  const auto files = listing(dir_);
  // The file system refuses to open it for writing (EROFS, or EACCES for a
  // non-root user): the unix VFS then opens it read-only.
  ft::FaultPlan ro;
  ro.main_db_read_only = true;
  ro.ops = 0;
  ft::arm(ro);
  try {
    open(path_);
    ADD_FAILURE() << "a read-only state file was accepted";
  } catch (const StoreError& e) {
    const std::string m = e.what();
    EXPECT_TRUE(contains(m, path_) && contains(m, "read-only")) << m;
  }
  ft::disarm();
  EXPECT_TRUE(read_bytes(path_) == bytes) << "the file was modified";
  EXPECT_EQ(listing(dir_), files);
  EXPECT_EQ(open(path_)->checkpoint("deals")->watermark, "w1");
}

TEST_F(StorageFaultTest, StateFileThatCannotBeOpenedIsAClearError) {
  ft::FaultPlan no;
  no.main_db_cant_open = true;
  no.ops = 0;
  ft::arm(no);
  try {
    open(path_);
    ADD_FAILURE() << "expected StoreError";
  } catch (const StoreError& e) {
    const std::string m = e.what();
    EXPECT_TRUE(contains(m, "cannot open state file " + path_)) << m;
  }
}

TEST_F(StorageFaultTest, ReadOnlyFileAndDirectoryForANonRootUser) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores file permissions; the VFS tests above cover this";
  {
    auto st = open(path_);
  }
  const std::string bytes = read_bytes(path_);
  ASSERT_EQ(::chmod(path_.c_str(), 0444), 0);
  try {
    open(path_);
    ADD_FAILURE() << "a read-only state file was accepted";
  } catch (const StoreError& e) {
    EXPECT_TRUE(contains(e.what(), path_) && contains(e.what(), "read-only")) << e.what();
  }
  EXPECT_EQ(read_bytes(path_), bytes);
  ::chmod(path_.c_str(), 0644);
  const fs::path ro_dir = dir_ / "ro";
  fs::create_directories(ro_dir);
  ASSERT_EQ(::chmod(ro_dir.c_str(), 0555), 0);
  try {
    open((ro_dir / "state.db").string());
    ADD_FAILURE() << "a state file in a read-only directory was accepted";
  } catch (const StoreError& e) {
    EXPECT_TRUE(contains(e.what(), (ro_dir / "state.db").string())) << e.what();
  }
  ::chmod(ro_dir.c_str(), 0755);
}

// ---------------------------------------------------------------- corrupted files

class CorruptFileTest : public StorageFaultTest {
 protected:
  // A real state file with some pages of data, closed.
  std::string valid_state_file() {
    const std::string p = (dir_ / "valid.db").string();
    {
      auto st = open_normal(p);
      for (int i = 0; i < 20; ++i)
        st->outbox_add_many({{0, "deals", "k" + std::to_string(i), "job.add", big('v', 1500), OutboxState::pending, 0, 0, 0}});
      st->commit(Commit{{{"deals", "w1", {"a"}, 0}}, {}, {}, {}, {}, {}, {}});
    }
    std::string bytes = read_bytes(p);
    fs::remove(p);
    EXPECT_GT(bytes.size(), 8u * 4096);
    return bytes;
  }

  // Store::open refuses the file, naming it and saying why; the file and its
  // directory are exactly as they were.
  void expect_refused(const std::string& what, const std::string& bytes) {
    SCOPED_TRACE(what);
    write_bytes(path_, bytes);
    const auto files = listing(dir_);
    for (bool normal : {false, true}) {
      try {
        normal ? open_normal(path_) : open(path_);
        ADD_FAILURE() << "accepted";
      } catch (const StoreError& e) {
        const std::string m = e.what();
        EXPECT_TRUE(contains(m, "state file " + path_)) << m;
        EXPECT_TRUE(contains(m, "damaged") || contains(m, "not a usable peoplesync database") ||
                    contains(m, "not a peoplesync state file"))
            << m;
        EXPECT_TRUE(contains(m, "left untouched")) << m;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "not a StoreError: " << e.what();
      }
      EXPECT_TRUE(read_bytes(path_) == bytes) << "the file was modified";
      EXPECT_EQ(listing(dir_), files) << "no -wal, -shm or -journal left behind";
    }
    fs::remove(path_);
  }
};

std::string pseudo_random(std::size_t n, unsigned seed) {
  std::string out(n, '\0');
  unsigned x = seed;
  for (auto& c : out) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return out;
}

TEST_F(CorruptFileTest, GarbageBytes) { expect_refused("garbage", pseudo_random(3 * 4096 + 17, 7)); }

TEST_F(CorruptFileTest, TextFile) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "zoho:\n  client_id: x   # this is a config file, not a state file\n";
  expect_refused("text file", text);
}

TEST_F(CorruptFileTest, SqliteHeaderFollowedByGarbagePages) {
  const std::string valid = valid_state_file();
  std::string bad = valid;
  const std::string noise = pseudo_random(bad.size() - 4096, 11);
  bad.replace(4096, noise.size(), noise);  // page 1 (header and schema) intact, every other page garbage
  expect_refused("header + garbage pages", bad);
  std::string bad_page1 = valid;
  bad_page1.replace(100, 4096 - 100, pseudo_random(4096 - 100, 13));  // the 100-byte header, then garbage
  expect_refused("header + garbage first page", bad_page1);
}

TEST_F(CorruptFileTest, TruncatedFile) {
  const std::string valid = valid_state_file();
  expect_refused("truncated to 2 pages", valid.substr(0, 2 * 4096));
  expect_refused("truncated mid-page", valid.substr(0, valid.size() / 2 + 100));
  expect_refused("header only", valid.substr(0, 100));
}

TEST_F(CorruptFileTest, SomeOtherApplicationsSqliteDatabase) {
  // A valid SQLite file that is not ours (a path mix-up in the config):
  // adding our tables to it would modify someone else's data.
  const std::string other = (dir_ / "other.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(other.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, ft::real_vfs_name()),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); "
                             "INSERT INTO customers(name) VALUES('Acme')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string bytes = read_bytes(other);
  fs::remove(other);
  expect_refused("another application's database", bytes);
}

TEST_F(CorruptFileTest, EmptyFileIsANewStateFile) {
  write_bytes(path_, "");
  EXPECT_NO_THROW(open(path_)->commit(Commit{{{"deals", "w1", {}, 0}}, {}, {}, {}, {}, {}, {}}));
}

// ---------------------------------------------------------------- a second process holds the lock

// A child process that opens the state file through the real VFS, takes the
// write lock and writes a row, tells the parent, and commits when the parent
// says so. No sleeps: both sides wait on pipes.
class LockHolder {
 public:
  explicit LockHolder(const std::string& path) {
    if (pipe(to_child_) != 0 || pipe(to_parent_) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      close(to_child_[1]);
      close(to_parent_[0]);
      sqlite3* db = nullptr;
      if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, ft::real_vfs_name()) != SQLITE_OK) _exit(3);
      if (sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO runs(mode, started_at_ms) VALUES('other process', 1)",
                       nullptr, nullptr, nullptr) != SQLITE_OK)
        _exit(4);
      const char locked = 'L';
      if (write(to_parent_[1], &locked, 1) != 1) _exit(5);
      char go = 0;
      if (read(to_child_[0], &go, 1) != 1) _exit(6);
      if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) _exit(7);
      sqlite3_close(db);
      _exit(0);
    }
    close(to_child_[0]);
    close(to_parent_[1]);
    char locked = 0;
    if (read(to_parent_[0], &locked, 1) != 1 || locked != 'L') throw std::runtime_error("child did not lock");
  }
  ~LockHolder() {
    release();
    wait();
    close(to_parent_[0]);
  }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

  // Async-signal-safe enough to call from inside SQLite's busy loop.
  void release() {
    if (released_) return;
    released_ = true;
    const char go = 'G';
    if (write(to_child_[1], &go, 1) != 1) ADD_FAILURE() << "cannot signal the child";
    close(to_child_[1]);
  }
  bool wait() {
    if (pid_ <= 0) return exited_ok_;
    exited_ok_ = reap(pid_);
    pid_ = 0;
    return exited_ok_;
  }

 private:
  int to_child_[2] = {-1, -1};
  int to_parent_[2] = {-1, -1};
  pid_t pid_ = -1;
  bool released_ = false;
  bool exited_ok_ = false;
};

TEST_F(StorageFaultTest, WriteWaitsForASecondProcessHoldingTheLockThenSucceeds) {
  { open(path_); }  // created and migrated; no connection open across fork()
  LockHolder other(path_);
  auto st = open(path_);  // reads go on while the other process writes (WAL)
  // The first time our write is refused the lock, the other process is told
  // to commit; the store's busy timeout must carry the write over the wait.
  ft::FaultPlan plan;
  plan.ops = 0;
  plan.on_busy = [&other] { other.release(); };
  ft::arm(plan);
  EXPECT_NO_THROW(st->commit(Commit{{{"deals", "w1", {"a"}, 0}}, {{"deals", "k1", "T1", "h", 0}}, {}, {}, {}, {}, {}}));
  const long busy = ft::stats().busy;
  ft::disarm();
  EXPECT_GE(busy, 1) << "the write never met the lock";
  EXPECT_TRUE(other.wait());
  // Nothing lost: the other process's row and ours.
  EXPECT_EQ(Raw(path_).rows("SELECT mode FROM runs"), "other process\n");
  EXPECT_EQ(st->checkpoint("deals")->watermark, "w1");
  EXPECT_TRUE(st->id_map_get("deals", "k1"));
  EXPECT_EQ(Raw(path_).integrity(), "ok\n");
}

TEST_F(StorageFaultTest, WriteBlockedLongerThanTheBusyTimeoutIsAClearErrorAndLosesNothing) {
  { open(path_); }
  auto other = std::make_unique<LockHolder>(path_);
  StoreOptions options;
  options.busy_timeout = std::chrono::milliseconds(20);
  auto st = Store::open(path_, clock_, options);
  const Commit c{{{"deals", "w1", {"a"}, 0}}, {{"deals", "k1", "T1", "h", 0}}, {}, {}, {}, {}, {}};
  try {
    st->commit(c);
    ADD_FAILURE() << "the write went through a held lock";
  } catch (const StoreError& e) {
    const std::string m = e.what();
    EXPECT_TRUE(contains(m, path_)) << m;
    EXPECT_TRUE(contains(m, "locked by another process")) << m;
  }
  EXPECT_FALSE(st->checkpoint("deals"));
  other->release();
  EXPECT_TRUE(other->wait());
  other.reset();
  // The lock is gone: the same commit now goes through, and nothing is lost.
  EXPECT_NO_THROW(st->commit(c));
  EXPECT_EQ(Raw(path_).rows("SELECT mode FROM runs"), "other process\n");
  EXPECT_EQ(st->checkpoint("deals")->watermark, "w1");
  EXPECT_TRUE(st->id_map_get("deals", "k1"));
  EXPECT_EQ(Raw(path_).integrity(), "ok\n");
}

}  // namespace
}  // namespace peoplesync::state
