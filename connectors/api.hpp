#pragma once
// One authenticated call to a Zoho API: adds the access token, refreshes it
// once on 401 INVALID_TOKEN and repeats the call (a 401 was not processed),
// retries reads with full-jitter backoff on transport failures and 5xx, and
// never resends a write that may have reached the server (in doubt).
// Every attempt is admitted by the CallGate first (the scheduler's token
// buckets; an OpenGate unless set). Rate limits are not waited out here: a
// 429 is reported to the gate and comes back as rate_limited (with
// Retry-After when given); the caller sends again and the gate makes it wait.
#include <boost/asio/awaitable.hpp>

#include <variant>

#include "common/log.hpp"
#include "connectors/gate.hpp"
#include "connectors/oauth.hpp"

namespace peoplesync::connectors {

using ApiResult = std::variant<Response, CallError>;

class ZohoApi {
 public:
  ZohoApi(Transport& transport, TokenProvider& tokens, const Clock& clock, Sleeper& sleeper, Random& random,
          BackoffPolicy backoff = {});

  boost::asio::awaitable<ApiResult> call(Request request);

  TokenProvider& tokens() { return tokens_; }
  // The gate outlives this object; set once at wiring time.
  void set_gate(CallGate& gate) { gate_ = &gate; }
  CallGate& gate() { return *gate_; }

 private:
  Transport& transport_;
  TokenProvider& tokens_;
  const Clock& clock_;
  Sleeper& sleeper_;
  Random& random_;
  BackoffPolicy backoff_;
  OpenGate open_gate_;
  CallGate* gate_ = &open_gate_;
  log::Logger log_{"api"};
};

}  // namespace peoplesync::connectors
