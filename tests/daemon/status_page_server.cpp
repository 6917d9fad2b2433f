// Serves the seeded status fixture on 127.0.0.1 (a free port) for the
// headless-browser test: prints the base URL as its first stdout line once
// listening, then serves until SIGTERM or SIGINT.
//   usage: health_page_server DIR
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>

#include "common/metrics.hpp"
#include "daemon/health.hpp"
#include "tests/daemon/status_fixture.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: health_page_server DIR\n";
    return 2;
  }
  using namespace peoplesync;
  testing::StatusFixture fx(argv[1]);
  metrics::Registry registry;
  boost::asio::io_context io;
  health::Providers p;
  p.ready = [] { return true; };
  p.metrics = [&] { return registry.render(); };
  p.status = [&] { return health::StatusInput{fx.store.get(), fx.config, fx.live}; };
  health::Options o;
  o.port = 0;
  health::HealthServer server(io, o, std::move(p), fx.clock);
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    io.stop();
  });
  std::cout << server.base_url() << std::endl;
  io.run();
  return 0;
}
