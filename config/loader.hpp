#pragma once
// YAML file -> validated, immutable Config. Every problem found is reported
// (not just the first), each naming file, line, column and key path. Secret
// values never appear in an error.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace peoplesync::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is about the file as a whole
  int column = 0;  // 1-based
  std::string path;  // key path, e.g. "streams[1].map.jobId"
  std::string message;

  // "config.yaml:12:5: streams[1].map.jobId: unknown stream 'dealz'"
  std::string format() const;
};

using GetEnv = std::function<std::optional<std::string>(const std::string&)>;

// Reads the real process environment.
std::optional<std::string> process_env(const std::string& name);

struct LoadOptions {
  // `check`, the daemon and `--run-once` need the secrets; `status`, `retry`
  // and `reset` only read the state file and must work without them.
  bool require_secrets = true;
  GetEnv getenv = process_env;
};

struct LoadResult {
  ConfigPtr config;  // set only when errors is empty
  std::vector<ConfigError> errors;
  bool ok() const { return config != nullptr; }
};

LoadResult load_config(const std::string& path, const LoadOptions& options = {});
LoadResult load_config_text(std::string_view yaml, const std::string& file_name,
                            const LoadOptions& options = {});

// -c FILE, else $PEOPLESYNC_CONFIG, else /etc/peoplesync/config.yaml.
std::string resolve_config_path(const std::optional<std::string>& flag, const GetEnv& getenv);

// "10s", "5m", "1h30m", "250ms", "2d". No unit, zero-length or garbage -> nullopt.
std::optional<Duration> parse_duration(std::string_view text);

}  // namespace peoplesync::config
