#pragma once
// The daemon's HTTP endpoints on service.listen (PRODUCT.md "Observability"):
//   /livez        200 while the process serves requests at all
//   /readyz       200 once config, state and the first token are ready, else 503
//   /metrics      Prometheus text (whatever the metrics provider renders)
//   /status       a self-refreshing HTML page for operators
//   /status.json  the same data as JSON
// served by net::HttpServer on the daemon's io_context (one thread: the
// providers are called on it, between the engine's own handlers, so they may
// read the engine's state and the Store without locks). Asio stays out of
// this header.
//
// Wiring, in the daemon:
//   health::Providers p;
//   p.ready   = [&] { return engine.ready(); };
//   p.metrics = [&] { health::refresh_gauges(registry, status_input(), clock.now()); return registry.render(); };
//   p.status  = [&] { return health::StatusInput{store.get(), current_config(), engine.live()}; };
//   health::HealthServer server(io, health::options_from(*cfg.service.listen), std::move(p), clock);
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "daemon/status_report.hpp"
#include "net/http_server.hpp"
#include "net/tls_cert.hpp"
#include "state/store.hpp"

namespace boost::asio {
class io_context;
}

namespace peoplesync::metrics {
class Registry;
}

namespace peoplesync::health {

// What /status and /status.json show, gathered per request.
struct StatusInput {
  const state::Store* store = nullptr;  // nullptr until the state file is open (-> 503)
  config::ConfigPtr config;             // the config in force (it changes on SIGHUP); nullptr -> 503
  status::Live live;                    // the engine's and the limiter's live view (ready is filled in here)
};

struct Providers {
  std::function<bool()> ready;           // config loaded, state open, token obtained
  std::function<std::string()> metrics;  // Prometheus text exposition
  std::function<StatusInput()> status;
};

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9464;  // 0 = any free port (tests)
  std::optional<net::TlsFiles> tls;  // plain HTTP when absent
  int refresh_seconds = 5;           // /status reloads itself this often
};

Options options_from(const config::ListenAddress& listen);

class HealthServer {
 public:
  // Binds at once (throws std::runtime_error naming the address on failure);
  // serves once the io_context runs.
  HealthServer(boost::asio::io_context& io, Options options, Providers providers, const Clock& clock);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  std::uint16_t port() const;
  std::string base_url() const;  // http://HOST:PORT
  // Stops accepting (on SIGTERM, before draining); open connections end at
  // their next request.
  void stop();

 private:
  std::unique_ptr<net::HttpServer> server_;
};

// The request handler on its own (what HealthServer serves): GET only,
// provider exceptions become a 500 with a redacted message.
net::HttpReply handle(const net::HttpRequest& request, const Providers& providers, const Clock& clock,
                      int refresh_seconds);

// Sets the per-stream gauges (sync_lag_seconds, last_success_timestamp_seconds,
// outbox_pending, dead_letters) afresh from the store and the live view, so a
// scrape shows the state of the moment; streams no longer known disappear.
void refresh_gauges(metrics::Registry& registry, const StatusInput& input, SysTime now);

}  // namespace peoplesync::health
