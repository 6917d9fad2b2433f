#pragma once
// The production Transport: HTTPS (and http:// to loopback, for tests) with
// Beast + OpenSSL. Keep-alive connections per host, reused across calls; a
// deadline on connect, on the TLS handshake and on every read and write,
// plus a total deadline per request; a cap on the reply body; SNI and
// certificate + host name verification always on (system store plus an
// optional extra CA file). Include only where the transport is built.
#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "connectors/http.hpp"

namespace peoplesync::connectors {

struct TransportOptions {
  Millis connect_timeout{10'000};  // TCP connect + TLS handshake, each
  Millis request_timeout{60'000};  // the whole request, first byte to last
  Millis io_timeout{30'000};       // any single read or write
  std::size_t body_limit = 32 * 1024 * 1024;
  std::optional<std::string> ca_file;  // extra trust anchor (PEM)
  bool use_system_store = true;
  std::size_t max_idle_per_host = 8;
  Millis max_idle_age{30'000};  // idle connections older than this are closed
};

// Throws std::runtime_error if the CA file cannot be loaded.
std::unique_ptr<Transport> make_beast_transport(boost::asio::any_io_executor executor,
                                                const TransportOptions& options);

}  // namespace peoplesync::connectors
