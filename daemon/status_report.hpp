#pragma once
// What `peoplesync status` prints (and, later, /status.json): a snapshot of
// the state store, joined with the configured streams.
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "state/store.hpp"

namespace peoplesync::status {

std::string render_text(const state::Store& store, const config::Config& cfg, SysTime now);
std::string render_json(const state::Store& store, const config::Config& cfg, SysTime now);

}  // namespace peoplesync::status
