#include "daemon/app.hpp"

#include <ostream>

#include "common/log.hpp"
#include "common/redact.hpp"
#include "common/timefmt.hpp"
#include "connectors/scopes.hpp"
#include "daemon/cli.hpp"
#include "daemon/demo.hpp"
#include "daemon/exit_codes.hpp"
#include "daemon/runtime.hpp"
#include "daemon/status_report.hpp"
#include "state/store.hpp"

namespace peoplesync {
namespace {

struct Loaded {
  config::ConfigPtr config;
  int exit_code = 0;
};

// Loads the config; on errors prints every one (redacted) and returns 78.
Loaded load(const cli::Options& o, AppIo& io, bool require_secrets) {
  const std::string path = config::resolve_config_path(o.config_path, io.getenv);
  config::LoadOptions lo;
  lo.require_secrets = require_secrets;
  lo.getenv = io.getenv;
  config::LoadResult r = config::load_config(path, lo);
  if (!r.ok()) {
    io.err << "peoplesync: " << r.errors.size() << " config error" << (r.errors.size() == 1 ? "" : "s") << " in "
           << path << ":\n";
    for (const auto& e : r.errors) io.err << "  " << e.format() << "\n";
    return {nullptr, to_int(ExitCode::config)};
  }
  return {r.config, 0};
}

void setup_logging(const cli::Options& o, const config::Config* cfg, const AppIo& io) {
  if (!io.log_to_stderr) return;
  log::Format format = log::Format::text;
  log::Level level = log::Level::info;
  if (cfg) {
    format = cfg->service.log_format == config::LogFormat::json ? log::Format::json : log::Format::text;
    level = log::parse_level(cfg->service.log_level).value_or(log::Level::info);
  }
  if (o.log_format) format = log::parse_format(*o.log_format).value_or(format);
  if (o.log_level) level = log::parse_level(*o.log_level).value_or(level);
  log::init(format, level, log::Target::stderr_stream);
}

std::unique_ptr<state::Store> open_store(const config::Config& cfg, AppIo& io) {
  try {
    return state::Store::open(cfg.state.path, io.clock);
  } catch (const state::StoreError& e) {
    io.err << "peoplesync: " << redact(e.what()) << "\n";
    return nullptr;
  }
}

// Streams named with --stream must exist in the config.
bool check_streams(const cli::Options& o, const config::Config& cfg, AppIo& io) {
  for (const auto& s : o.streams) {
    if (!cfg.find_stream(s)) {
      std::string names;
      for (const auto& st : cfg.streams) names += (names.empty() ? "" : ", ") + st.name;
      io.err << "peoplesync: unknown stream '" << s << "' (configured: " << names << ")\n";
      return false;
    }
  }
  return true;
}

int cmd_check(const cli::Options& o, AppIo& io) {
  Loaded l = load(o, io, true);
  if (!l.config) return l.exit_code;
  const config::Config& cfg = *l.config;
  io.out << "ok: " << cfg.file << ": " << cfg.streams.size() << " stream" << (cfg.streams.size() == 1 ? "" : "s")
         << ", data centre " << config::to_string(cfg.zoho.data_center) << ", state " << cfg.state.path << "\n";
  for (const auto& s : cfg.streams) io.out << "  " << config::describe(s) << "\n";
  if (o.online) {
    setup_logging(o, l.config.get(), io);
    io.out << "online check (reads, and probes that write nothing):\n";
    const int code = runtime::check_online(cfg, io.clock, io.out);
    io.out << (code == 0 ? "online: ok\n" : "online: FAILED\n");
    return code;
  }
  return to_int(ExitCode::ok);
}

int cmd_status(const cli::Options& o, AppIo& io) {
  Loaded l = load(o, io, false);
  if (!l.config) return l.exit_code;
  setup_logging(o, l.config.get(), io);
  auto store = open_store(*l.config, io);
  if (!store) return to_int(ExitCode::temporary);
  const SysTime now = io.clock.now();
  io.out << (o.json ? status::render_json(*store, *l.config, now) : status::render_text(*store, *l.config, now));
  return to_int(ExitCode::ok);
}

int cmd_retry(const cli::Options& o, AppIo& io) {
  Loaded l = load(o, io, false);
  if (!l.config) return l.exit_code;
  setup_logging(o, l.config.get(), io);
  if (!check_streams(o, *l.config, io)) return to_int(ExitCode::usage);
  auto store = open_store(*l.config, io);
  if (!store) return to_int(ExitCode::temporary);
  std::optional<std::string> stream;
  if (!o.streams.empty()) stream = o.streams.front();
  const std::int64_t n = store->requeue_dead_letters(stream);
  log::Logger("cli").info("operator re-queued {} dead letter(s){}", n, stream ? " of stream " + *stream : "");
  io.out << "re-queued " << n << " dead-lettered record" << (n == 1 ? "" : "s")
         << (stream ? " of stream " + *stream : "") << "; the next run syncs them again\n";
  return to_int(ExitCode::ok);
}

int cmd_reset(const cli::Options& o, AppIo& io) {
  Loaded l = load(o, io, false);
  if (!l.config) return l.exit_code;
  setup_logging(o, l.config.get(), io);
  if (!check_streams(o, *l.config, io)) return to_int(ExitCode::usage);
  auto store = open_store(*l.config, io);
  if (!store) return to_int(ExitCode::temporary);
  const std::string& stream = o.streams.front();
  const auto before = store->checkpoint(stream);
  store->reset_checkpoint(stream, o.reset_to);
  const std::string from = before ? before->watermark : "(none)";
  const std::string to = o.reset_to ? *o.reset_to : "(start: full re-read)";
  log::Logger("cli").with("stream", stream).warn("operator moved checkpoint from {} to {}", from, to);
  io.out << "checkpoint of stream " << stream << " moved from " << from << " to " << to << "\n";
  return to_int(ExitCode::ok);
}

// The demo holds its log lines until its report is out (demo::Options):
// warnings and above, printed after the report with --log-level or when the
// demo failed.
int cmd_demo(const cli::Options& o, AppIo& io) {
  demo::Options d;
  d.hold_log = io.log_to_stderr;
  d.show_log = o.log_level.has_value();
  if (o.log_format) d.log_format = log::parse_format(*o.log_format).value_or(d.log_format);
  if (o.log_level) d.log_level = log::parse_level(*o.log_level).value_or(d.log_level);
  return demo::run(d, io.clock, io.out, io.err);
}

int cmd_run(const cli::Options& o, AppIo& io) {
  Loaded l = load(o, io, true);  // a dry run reads Zoho too
  if (!l.config) return l.exit_code;
  setup_logging(o, l.config.get(), io);
  if (!check_streams(o, *l.config, io)) return to_int(ExitCode::usage);
  if (o.since && !o.run_once && !o.dry_run) {
    io.err << "peoplesync: --since needs --run-once (a backfill is one pass)\n";
    return to_int(ExitCode::usage);
  }
  auto store = open_store(*l.config, io);
  if (!store) return to_int(ExitCode::temporary);
  runtime::RunOptions ro;
  ro.mode = o.dry_run ? runtime::RunOptions::Mode::dry_run
            : o.run_once ? runtime::RunOptions::Mode::run_once
                         : runtime::RunOptions::Mode::daemon;
  ro.json = o.json;
  if (o.since) ro.since = format_utc_iso_seconds(*o.since);
  ro.streams = o.streams;
  ro.progress_on_tty = io.log_to_stderr;
  return runtime::run(*l.config, *store, ro, io.clock, io.out);
}

// `auth --scopes` / `auth --code`: both work before the refresh token file
// exists (a first install), so the config is read without secrets (auth
// --code then needs client_id and client_secret, which are checked there).
int cmd_auth(const cli::Options& o, AppIo& io) {
  Loaded l = load(o, io, false);
  if (!l.config) return l.exit_code;
  if (o.scopes) {
    const auto needs = connectors::scopes::needed(*l.config);
    io.out << connectors::scopes::joined(needs) << "\n";
    for (const auto& n : needs) io.err << "  " << n.scope << ": " << n.why << "\n";
    return to_int(ExitCode::ok);
  }
  setup_logging(o, l.config.get(), io);
  return runtime::auth_with_code(*l.config, *o.grant_code, io.clock, io.out, io.err);
}

}  // namespace

int run_app(const std::vector<std::string>& args, AppIo& io) {
  auto parsed = cli::parse(args);
  if (auto* err = std::get_if<cli::UsageError>(&parsed)) {
    io.err << "peoplesync: " << err->message << "\nTry 'peoplesync --help'.\n";
    return to_int(ExitCode::usage);
  }
  const cli::Options& o = std::get<cli::Options>(parsed);
  try {
    switch (o.command) {
      case cli::Command::help: io.out << cli::help_text(); return 0;
      case cli::Command::version: io.out << cli::version_text(); return 0;
      case cli::Command::check: return cmd_check(o, io);
      case cli::Command::status: return cmd_status(o, io);
      case cli::Command::retry: return cmd_retry(o, io);
      case cli::Command::reset: return cmd_reset(o, io);
      case cli::Command::demo: return cmd_demo(o, io);
      case cli::Command::auth: return cmd_auth(o, io);
      case cli::Command::run: return cmd_run(o, io);
    }
  } catch (const state::StoreError& e) {
    io.err << "peoplesync: state store: " << redact(e.what()) << "\n";
    return to_int(ExitCode::temporary);
  }
  return to_int(ExitCode::usage);
}

}  // namespace peoplesync
