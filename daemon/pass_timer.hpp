#pragma once
// The daemon's waits (between passes, before a preflight is tried again,
// before a first token is asked for again), injected so the poll loop runs
// in tests without the wall clock. A stop or a reload ends a wait early.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/clock.hpp"

namespace peoplesync::runtime {

class PassTimer {
 public:
  virtual ~PassTimer() = default;
  // Returns after d, or earlier when cancel() is called during the wait.
  virtual boost::asio::awaitable<void> wait(Millis d) = 0;
  // Ends the wait in progress, if any; a later wait is not affected.
  virtual void cancel() = 0;
};

// A steady_timer on the daemon's io_context.
class AsioPassTimer final : public PassTimer {
 public:
  explicit AsioPassTimer(const boost::asio::any_io_executor& ex) : timer_(ex) {}
  boost::asio::awaitable<void> wait(Millis d) override;
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace peoplesync::runtime
