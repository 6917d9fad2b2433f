#pragma once
// Runs the sync engine for a loaded config: wires the transport, OAuth, the
// scheduler, the Zoho clients and the engine on one io_context, then either
// makes one pass (--run-once, --dry-run) or polls until SIGTERM/SIGINT
// (daemon). Kept apart from app.cpp so Asio/Beast stay out of it; the pieces
// are in poll_loop, zoho_stack, live_tracker, signals, reload, run_report and
// online_commands (check_online, auth_with_code, https_get).
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"

namespace peoplesync::state {
class Store;
}

namespace peoplesync::runtime {

struct RunOptions {
  enum class Mode { daemon, run_once, dry_run };
  Mode mode = Mode::run_once;
  bool json = false;                   // --dry-run --json
  std::optional<std::string> since;    // ISO-8601, --since
  std::vector<std::string> streams;    // --stream
  bool progress_on_tty = true;         // live progress on stderr when it is a terminal
  // Called once the preflight has passed, before the pass writes anything
  // (the demo counts the preflight's API calls apart from the pass's).
  std::function<void()> on_preflight_passed;
};

// Summary of one pass, for callers that print their own report (demo).
struct PassTotals {
  std::int64_t read = 0, created = 0, updated = 0, status_changes = 0, deleted = 0, unchanged = 0,
               dead_lettered = 0, parked = 0, calls = 0;
  int not_modified_streams = 0;
};

// Returns the process exit code (0 / 4 / 75 / 77). Prints the final summary
// table (or the dry-run plan) to `out`.
int run(const config::Config& cfg, state::Store& store, const RunOptions& options, const Clock& clock,
        std::ostream& out, PassTotals* totals = nullptr);

}  // namespace peoplesync::runtime

namespace peoplesync::runtime {

// `peoplesync check --online`: refreshes the access token, then reads once
// per endpoint the config uses (one CRM page per module, the People lists),
// printing one line each. Returns 0, 75 (network / vendor trouble) or 77.
int check_online(const config::Config& cfg, const Clock& clock, std::ostream& out);

// `peoplesync auth --code CODE`: exchanges a Self Client grant code for a
// refresh token, stores it in zoho.refresh_token_file (created 0600) and
// tries it once. Returns 0, 75, 77 or 78.
int auth_with_code(const config::Config& cfg, const std::string& code, const Clock& clock, std::ostream& out,
                   std::ostream& err);

// One HTTPS GET with the production transport (the demo reads the sandbox's
// admin API with it). nullopt on any failure.
std::optional<std::string> https_get(const std::string& base_url, const std::string& target,
                                     const std::optional<std::string>& ca_file);

}  // namespace peoplesync::runtime
