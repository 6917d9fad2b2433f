#pragma once
// Admission of calls to the vendor. The scheduler (sync/scheduler.hpp)
// implements CallGate; ZohoApi asks it before every request it puts on the
// wire (retries included: the vendor counts every call) and tells it when the
// server refused a call for a limit. connectors/ knows nothing of buckets.
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"

namespace peoplesync::connectors {

// Held while one call is in flight (concurrency caps); released when destroyed.
class Admission {
 public:
  virtual ~Admission() = default;
};
using AdmissionPtr = std::unique_ptr<Admission>;

enum class LimitSignal {
  locked,        // People: threshold exceeded, the endpoint is blocked for its lock period (7209)
  rate_limited,  // CRM: HTTP 429 (daily credits or concurrency)
};

class CallGate {
 public:
  virtual ~CallGate() = default;
  // Waits until one call to `endpoint` (catalogue name: "crm",
  // "people/addupdatetimelogs", ...) costing `cost` credits may be sent.
  virtual boost::asio::awaitable<AdmissionPtr> admit(const std::string& endpoint, int cost) = 0;
  // The server refused a call for a limit; retry_after when it said how long.
  virtual void limited(const std::string& endpoint, LimitSignal signal, std::optional<Millis> retry_after) = 0;
};

// Admits every call at once and ignores limit signals (client tests, tools).
class OpenGate final : public CallGate {
 public:
  boost::asio::awaitable<AdmissionPtr> admit(const std::string&, int) override { co_return nullptr; }
  void limited(const std::string&, LimitSignal, std::optional<Millis>) override {}
};

}  // namespace peoplesync::connectors
