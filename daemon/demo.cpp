#include "daemon/demo.hpp"

#include <signal.h>
#include <simdjson.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include "common/log.hpp"
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
using Stats = std::map<std::string, std::pair<std::int64_t, std::int64_t>>;

Stats read_stats(const Sandbox& sb) {
  Stats out;
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

void print_calls(const Stats& now, const Stats& before, std::ostream& out) {
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

// The log lines written while the demo runs, held in memory so that its
// report comes first; afterwards logging goes back to stderr.
class HeldLog {
 public:
  explicit HeldLog(const Options& o) : o_(o) {
    if (o_.hold_log)
      log::init_with_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_), o_.log_format, o_.log_level);
  }
  HeldLog(const HeldLog&) = delete;
  HeldLog& operator=(const HeldLog&) = delete;
  ~HeldLog() {
    if (o_.hold_log) log::init(o_.log_format, o_.log_level, log::Target::stderr_stream);
  }

  bool holding() const { return o_.hold_log; }
  std::string text() const {
    log::flush();
    return text_.str();
  }
  std::size_t lines() const {
    const std::string t = text();
    return static_cast<std::size_t>(std::count(t.begin(), t.end(), '\n'));
  }

 private:
  const Options& o_;
  std::ostringstream text_;
};

// The example config of PRODUCT.md (examples/config.yaml), pointed at the
// sandbox; nullptr (errors printed) if it does not load.
config::ConfigPtr write_config(const Sandbox& sb, const fs::path& dir, std::ostream& err) {
  const fs::path path = dir / "config.yaml";
  {
    std::ofstream f(path);
    f << sb.zoho_block << "state:\n  path: " << (dir / "state.db").string()
      << "\nservice:\n  listen: \"off\"\n  log_level: warn\n"
      << config::example_streams();
  }
  config::LoadResult lr = config::load_config(path.string(), {});
  for (const auto& e : lr.errors) err << "  " << e.format() << "\n";
  return lr.config;
}

// What the two passes share.
struct Demo {
  const Sandbox& sb;
  const config::Config& cfg;
  state::Store& store;
  const Clock& clock;
  std::ostream& out;
};

// One pass of the example config, then its API calls: the preflight's
// (reads, and write probes that Zoho refuses for their empty input) apart
// from the pass's, so a probe is not taken for a write.
int run_pass(const Demo& d, int pass, const Stats& before, Stats& after, runtime::PassTotals& totals) {
  runtime::RunOptions ro;
  ro.mode = runtime::RunOptions::Mode::run_once;
  ro.progress_on_tty = false;  // the report is the demo's output
  Stats preflight_done;
  ro.on_preflight_passed = [&] { preflight_done = read_stats(d.sb); };
  const int code = runtime::run(d.cfg, d.store, ro, d.clock, d.out, &totals);
  after = read_stats(d.sb);
  if (preflight_done.empty()) {  // the preflight failed: its report is above
    d.out << "\nAPI calls of pass " << pass << " (the preflight only):\n";
    print_calls(after, before, d.out);
    return code;
  }
  d.out << "\nAPI calls of the preflight before pass " << pass
        << " (reads, and write probes refused for their empty input: nothing written):\n";
  print_calls(preflight_done, before, d.out);
  d.out << "\nAPI calls of pass " << pass << ":\n";
  print_calls(after, preflight_done, d.out);
  return code;
}

void print_dead_and_waiting(const state::Store& store, std::ostream& out) {
  const auto dead = store.dead_letters();
  if (!dead.empty()) {
    out << "\ndead letters (" << dead.size() << "), first ones:\n";
    for (std::size_t i = 0; i < dead.size() && i < 5; ++i)
      out << "  " << dead[i].stream << " " << dead[i].source_key << ": "
          << (dead[i].vendor_code.empty() ? "" : dead[i].vendor_code + ": ") << dead[i].reason << "\n";
  }
  const auto waiting = store.outbox_list();
  if (!waiting.empty())
    out << "\nwaiting (" << waiting.size()
        << "): records whose project Zoho has not synced into People yet, or whose deal has no job; retried on "
           "every pass\n";
}

