#pragma once
// Waiting, injected: the real sleeper uses an Asio timer; tests use a
// virtual one that advances a ManualClock and returns at once, so retries
// and backoffs run in simulated time.
#include <boost/asio/awaitable.hpp>

#include <vector>

#include "common/clock.hpp"

namespace peoplesync::connectors {

class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual boost::asio::awaitable<void> sleep_for(Millis d) = 0;
};

// Sleeps on a steady_timer of the calling coroutine's executor.
class AsioSleeper final : public Sleeper {
 public:
  boost::asio::awaitable<void> sleep_for(Millis d) override;
};

// Advances the clock by d and returns; records every wait.
class VirtualSleeper final : public Sleeper {
 public:
  explicit VirtualSleeper(ManualClock& clock) : clock_(clock) {}
  boost::asio::awaitable<void> sleep_for(Millis d) override {
    waits_.push_back(d);
    clock_.advance(d);
    co_return;
  }
  const std::vector<Millis>& waits() const { return waits_; }

 private:
  ManualClock& clock_;
  std::vector<Millis> waits_;
};

}  // namespace peoplesync::connectors
