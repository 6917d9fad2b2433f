#pragma once
// Discrete-event simulated time for coroutines: every sleep_for registers a
// wake-up time; run() executes whatever is ready, then moves the ManualClock
// to the earliest wake-up and resumes that sleeper, until nothing sleeps. So
// sleepers overlap in simulated time as they would in real time (unlike
// VirtualSleeper, which advances the clock by each sleep in turn), and no
// test waits on the wall clock.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <exception>
#include <map>
#include <utility>

#include "common/clock.hpp"
#include "connectors/sleeper.hpp"

namespace peoplesync::testing_support {

class SimSleeper final : public connectors::Sleeper {
 public:
  explicit SimSleeper(ManualClock& clock) : clock_(clock) {}

  boost::asio::awaitable<void> sleep_for(Millis d) override {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                    boost::asio::steady_timer::time_point::max());
    ++sleeps_;
    sleeping_.emplace(std::make_pair(clock_.steady_now() + d, seq_++), &timer);
    co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

  // Runs the io_context in simulated time until no coroutine sleeps and no
  // handler is ready (callers blocked on anything else stay blocked).
  void run(boost::asio::io_context& io) {
    for (;;) {
      io.restart();
      io.poll();
      if (sleeping_.empty()) return;
      auto first = sleeping_.begin();
      const auto at = first->first.first;
      if (at > clock_.steady_now()) clock_.advance(std::chrono::ceil<Millis>(at - clock_.steady_now()));
      boost::asio::steady_timer* timer = first->second;
      sleeping_.erase(first);
      timer->cancel();
    }
  }

  int sleeps() const { return sleeps_; }

 private:
  ManualClock& clock_;
  std::map<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>, boost::asio::steady_timer*> sleeping_;
  std::uint64_t seq_ = 0;
  int sleeps_ = 0;
};

// co_spawn whose exceptions fail the test run instead of vanishing.
inline void spawn(boost::asio::io_context& io, boost::asio::awaitable<void> a) {
  boost::asio::co_spawn(io, std::move(a), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

}  // namespace peoplesync::testing_support
