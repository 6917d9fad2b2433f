#pragma once
// The daemon's process events on its io_context: SIGTERM/SIGINT (drain, then
// stop; whatever is still in flight after the grace period is abandoned),
// SIGHUP (reload, daemon only) and the systemd watchdog ping.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <optional>

#include "common/clock.hpp"

namespace peoplesync::runtime {

struct SignalActions {
  std::function<void(int)> stop;        // SIGTERM / SIGINT, with the signal number
  std::function<void()> grace_over;     // the grace period after a stop has passed
  std::function<void()> reload;         // SIGHUP (only when listened for)
};

class Signals {
 public:
  Signals(boost::asio::io_context& io, bool listen_hup, Millis grace, SignalActions actions);
  // Stops listening (the loop is done).
  void cancel();

 private:
  void wait_hup();
  boost::asio::signal_set stop_;
  boost::asio::signal_set hup_;
  boost::asio::steady_timer drain_;
  Millis grace_;
  SignalActions actions_;
};

// WATCHDOG=1 every `every` until cancelled.
class Watchdog {
 public:
  Watchdog(boost::asio::io_context& io, std::chrono::microseconds every, std::function<void()> ping);
  void cancel() { timer_.cancel(); }

 private:
  void tick();
  boost::asio::steady_timer timer_;
  std::chrono::microseconds every_;
  std::function<void()> ping_;
};

}  // namespace peoplesync::runtime
