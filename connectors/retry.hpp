#pragma once
// Retry policy: typed outcomes, full-jitter exponential backoff with a cap,
// Retry-After in both forms, and the rule that decides whether a failed
// request may be sent again without risking a duplicate write.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/clock.hpp"

namespace peoplesync::connectors {

// What a caller does with the result of one call.
enum class Outcome {
  ok,            // done
  retry,         // temporary: send again after a backoff
  rate_limited,  // 429 / throttle: wait (Retry-After if given), then again
  locked,        // People lock period (7209): the endpoint pauses for the lock
  auth,          // authorisation refused: stop, tell the operator
  permanent,     // the request itself is wrong: dead-letter, never resend
  in_doubt,      // a write may have been applied: reconcile by reading back
};

std::string_view to_string(Outcome o);

// Source of randomness for jitter; injected so tests are exact.
class Random {
 public:
  virtual ~Random() = default;
  // Uniform in [0, 1).
  virtual double uniform() = 0;
};

struct BackoffPolicy {
  Millis base{500};
  Millis cap{std::chrono::seconds{60}};
  int max_attempts = 6;  // attempts in total, the first included
};

// Full jitter: uniform in [0, min(cap, base * 2^attempt)), attempt from 0.
Millis full_jitter(const BackoffPolicy& p, int attempt, Random& random);

// Retry-After: delta-seconds ("120") or an HTTP-date; a date in the past is
// zero. Garbage -> nullopt (the caller falls back to its own backoff).
std::optional<Millis> parse_retry_after(std::string_view value, SysTime now);

// How a request failed below HTTP.
enum class TransportFailure {
  resolve,        // name resolution failed: nothing sent
  connect,        // TCP connect failed or timed out: nothing sent
  tls,            // handshake or certificate verification failed: nothing sent
  write,          // failed while sending the request: it may have arrived
  read,           // failed or timed out after sending: the server may have acted
  body_too_large, // the reply exceeded the body cap
  protocol,       // not HTTP
};

std::string_view to_string(TransportFailure f);

// True when the request provably never reached the server.
bool never_sent(TransportFailure f);

// May a request that failed this way be sent again? Reads always may; writes
// only when they provably never reached the server.
bool may_resend(bool idempotent, TransportFailure f);

}  // namespace peoplesync::connectors
