#pragma once
// Command-line parsing (PRODUCT.md "Command line"). Pure: argv in, a parsed
// command or a usage error out; nothing is executed here.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/clock.hpp"

namespace peoplesync::cli {

enum class Command { run, check, status, retry, reset, demo, auth, help, version };

struct Options {
  Command command = Command::run;
  std::optional<std::string> config_path;  // -c FILE
  bool run_once = false;
  bool dry_run = false;
  std::optional<SysTime> since;
  std::optional<std::string> since_text;
  std::vector<std::string> streams;        // --stream NAME (repeatable)
  std::optional<std::string> log_format;   // text | json
  std::optional<std::string> log_level;
  bool json = false;                       // status --json, --dry-run --json
  bool online = false;                     // check --online
  std::optional<std::string> reset_to;     // reset --to TIME (raw text)
  bool scopes = false;                     // auth --scopes
  std::optional<std::string> grant_code;   // auth --code CODE
};

struct UsageError {
  std::string message;
};

std::variant<Options, UsageError> parse(const std::vector<std::string>& args);

// The --help text.
std::string help_text();
// The --version line.
std::string version_text();

}  // namespace peoplesync::cli
