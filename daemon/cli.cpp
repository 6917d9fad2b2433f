#include "daemon/cli.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "common/timefmt.hpp"

namespace peoplesync::cli {
namespace {

std::string_view command_name(Command c) {
  switch (c) {
    case Command::run: return "peoplesync";
    case Command::check: return "check";
    case Command::status: return "status";
    case Command::retry: return "retry";
    case Command::reset: return "reset";
    case Command::demo: return "demo";
    case Command::auth: return "auth";
    case Command::help: return "help";
    case Command::version: return "version";
  }
  return "?";
}

// Which options each command accepts.
const std::map<Command, std::set<std::string>>& allowed() {
  static const std::map<Command, std::set<std::string>> table{
      {Command::run, {"-c", "--run-once", "--dry-run", "--since", "--stream", "--log-format", "--log-level", "--json"}},
      {Command::check, {"-c", "--online", "--log-format", "--log-level"}},
      {Command::status, {"-c", "--json", "--log-format", "--log-level"}},
      {Command::retry, {"-c", "--stream", "--log-format", "--log-level"}},
      {Command::reset, {"-c", "--stream", "--to", "--log-format", "--log-level"}},
      {Command::demo, {"--log-format", "--log-level"}},
      {Command::auth, {"-c", "--scopes", "--code", "--log-format", "--log-level"}},
  };
  return table;
}

bool takes_value(const std::string& opt) {
  return opt == "-c" || opt == "--since" || opt == "--stream" || opt == "--log-format" || opt == "--log-level" ||
         opt == "--to" || opt == "--code";
}

// Records one option and its value (checked for presence already).
std::optional<UsageError> apply_option(Options& o, const std::string& opt, const std::optional<std::string>& value) {
  if (opt == "-c") o.config_path = *value;
  else if (opt == "--run-once") o.run_once = true;
  else if (opt == "--dry-run") o.dry_run = true;
  else if (opt == "--json") o.json = true;
  else if (opt == "--online") o.online = true;
  else if (opt == "--scopes") o.scopes = true;
  else if (opt == "--code") o.grant_code = *value;
  else if (opt == "--stream") {
    if (std::find(o.streams.begin(), o.streams.end(), *value) == o.streams.end()) o.streams.push_back(*value);
  } else if (opt == "--log-format") {
    if (*value != "text" && *value != "json") return UsageError{"--log-format must be text or json"};
    o.log_format = *value;
  } else if (opt == "--log-level") {
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (!levels.count(*value)) return UsageError{"--log-level must be one of trace, debug, info, warn, error, critical, off"};
    o.log_level = *value;
  } else if (opt == "--since" || opt == "--to") {
    auto t = parse_iso8601(*value);
    if (!t) return UsageError{"option '" + opt + "': bad time '" + *value + "' (use 2024-05-01 or 2024-05-01T10:00:00+05:30)"};
    if (opt == "--since") {
      o.since = *t;
      o.since_text = *value;
    } else {
      o.reset_to = *value;
    }
  }
  return std::nullopt;
}

// Options that are valid one by one but not together.
std::optional<UsageError> check_combination(const Options& o) {
  if (o.command == Command::run) {
    if (o.since && !o.run_once) return UsageError{"--since needs --run-once"};
    if (o.json && !o.dry_run) return UsageError{"--json applies to --dry-run (and to status)"};
  }
  if (o.command == Command::auth && o.scopes == o.grant_code.has_value())
    return UsageError{"auth needs exactly one of --scopes and --code CODE"};
  if (o.command == Command::reset && o.streams.size() != 1) return UsageError{"reset needs exactly one --stream NAME"};
  if (o.command == Command::retry && o.streams.size() > 1) return UsageError{"retry takes at most one --stream NAME"};
  return std::nullopt;
}

}  // namespace

std::variant<Options, UsageError> parse(const std::vector<std::string>& args) {
  Options o;
  std::size_t i = 0;
  // --help / --version win wherever they appear.
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      o.command = Command::help;
      return o;
    }
    if (a == "-V" || a == "--version") {
      o.command = Command::version;
      return o;
    }
  }
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    static const std::map<std::string, Command> commands{{"check", Command::check}, {"status", Command::status},
                                                         {"retry", Command::retry}, {"reset", Command::reset},
                                                         {"demo", Command::demo},   {"auth", Command::auth},
                                                         {"help", Command::help},
                                                         {"version", Command::version}};
    auto it = commands.find(args[0]);
    if (it == commands.end()) return UsageError{"unknown command '" + args[0] + "'"};
    o.command = it->second;
    if (o.command == Command::help || o.command == Command::version) return o;
    i = 1;
  }
  const auto& ok = allowed().at(o.command);
  for (; i < args.size(); ++i) {
    std::string opt = args[i];
    std::optional<std::string> value;
    if (opt.rfind("--", 0) == 0) {
      if (auto eq = opt.find('='); eq != std::string::npos) {
        value = opt.substr(eq + 1);
        opt.resize(eq);
      }
    } else if (opt.size() > 2 && opt.rfind("-c", 0) == 0) {  // -cFILE
      value = opt.substr(2);
      opt = "-c";
    }
    if (opt.empty() || opt[0] != '-') return UsageError{"unexpected argument '" + args[i] + "'"};
    if (!ok.count(opt)) {
      static const std::set<std::string> known{"-c", "--run-once", "--dry-run", "--since", "--stream", "--log-format",
                                               "--log-level", "--json", "--online", "--to", "--scopes",
                                               "--code"};
      if (!known.count(opt)) return UsageError{"unknown option '" + opt + "'"};
      return UsageError{"option '" + opt + "' does not apply to " + std::string(command_name(o.command))};
    }
    if (takes_value(opt)) {
      if (!value) {
        if (i + 1 >= args.size()) return UsageError{"option '" + opt + "' needs a value"};
        value = args[++i];
      }
      if (value->empty()) return UsageError{"option '" + opt + "' needs a non-empty value"};
    } else if (value) {
      return UsageError{"option '" + opt + "' takes no value"};
    }
    if (auto e = apply_option(o, opt, value)) return *e;
  }
  if (auto e = check_combination(o)) return *e;
  return o;
}

