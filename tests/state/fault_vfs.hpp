#pragma once
// A SQLite VFS for tests that wraps the platform's default VFS ("unix") and
// can make one of its I/O operations fail: the Nth counted call ("fail once"),
// or the Nth and every later one until disarmed ("sticky": a device that went
// away, a disk that filled up). Everything else is forwarded unchanged,
// including the shared-memory methods WAL mode needs.
//
// install() registers it as the process's default VFS, so Store::open (which
// names no VFS) goes through it; use_default_vfs(false) makes the real VFS the
// default again ("reopen with the normal VFS").
#include <sqlite3.h>

#include <functional>
#include <string>

namespace peoplesync::state::testing {

enum class IoOp : unsigned {
  open = 1u << 0,          // xOpen of any file (main database, WAL)
  read = 1u << 1,          // xRead
  write = 1u << 2,         // xWrite
  truncate = 1u << 3,      // xTruncate
  sync = 1u << 4,          // xSync
  file_size = 1u << 5,     // xFileSize
  lock = 1u << 6,          // xLock (not xUnlock: SQLite does not handle a failed unlock)
  shm_map = 1u << 7,       // xShmMap
  shm_lock = 1u << 8,      // xShmLock taking a lock (not releasing one)
  file_control = 1u << 9,  // xFileControl: SIZE_HINT, SYNC, COMMIT_PHASETWO, HAS_MOVED
  access = 1u << 10,       // xAccess
};
inline constexpr unsigned kAllIoOps = (1u << 11) - 1;
const char* to_string(IoOp op);

struct FaultPlan {
  bool armed = false;
  long fail_at = 0;               // 1-based index among counted calls
  bool sticky = false;            // fail every counted call from fail_at on
  unsigned ops = kAllIoOps;       // which operations are counted
  int code = 0;                   // error returned; 0: the operation's own SQLITE_IOERR_* code
  // Opening a main database for writing: open it read-only instead, as the
  // unix VFS does when open(O_RDWR) fails with EACCES or EROFS.
  bool main_db_read_only = false;
  bool main_db_cant_open = false;  // opening a main database fails (SQLITE_CANTOPEN)
  // Called (once per arming) when an exclusive shm lock is refused with
  // SQLITE_BUSY: another process holds the write lock.
  std::function<void()> on_busy;
};

struct FaultStats {
  long counted = 0;  // counted calls since arming
  long failed = 0;   // calls made to fail
  std::string first_failure;  // e.g. "xWrite #7 (state.db-wal)"
  long busy = 0;     // exclusive shm locks refused with SQLITE_BUSY
};

void install();                    // idempotent; makes the fault VFS the default
void use_default_vfs(bool fault);  // true: the fault VFS is the default; false: the real one
const char* real_vfs_name();       // e.g. "unix"
void arm(const FaultPlan& plan);   // resets the statistics
void disarm();                     // stops failing and counting (statistics kept)
const FaultStats& stats();

}  // namespace peoplesync::state::testing
