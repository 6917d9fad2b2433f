#include "daemon/demo.hpp"

#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <ostream>

#include "config/example_config.hpp"
#include "config/loader.hpp"
#include "daemon/exit_codes.hpp"
#include "daemon/runtime.hpp"
#include "state/store.hpp"

namespace peoplesync::demo {
namespace {

namespace fs = std::filesystem;

// The sandbox binary: beside this one (installed), or in the build tree.
std::optional<fs::path> find_sandbox() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& p : {self.parent_path() / "peoplesync-sandbox",
                              self.parent_path().parent_path() / "sandbox" / "peoplesync-sandbox"})
      if (fs::exists(p)) return p;
  }
  if (const char* path = std::getenv("PATH")) {
    std::string all = path;
    std::size_t pos = 0;
    while (pos <= all.size()) {
      const auto colon = all.find(':', pos);
      const fs::path p = fs::path(all.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos)) /
                         "peoplesync-sandbox";
      if (fs::exists(p)) return p;
      if (colon == std::string::npos) break;
      pos = colon + 1;
    }
  }
  return std::nullopt;
}

struct Sandbox {
  pid_t pid = -1;
  std::string url, ca_file, zoho_block;
  ~Sandbox() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }
};

// Starts the sandbox and reads its one JSON line (URL, CA, config block).
std::optional<std::string> start_sandbox(const fs::path& bin, const fs::path& dir, int n, Sandbox& sb) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    const std::string seed = "demo:" + std::to_string(n), tls = (dir / "tls").string();
    ::execl(bin.c_str(), bin.c_str(), "--seed", seed.c_str(), "--tls-dir", tls.c_str(), "--listen", "127.0.0.1:0",
            static_cast<char*>(nullptr));
    std::perror("peoplesync demo: cannot start peoplesync-sandbox");
    ::_exit(127);
  }
  ::close(fds[1]);
  sb.pid = pid;
  std::string line;
  char c;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(fds[0]);
  simdjson::dom::parser p;
  simdjson::dom::object o;
  std::string_view url, ca, block;
  if (p.parse(line).get_object().get(o) != simdjson::SUCCESS || o["url"].get_string().get(url) != simdjson::SUCCESS ||
      o["ca_file"].get_string().get(ca) != simdjson::SUCCESS ||
      o["config"].get_string().get(block) != simdjson::SUCCESS)
    return "the sandbox did not print its URL (got: '" + line + "')";
  sb.url = std::string(url);
  sb.ca_file = std::string(ca);
  sb.zoho_block = std::string(block);
  return std::nullopt;
}

// endpoint -> (calls, lock events), from the sandbox's admin API.
std::map<std::string, std::pair<std::int64_t, std::int64_t>> read_stats(const Sandbox& sb) {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> out;
  auto body = runtime::https_get(sb.url, "/_admin/stats", sb.ca_file);
  if (!body) return out;
  simdjson::dom::parser p;
  simdjson::dom::object eps;
  if (p.parse(*body)["endpoints"].get_object().get(eps) != simdjson::SUCCESS) return out;
  for (auto [k, v] : eps) {
    std::int64_t calls = 0, locks = 0;
    if (v["calls"].get_int64().get(calls) != simdjson::SUCCESS) calls = 0;
    if (v["lock_events"].get_int64().get(locks) != simdjson::SUCCESS) locks = 0;
    out[std::string(k)] = {calls, locks};
  }
  return out;
}

void print_calls(const std::map<std::string, std::pair<std::int64_t, std::int64_t>>& now,
                 const std::map<std::string, std::pair<std::int64_t, std::int64_t>>& before, std::ostream& out) {
  std::int64_t total = 0, locks = 0;
  out << "  " << std::left << std::setw(44) << "endpoint (as the sandbox counted)" << std::right << std::setw(7)
      << "calls" << std::setw(7) << "locks" << "\n";
  for (const auto& [ep, v] : now) {
    auto it = before.find(ep);
    const std::int64_t calls = v.first - (it == before.end() ? 0 : it->second.first);
    const std::int64_t lk = v.second - (it == before.end() ? 0 : it->second.second);
    if (calls == 0 && lk == 0) continue;
    total += calls;
    locks += lk;
    out << "  " << std::left << std::setw(44) << ep << std::right << std::setw(7) << calls << std::setw(7) << lk
        << "\n";
  }
  out << "  " << std::left << std::setw(44) << "total" << std::right << std::setw(7) << total << std::setw(7) << locks
      << "\n";
}

}  // namespace

