#include "daemon/signals.hpp"

#include <csignal>

namespace peoplesync::runtime {

Signals::Signals(boost::asio::io_context& io, bool listen_hup, Millis grace, SignalActions actions)
    : stop_(io, SIGINT, SIGTERM), hup_(io), drain_(io), grace_(grace), actions_(std::move(actions)) {
  stop_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    actions_.stop(sig);
    drain_.expires_after(grace_);
    drain_.async_wait([this](const boost::system::error_code& e) {
      if (!e) actions_.grace_over();
    });
  });
  if (listen_hup) {
    hup_.add(SIGHUP);
    wait_hup();
  }
}

void Signals::wait_hup() {
  hup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    actions_.reload();
    wait_hup();
  });
}

void Signals::cancel() {
  stop_.cancel();
  hup_.cancel();
  drain_.cancel();
}

Watchdog::Watchdog(boost::asio::io_context& io, std::chrono::microseconds every, std::function<void()> ping)
    : timer_(io), every_(every), ping_(std::move(ping)) {
  tick();
}

// The handler calls back into this object, which lives as long as the
// io_context runs (a std::function local to a block was once gone when the
// first WATCHDOG_USEC/2 elapsed, and the daemon crashed there).
void Watchdog::tick() {
  ping_();
  timer_.expires_after(every_);
  timer_.async_wait([this](const boost::system::error_code& e) {
    if (!e) tick();
  });
}

}  // namespace peoplesync::runtime
