#include "fault_vfs.hpp"

#include <cstring>
#include <stdexcept>

namespace peoplesync::state::testing {
namespace {

// Our file object: SQLite allocates szOsFile bytes; the real VFS's file
// object lives right after ours.
struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real;
  const char* name;  // for messages; owned by SQLite for the file's lifetime
};

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs{};
FaultPlan g_plan;
FaultStats g_stats;
bool g_busy_reported = false;

const char* base_name(const char* path) {
  if (!path) return "(temp)";
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// SQLITE_OK, or the error the counted call must return.
int inject(IoOp op, int natural, const char* file) {
  if (!g_plan.armed || (g_plan.ops & static_cast<unsigned>(op)) == 0) return SQLITE_OK;
  const long n = ++g_stats.counted;
  if (n == g_plan.fail_at || (g_plan.sticky && n > g_plan.fail_at)) {
    if (g_stats.failed++ == 0)
      g_stats.first_failure = std::string(to_string(op)) + " #" + std::to_string(n) + " (" + base_name(file) + ")";
    return g_plan.code ? g_plan.code : natural;
  }
  return SQLITE_OK;
}

sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }
const char* name_of(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->name; }

int f_close(sqlite3_file* f) {
  sqlite3_file* r = real_of(f);
  return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}
int f_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  if (int rc = inject(IoOp::read, SQLITE_IOERR_READ, name_of(f))) return rc;
  sqlite3_file* r = real_of(f);
  return r->pMethods->xRead(r, buf, n, off);
}
int f_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (int rc = inject(IoOp::write, SQLITE_IOERR_WRITE, name_of(f))) return rc;
  sqlite3_file* r = real_of(f);
  return r->pMethods->xWrite(r, buf, n, off);
}
int f_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = inject(IoOp::truncate, SQLITE_IOERR_TRUNCATE, name_of(f))) return rc;
  sqlite3_file* r = real_of(f);
  return r->pMethods->xTruncate(r, size);
}
int f_sync(sqlite3_file* f, int flags) {
  if (int rc = inject(IoOp::sync, SQLITE_IOERR_FSYNC, name_of(f))) return rc;
  sqlite3_file* r = real_of(f);
  return r->pMethods->xSync(r, flags);
}
int f_file_size(sqlite3_file* f, sqlite3_int64* size) {
  if (int rc = inject(IoOp::file_size, SQLITE_IOERR_FSTAT, name_of(f))) return rc;
  sqlite3_file* r = real_of(f);
  return r->pMethods->xFileSize(r, size);
}
int f_lock(sqlite3_file* f, int level) {
  if (int rc = inject(IoOp::lock, SQLITE_IOERR_LOCK, name_of(f))) return rc;
  sqlite3_file* r = real_of(f);
  return r->pMethods->xLock(r, level);
}
int f_unlock(sqlite3_file* f, int level) {
  sqlite3_file* r = real_of(f);
  return r->pMethods->xUnlock(r, level);
}
int f_check_reserved(sqlite3_file* f, int* out) {
  sqlite3_file* r = real_of(f);
  return r->pMethods->xCheckReservedLock(r, out);
}
int f_file_control(sqlite3_file* f, int op, void* arg) {
  if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_SYNC || op == SQLITE_FCNTL_COMMIT_PHASETWO ||
      op == SQLITE_FCNTL_HAS_MOVED) {
    if (int rc = inject(IoOp::file_control, SQLITE_IOERR, name_of(f))) return rc;
  }
  sqlite3_file* r = real_of(f);
  return r->pMethods->xFileControl(r, op, arg);
}
int f_sector_size(sqlite3_file* f) {
  sqlite3_file* r = real_of(f);
  return r->pMethods->xSectorSize(r);
}
int f_device_characteristics(sqlite3_file* f) {
  sqlite3_file* r = real_of(f);
  return r->pMethods->xDeviceCharacteristics(r);
}
int f_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** pp) {
  sqlite3_file* r = real_of(f);
  if (r->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  if (int rc = inject(IoOp::shm_map, SQLITE_IOERR_SHMMAP, name_of(f))) {
    *pp = nullptr;
    return rc;
  }
  return r->pMethods->xShmMap(r, page, size, extend, pp);
}
int f_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  sqlite3_file* r = real_of(f);
  if (r->pMethods->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  if ((flags & SQLITE_SHM_LOCK) != 0) {
    if (int rc = inject(IoOp::shm_lock, SQLITE_IOERR_SHMLOCK, name_of(f))) return rc;
  }
  const int rc = r->pMethods->xShmLock(r, offset, n, flags);
  if (rc == SQLITE_BUSY && (flags & SQLITE_SHM_EXCLUSIVE) != 0) {
    ++g_stats.busy;
    if (g_plan.on_busy && !g_busy_reported) {
      g_busy_reported = true;
      g_plan.on_busy();
    }
  }
  return rc;
}
void f_shm_barrier(sqlite3_file* f) {
  sqlite3_file* r = real_of(f);
  if (r->pMethods->iVersion >= 2) r->pMethods->xShmBarrier(r);
}
int f_shm_unmap(sqlite3_file* f, int del) {
  sqlite3_file* r = real_of(f);
  return r->pMethods->iVersion >= 2 ? r->pMethods->xShmUnmap(r, del) : SQLITE_OK;
}
int f_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** pp) {
  sqlite3_file* r = real_of(f);
  if (r->pMethods->iVersion < 3) {
    *pp = nullptr;
    return SQLITE_OK;
  }
  return r->pMethods->xFetch(r, off, n, pp);
}
int f_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  sqlite3_file* r = real_of(f);
  return r->pMethods->iVersion >= 3 ? r->pMethods->xUnfetch(r, off, p) : SQLITE_OK;
}

