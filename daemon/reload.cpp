#include "daemon/reload.hpp"

#include "common/log.hpp"
#include "config/loader.hpp"

namespace peoplesync::runtime {

config::ConfigPtr reload_config(const config::Config& running) {
  log::Logger log("daemon");
  auto lr = config::load_config(running.file, {});
  if (!lr.ok()) {
    log.error("SIGHUP: the new config has {} error(s); keeping the one in force", lr.errors.size());
    for (const auto& e : lr.errors) log.error("  {}", e.format());
    return nullptr;
  }
  log.info("SIGHUP: new config loaded; it applies from the next pass");
  // Fixed at start: say so rather than seem to apply them.
  for (const auto& c : config::restart_only_changes(running, *lr.config))
    log.warn("SIGHUP: {} takes effect only after a restart; the running value stays in force", c);
  return lr.config;
}

}  // namespace peoplesync::runtime
