#pragma once
// SIGHUP: the config file is read again. A config with errors is logged and
// the one in force stays; a good one is returned, with a warning for each
// setting that only a restart applies (transport, health server, logger,
// state file are built once).
#include "config/config.hpp"

namespace peoplesync::runtime {

// nullptr when the config in force stays.
config::ConfigPtr reload_config(const config::Config& running);

}  // namespace peoplesync::runtime
