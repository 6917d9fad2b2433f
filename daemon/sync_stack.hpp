#pragma once
// Everything one config builds for a pass: the token provider, the Zoho API
// client behind the scheduler, the CRM and People clients and the engine.
// The poll loop sees it through this interface (tests give it a scripted
// one); a SIGHUP reload builds a new one from the new config.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sync/engine.hpp"
#include "sync/preflight.hpp"
#include "sync/scheduler.hpp"

namespace peoplesync::runtime {

// The answer to "is there an access token?".
struct TokenCheck {
  enum class State { obtained, refused, not_yet };  // refused: authorisation, the operator must act
  State state = State::obtained;
  std::string message;
};

class SyncStack {
 public:
  virtual ~SyncStack() = default;
  virtual boost::asio::awaitable<TokenCheck> first_token() = 0;
  virtual boost::asio::awaitable<sync::PreflightReport> preflight() = 0;
  virtual boost::asio::awaitable<sync::RunReport> run_pass() = 0;
  // Asks a running pass to stop at its next safe point.
  virtual void request_stop() = 0;
  virtual void on_progress(sync::ProgressFn fn) = 0;
  // The scheduler's lanes as they are now: budgets, calls, locks, waits.
  virtual std::vector<sync::EndpointSnapshot> endpoints() const = 0;
  // Writes the scheduler's lanes to the store (at exit).
  virtual void flush() = 0;
};

using StackFactory = std::function<std::unique_ptr<SyncStack>(const config::Config&)>;

}  // namespace peoplesync::runtime