std::string help_text() {
  return R"(peoplesync — keeps Zoho People's time tracker in step with Zoho CRM

Usage:
  peoplesync [-c FILE] [--run-once] [--dry-run [--json]] [--since TIME] [--stream NAME]...
             [--log-format text|json] [--log-level LEVEL]
  peoplesync check  [-c FILE] [--online]          validate the config (--online: the read-only
                                                  preflight: scopes, date format, fields)
  peoplesync status [-c FILE] [--json]            checkpoints, lag, outbox, dead letters, limiter
                                                  and lock state
  peoplesync retry  [-c FILE] [--stream NAME]     put dead-lettered records back in the queue
  peoplesync reset  [-c FILE] --stream NAME [--to TIME]
                                                  move one stream's checkpoint (explicit, logged)
  peoplesync demo                                 the whole flow against the bundled sandbox
  peoplesync auth   [-c FILE] --scopes            print the OAuth scopes this config needs, comma-separated
  peoplesync auth   [-c FILE] --code CODE         exchange a Self Client grant code for a refresh token,
                                                  stored in zoho.refresh_token_file (0600), then try it
  peoplesync --help | --version

Options:
  -c FILE              config file (default: $PEOPLESYNC_CONFIG, else /etc/peoplesync/config.yaml)
  --run-once           one full pass over every stream (or the --stream ones), then exit
  --dry-run            read and plan; write nothing to Zoho or to checkpoints; print the plan
  --since TIME         with --run-once: read sources from TIME (never moves a checkpoint back)
  --stream NAME        limit to this stream (repeatable)
  --log-format FMT     text or json (overrides service.log_format)
  --log-level LEVEL    trace, debug, info, warn, error, critical, off
  --json               machine-readable output (status, --dry-run)

TIME is ISO-8601: 2024-05-01, 2024-05-01T10:00:00Z or 2024-05-01T10:00:00+05:30.

Exit codes:
  0  done                       4  finished, but records were dead-lettered
  2  usage error               75  could not finish now (locked endpoint, network); safe to re-run
 77  authorisation refused     78  config error
)";
}

std::string version_text() { return std::string("peoplesync ") + PEOPLESYNC_VERSION + "\n"; }

}  // namespace peoplesync::cli