const sqlite3_io_methods g_methods = {
    3,           f_close,     f_read,        f_write,        f_truncate,  f_sync,
    f_file_size, f_lock,      f_unlock,      f_check_reserved, f_file_control, f_sector_size,
    f_device_characteristics, f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch,
    f_unfetch,
};

int v_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* ff = reinterpret_cast<FaultFile*>(file);
  ff->base.pMethods = nullptr;
  ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
  ff->real->pMethods = nullptr;
  ff->name = name;
  const bool main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  if (main_db && g_plan.main_db_cant_open) return SQLITE_CANTOPEN;
  if (main_db && g_plan.main_db_read_only && (flags & SQLITE_OPEN_READWRITE) != 0) {
    flags &= ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_READONLY;
  }
  if (int rc = inject(IoOp::open, SQLITE_CANTOPEN, name)) return rc;
  const int rc = g_real->xOpen(g_real, name, ff->real, flags, out_flags);
  if (ff->real->pMethods) ff->base.pMethods = &g_methods;
  return rc;
}
int v_delete(sqlite3_vfs*, const char* name, int sync_dir) { return g_real->xDelete(g_real, name, sync_dir); }
int v_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  if (int rc = inject(IoOp::access, SQLITE_IOERR_ACCESS, name)) return rc;
  return g_real->xAccess(g_real, name, flags, out);
}
int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* v_dl_open(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void v_dl_error(sqlite3_vfs*, int n, char* msg) { g_real->xDlError(g_real, n, msg); }
void (*v_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) { return g_real->xDlSym(g_real, h, sym); }
void v_dl_close(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int v_randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int v_sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int v_current_time(sqlite3_vfs*, double* t) { return g_real->xCurrentTime(g_real, t); }
int v_last_error(sqlite3_vfs*, int n, char* msg) { return g_real->xGetLastError(g_real, n, msg); }
int v_current_time64(sqlite3_vfs*, sqlite3_int64* t) { return g_real->xCurrentTimeInt64(g_real, t); }

}  // namespace

const char* to_string(IoOp op) {
  switch (op) {
    case IoOp::open: return "xOpen";
    case IoOp::read: return "xRead";
    case IoOp::write: return "xWrite";
    case IoOp::truncate: return "xTruncate";
    case IoOp::sync: return "xSync";
    case IoOp::file_size: return "xFileSize";
    case IoOp::lock: return "xLock";
    case IoOp::shm_map: return "xShmMap";
    case IoOp::shm_lock: return "xShmLock";
    case IoOp::file_control: return "xFileControl";
    case IoOp::access: return "xAccess";
  }
  return "?";
}

void install() {
  if (g_real) {
    use_default_vfs(true);
    return;
  }
  g_real = sqlite3_vfs_find(nullptr);
  if (!g_real || g_real->iVersion < 2) throw std::runtime_error("fault VFS: no usable default VFS");
  g_vfs.iVersion = 2;  // the system-call hooks of v3 are not needed
  g_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = "peoplesync-fault";
  g_vfs.xOpen = v_open;
  g_vfs.xDelete = v_delete;
  g_vfs.xAccess = v_access;
  g_vfs.xFullPathname = v_full_pathname;
  g_vfs.xDlOpen = v_dl_open;
  g_vfs.xDlError = v_dl_error;
  g_vfs.xDlSym = v_dl_sym;
  g_vfs.xDlClose = v_dl_close;
  g_vfs.xRandomness = v_randomness;
  g_vfs.xSleep = v_sleep;
  g_vfs.xCurrentTime = v_current_time;
  g_vfs.xGetLastError = v_last_error;
  g_vfs.xCurrentTimeInt64 = v_current_time64;
  if (sqlite3_vfs_register(&g_vfs, 1) != SQLITE_OK) throw std::runtime_error("fault VFS: cannot register");
}

void use_default_vfs(bool fault) { sqlite3_vfs_register(fault ? &g_vfs : g_real, 1); }

const char* real_vfs_name() { return g_real ? g_real->zName : "unix"; }

void arm(const FaultPlan& plan) {
  g_plan = plan;
  g_plan.armed = true;
  g_stats = FaultStats{};
  g_busy_reported = false;
}

void disarm() { g_plan = FaultPlan{}; }

const FaultStats& stats() { return g_stats; }

}  // namespace peoplesync::state::testing