int run(int n, const Clock& clock, std::ostream& out, std::ostream& err) {
  const auto bin = find_sandbox();
  if (!bin) {
    err << "peoplesync demo: peoplesync-sandbox not found beside this binary or on PATH\n";
    return to_int(ExitCode::temporary);
  }
  char tmpl[] = "/tmp/peoplesync-demo-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    err << "peoplesync demo: cannot create a temporary directory\n";
    return to_int(ExitCode::temporary);
  }
  const fs::path dir = tmpl;
  int code = 0;
  {
    Sandbox sb;
    if (auto e = start_sandbox(*bin, dir, n, sb)) {
      err << "peoplesync demo: " << *e << "\n";
      return to_int(ExitCode::temporary);
    }
    // The example config of PRODUCT.md (examples/config.yaml), pointed at the sandbox.
    const fs::path cfg_path = dir / "config.yaml";
    {
      std::ofstream f(cfg_path);
      f << sb.zoho_block << "state:\n  path: " << (dir / "state.db").string()
        << "\nservice:\n  listen: \"off\"\n  log_level: warn\n"
        << config::example_streams();
    }
    config::LoadResult lr = config::load_config(cfg_path.string(), {});
    if (!lr.ok()) {
      for (const auto& e : lr.errors) err << "  " << e.format() << "\n";
      return to_int(ExitCode::config);
    }
    auto store = state::Store::open(lr.config->state.path, clock);
    out << "peoplesync demo: sandbox at " << sb.url << " seeded with demo:" << n
        << " (CRM deals and calls, People projects; some project references not synced yet, some projects "
           "completed)\nconfig: "
        << cfg_path.string() << "\n\n== pass 1: backfill ==\n";
    runtime::RunOptions ro;
    ro.mode = runtime::RunOptions::Mode::run_once;
    // The preflight's calls (reads, and write probes that Zoho refuses for
    // their empty input) are shown apart from the pass's, so a probe is not
    // taken for a write.
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> preflight_done;
    ro.on_preflight_passed = [&] { preflight_done = read_stats(sb); };
    auto print_pass_calls = [&](int pass, const auto& before, const auto& after) {
      if (preflight_done.empty()) {  // the preflight failed: its report is above
        out << "\nAPI calls of pass " << pass << " (the preflight only):\n";
        print_calls(after, before, out);
        return;
      }
      out << "\nAPI calls of the preflight before pass " << pass
          << " (reads, and write probes refused for their empty input: nothing written):\n";
      print_calls(preflight_done, before, out);
      out << "\nAPI calls of pass " << pass << ":\n";
      print_calls(after, preflight_done, out);
    };
    const auto before = read_stats(sb);
    runtime::PassTotals t1;
    code = runtime::run(*lr.config, *store, ro, clock, out, &t1);
    const auto after1 = read_stats(sb);
    print_pass_calls(1, before, after1);
    const auto dead = store->dead_letters();
    if (!dead.empty()) {
      out << "\ndead letters (" << dead.size() << "), first ones:\n";
      for (std::size_t i = 0; i < dead.size() && i < 5; ++i)
        out << "  " << dead[i].stream << " " << dead[i].source_key << ": "
            << (dead[i].vendor_code.empty() ? "" : dead[i].vendor_code + ": ") << dead[i].reason << "\n";
    }
    const auto waiting = store->outbox_list();
    if (!waiting.empty())
      out << "\nwaiting (" << waiting.size()
          << "): records whose project Zoho has not synced into People yet, or whose deal has no job; retried on "
             "every pass\n";

    out << "\n== pass 2: incremental (nothing changed) ==\n";
    runtime::PassTotals t2;
    preflight_done.clear();
    const int code2 = runtime::run(*lr.config, *store, ro, clock, out, &t2);
    const auto after2 = read_stats(sb);
    print_pass_calls(2, after1, after2);
    out << "\npass 2 wrote " << (t2.created + t2.updated + t2.status_changes + t2.deleted) << " records; "
        << t2.not_modified_streams << " CRM stream(s) answered 304 Not Modified\n";
    out << "state file: " << lr.config->state.path << " (try: peoplesync status -c " << cfg_path.string() << ")\n";
    // The seed makes People refuse some records on purpose (deals of
    // completed projects, calls on completed jobs): those dead letters are
    // the demo working (exit 0). Any other dead letter, or a pass that did
    // not finish, is not, and keeps its exit code.
    const auto seeded_refusal = [](const state::DeadLetter& d) {
      return d.vendor_code == "9025" || d.reason.find(" is completed in People") != std::string::npos;
    };
    std::size_t unexpected = 0;
    for (const auto& d : store->dead_letters()) unexpected += seeded_refusal(d) ? 0 : 1;
    const bool finished = (code == 0 || code == to_int(ExitCode::dead_letters)) &&
                          (code2 == 0 || code2 == to_int(ExitCode::dead_letters));
    if (finished && unexpected == 0) {
      out << "demo: ok (both passes finished; every dead letter is a record the seed makes People refuse)\n";
      code = 0;
    } else {
      if (code == 0) code = code2;
      out << "demo: FAILED (exit " << code << "; " << unexpected << " unexpected dead letter(s))\n";
    }
  }
  std::error_code ec;
  if (!std::getenv("PEOPLESYNC_DEMO_KEEP")) fs::remove_all(dir, ec);
  return code;
}

}  // namespace peoplesync::demo
