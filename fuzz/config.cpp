// The config loader (config::load_config_text, the same path as
// load_config after reading the file): YAML syntax, every key, ${VAR}
// expansion, URLs, durations, limits, streams, templates, the stream graph.
// Any text gives a Config or errors with a position and a message, never a
// crash or an exception. The first byte says whether secrets are required
// (`check`, the daemon) or not (`status`, `retry`, `reset`).
#include <string>

#include "config/loader.hpp"
#include "support.hpp"

using namespace peoplesync;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  config::LoadOptions opt;
  opt.require_secrets = (data[0] & 1) != 0;
  // A fixed environment: a few set variables, one empty, nothing else (no
  // CREDENTIALS_DIRECTORY: the fuzzer must not read the machine's files).
  opt.getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "ZOHO_CLIENT_ID") return std::string("1000.FUZZ");
    if (name == "ZOHO_CLIENT_SECRET") return std::string("fuzz-secret");
    if (name == "ZOHO_REFRESH_TOKEN") return std::string("1000.fuzz.token");
    if (name == "EMPTY") return std::string();
    return std::nullopt;
  };
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  const config::LoadResult r = config::load_config_text(text, "fuzz.yaml", opt);
  fuzz::check(r.ok() == r.errors.empty(), "a config with errors, or neither a config nor an error");
  for (const auto& e : r.errors) {
    fuzz::check(!e.message.empty(), "an error without a message");
    fuzz::check(e.line >= 0 && e.column >= 0, "an error at a negative position");
    (void)e.format();
  }
  if (r.ok()) fuzz::check(!r.config->streams.empty(), "a config without streams");
  return 0;
}
