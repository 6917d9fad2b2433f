#pragma once
// The production pieces the daemon wires around the transport: a Transport
// that counts every request on the wire (retries included) for /metrics,
// and the system's randomness for back-off jitter.
#include <random>

#include "common/clock.hpp"
#include "connectors/http.hpp"
#include "connectors/retry.hpp"

namespace peoplesync::metrics {
class Registry;
}

namespace peoplesync::runtime {

class SystemRandom final : public connectors::Random {
 public:
  SystemRandom() : rng_(std::random_device{}()) {}
  double uniform() override { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

 private:
  std::mt19937_64 rng_;
};

// Per endpoint and status: requests and their duration; token refreshes by outcome.
class MeteredTransport final : public connectors::Transport {
 public:
  MeteredTransport(connectors::Transport& inner, metrics::Registry& m, const Clock& clock)
      : inner_(inner), m_(m), clock_(clock) {}
  boost::asio::awaitable<connectors::Result> send(connectors::Request request) override;

 private:
  connectors::Transport& inner_;
  metrics::Registry& m_;
  const Clock& clock_;
};

}  // namespace peoplesync::runtime
