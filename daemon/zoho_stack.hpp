#pragma once
// The production SyncStack: the real token provider, Zoho API client,
// scheduler, CRM and People clients and engine, all on one transport.
#include <memory>

#include "daemon/sync_stack.hpp"

namespace peoplesync::connectors {
class Transport;
class Sleeper;
class Random;
}  // namespace peoplesync::connectors

namespace peoplesync::state {
class Store;
}

namespace peoplesync::runtime {

struct StackDeps {
  state::Store& store;
  connectors::Transport& transport;
  const Clock& clock;
  connectors::Sleeper& sleeper;
  connectors::Random& random;
  sync::EngineOptions engine;
  bool one_shot = false;  // --run-once / --dry-run: a long accounts outage is not sat out
};

std::unique_ptr<SyncStack> make_zoho_stack(const config::Config& cfg, const StackDeps& deps);

}  // namespace peoplesync::runtime
