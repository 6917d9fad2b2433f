// peoplesync-bench-scheduler: saturates the sandbox's addupdatetimelogs and
// getRecordIdsByReferenceIds through the real client stack with the
// Scheduler as gate, and prints the share of each ceiling it achieved and
// the lock replies the sandbox gave. --restarts N kills the client process
// N times mid-window and starts a new one on the same state file.
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "bench/saturate.hpp"
#include "common/log.hpp"

namespace {

constexpr const char* kHelp = R"(Usage: peoplesync-bench-scheduler [options]

  --scale X        sandbox and client time run X times faster than real time (default 10)
  --minutes M      sandbox minutes to saturate for (default 10)
  --margin-ms MS   the scheduler's safety margin on the 60 s window, sandbox time (default 1000)
  --workers N      concurrent callers per endpoint (default 4)
  --restarts N     kill the client N times mid-window, restart on the same state file (default 0)
  --no-state       control run: restarted clients do not keep the limiter state (locks expected)
  --limit-factor F shape to F times the documented thresholds (default 1; above 1 is a
                   control run: the sandbox must lock it, and the exit status is 1)
  --dir DIR        work directory for TLS files and the state file (default a temp dir)
  --json           one JSON line instead of the table

Exit status: 0 when the sandbox sent no lock reply and no 60 s window held more
calls than its threshold; 1 otherwise; 2 for bad usage.
)";

bool number(const std::string& s, double& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && out >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace peoplesync;
  bench::SaturateOptions o;
  o.time_scale = 10;
  o.duration = Millis{600'000};
  bool json = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    double v = 0;
    auto value = [&]() -> bool { return i + 1 < args.size() && number(args[++i], v); };
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--scale" && value() && v > 0) {
      o.time_scale = v;
    } else if (a == "--minutes" && value() && v > 0) {
      o.duration = Millis{static_cast<std::int64_t>(v * 60'000)};
    } else if (a == "--margin-ms" && value()) {
      o.margin = Millis{static_cast<std::int64_t>(v)};
    } else if (a == "--workers" && value() && v >= 1) {
      o.workers_per_endpoint = static_cast<int>(v);
    } else if (a == "--restarts" && value()) {
      o.restarts = static_cast<int>(v);
    } else if (a == "--limit-factor" && value() && v > 0) {
      o.limit_factor = v;
    } else if (a == "--dir" && i + 1 < args.size()) {
      o.work_dir = args[++i];
    } else if (a == "--no-state") {
      o.persist = false;
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "peoplesync-bench-scheduler: bad argument '%s'\n%s", a.c_str(), kHelp);
      return 2;
    }
  }
  if (o.work_dir.empty())
    o.work_dir = (std::filesystem::temp_directory_path() / ("peoplesync-bench-" + std::to_string(::getpid()))).string();
  log::init(log::Format::text, log::Level::warn);

  bench::SaturateResult r;
  try {
    r = bench::saturate(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peoplesync-bench-scheduler: %s\n", e.what());
    return 1;
  }
  bool good = true;
  if (json) {
    std::printf("{\"scale\":%g,\"minutes\":%g,\"margin_ms\":%lld,\"restarts\":%d,\"limit_factor\":%g,"
                "\"wall_seconds\":%.1f,\"endpoints\":[",
                o.time_scale, std::chrono::duration<double>(o.duration).count() / 60,
                static_cast<long long>(o.margin.count()), o.restarts, o.limit_factor, r.wall_seconds);
  } else {
    std::printf("scheduler benchmark: %g sandbox minutes at time scale %g (%.1f s wall), margin %lld ms, "
                "%d worker(s) per endpoint, %d client process(es)%s\n\n",
                std::chrono::duration<double>(o.duration).count() / 60, o.time_scale, r.wall_seconds,
                static_cast<long long>(o.margin.count()), o.workers_per_endpoint, r.processes,
                o.limit_factor != 1.0 ? ", CONTROL RUN: thresholds scaled"
                : !o.persist        ? ", CONTROL RUN: no state kept across restarts"
                                    : "");
    std::printf("%-36s %6s %8s %8s %8s %8s %10s %10s %8s %8s\n", "ENDPOINT", "LIMIT", "CALLS", "MAX/60s",
                "SHARE", "RUN", "LOCK-EVTS", "LOCKED", "OK", "ERRORS");
  }
  bool first = true;
  for (const auto& e : r.endpoints) {
    const bool ok = e.server_lock_events == 0 && e.server_locked_replies == 0 && e.locked_replies == 0 &&
                    e.max_in_60s <= e.per_minute;
    good = good && ok;
    if (json) {
      std::printf("%s{\"endpoint\":\"%s\",\"per_minute\":%d,\"admitted\":%lld,\"server_calls\":%lld,"
                  "\"max_in_60s\":%d,\"steady_share\":%.4f,\"run_share\":%.4f,\"server_lock_events\":%lld,"
                  "\"server_locked_replies\":%lld,\"client_locked_replies\":%lld,\"ok\":%lld,\"other_errors\":%lld}",
                  first ? "" : ",", e.endpoint.c_str(), e.per_minute, static_cast<long long>(e.admitted),
                  static_cast<long long>(e.server_calls), e.max_in_60s, e.steady_share, e.run_share,
                  static_cast<long long>(e.server_lock_events), static_cast<long long>(e.server_locked_replies),
                  static_cast<long long>(e.locked_replies), static_cast<long long>(e.ok),
                  static_cast<long long>(e.other_errors));
    } else {
      std::printf("%-36s %6d %8lld %8d %7.1f%% %7.1f%% %10lld %10lld %8lld %8lld\n", e.endpoint.c_str(), e.per_minute,
                  static_cast<long long>(e.server_calls), e.max_in_60s, 100 * e.steady_share,
                  100 * e.run_share, static_cast<long long>(e.server_lock_events),
                  static_cast<long long>(e.server_locked_replies), static_cast<long long>(e.ok),
                  static_cast<long long>(e.other_errors));
    }
    first = false;
  }
  if (json) {
    std::printf("],\"ok\":%s}\n", good ? "true" : "false");
  } else {
    std::printf("\nSHARE: 60 s x LIMIT / mean time from a call to the LIMIT-th call after it (the rate held, vs the\n"
                "ceiling; 60/(60+margin) is the design figure). RUN: CALLS / (LIMIT x minutes), the start-up burst\n"
                "included. LOCK-EVTS / LOCKED: lock periods the sandbox started / 7209 replies it sent.\n"
                "%s\n",
                good ? "result: no lock replies, no 60 s window over its threshold"
                     : "result: FAILED (lock replies or a window over its threshold)");
  }
  std::error_code ec;
  std::filesystem::remove_all(o.work_dir, ec);
  return good ? 0 : 1;
}
