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
    const auto before = read_stats(sb);
    runtime::PassTotals t1;
    code = runtime::run(*lr.config, *store, ro, clock, out, &t1);
    const auto after1 = read_stats(sb);
    out << "\nAPI calls of pass 1:\n";
    print_calls(after1, before, out);
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
    const int code2 = runtime::run(*lr.config, *store, ro, clock, out, &t2);
    const auto after2 = read_stats(sb);
    out << "\nAPI calls of pass 2:\n";
    print_calls(after2, after1, out);
    out << "\npass 2 wrote " << (t2.created + t2.updated + t2.status_changes + t2.deleted) << " records; "
        << t2.not_modified_streams << " CRM stream(s) answered 304 Not Modified\n";
    out << "state file: " << lr.config->state.path << " (try: peoplesync status -c " << cfg_path.string() << ")\n";
    if (code == 0) code = code2;
  }
  std::error_code ec;
  if (!std::getenv("PEOPLESYNC_DEMO_KEEP")) fs::remove_all(dir, ec);
  return code;
}

}  // namespace peoplesync::demo