// The seed makes People refuse some records on purpose (deals of completed
// projects, calls on completed jobs): those dead letters are the demo
// working (exit 0). Any other dead letter, or a pass that did not finish, is
// not, and keeps its exit code.
int verdict(int code1, int code2, const state::Store& store, std::ostream& out) {
  const auto seeded_refusal = [](const state::DeadLetter& d) {
    return d.vendor_code == "9025" || d.reason.find(" is completed in People") != std::string::npos;
  };
  std::size_t unexpected = 0;
  for (const auto& d : store.dead_letters()) unexpected += seeded_refusal(d) ? 0 : 1;
  const auto finished = [](int c) { return c == 0 || c == to_int(ExitCode::dead_letters); };
  if (finished(code1) && finished(code2) && unexpected == 0) {
    out << "demo: ok (both passes finished; every dead letter is a record the seed makes People refuse)\n";
    return 0;
  }
  const int code = code1 != 0 ? code1 : code2;
  out << "demo: FAILED (exit " << code << "; " << unexpected << " unexpected dead letter(s))\n";
  return code;
}

void print_log_note(const Options& o, const HeldLog& held, std::ostream& out) {
  if (!held.holding()) return;
  const std::size_t n = held.lines();
  out << "log: " << n << " line(s) at " << log::level_name(o.log_level) << " and above";
  if (o.show_log)
    out << ", printed after this report\n";
  else
    out << ", held back so this report comes first (each dead letter is logged as a warning); "
           "`peoplesync demo --log-level warn` prints them after the report\n";
}

// The sandbox, the config and both passes, in `dir`.
int run_in(const fs::path& dir, const fs::path& bin, const Options& o, const HeldLog& held, const Clock& clock,
           std::ostream& out, std::ostream& err) {
  Sandbox sb;
  if (auto e = start_sandbox(bin, dir, o.n, sb)) {
    err << "peoplesync demo: " << *e << "\n";
    return to_int(ExitCode::temporary);
  }
  const config::ConfigPtr cfg = write_config(sb, dir, err);
  if (!cfg) return to_int(ExitCode::config);
  auto store = state::Store::open(cfg->state.path, clock);
  out << "peoplesync demo: sandbox at " << sb.url << " seeded with demo:" << o.n
      << " (CRM deals and calls, People projects; some project references not synced yet, some projects "
         "completed)\nconfig: "
      << cfg->file << "\n\n== pass 1: backfill ==\n";
  const Demo d{sb, *cfg, *store, clock, out};
  Stats before = read_stats(sb), after1, after2;
  runtime::PassTotals t1, t2;
  const int code1 = run_pass(d, 1, before, after1, t1);
  print_dead_and_waiting(*store, out);

  out << "\n== pass 2: incremental (nothing changed) ==\n";
  const int code2 = run_pass(d, 2, after1, after2, t2);
  out << "\npass 2 wrote " << (t2.created + t2.updated + t2.status_changes + t2.deleted) << " records; "
      << t2.not_modified_streams << " CRM stream(s) answered 304 Not Modified\n";
  out << "state file: " << cfg->state.path
      << (std::getenv("PEOPLESYNC_DEMO_KEEP") ? " (kept; try: peoplesync status -c "
                                               : " (removed at exit; PEOPLESYNC_DEMO_KEEP=1 keeps it for: "
                                                 "peoplesync status -c ")
      << cfg->file << ")\n";
  print_log_note(o, held, out);
  return verdict(code1, code2, *store, out);
}

}  // namespace

int run(const Options& o, const Clock& clock, std::ostream& out, std::ostream& err) {
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
  HeldLog held(o);
  const int code = run_in(dir, *bin, o, held, clock, out, err);
  std::error_code ec;
  if (!std::getenv("PEOPLESYNC_DEMO_KEEP")) fs::remove_all(dir, ec);
  // The report is out; the log follows it when asked for, or when the demo
  // did not run as designed (it then says why).
  out.flush();
  if (held.holding() && (o.show_log || code != 0)) {
    const std::string text = held.text();
    if (!text.empty()) err << "\n== log of the demo (" << held.lines() << " line(s)) ==\n" << text << std::flush;
  }
  return code;
}

}  // namespace peoplesync::demo
