#include "connectors/retry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/timefmt.hpp"

namespace peoplesync::connectors {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::retry: return "retry";
    case Outcome::rate_limited: return "rate_limited";
    case Outcome::locked: return "locked";
    case Outcome::auth: return "auth";
    case Outcome::permanent: return "permanent";
    case Outcome::in_doubt: return "in_doubt";
  }
  return "?";
}

std::string_view to_string(TransportFailure f) {
  switch (f) {
    case TransportFailure::resolve: return "name resolution failed";
    case TransportFailure::connect: return "connect failed";
    case TransportFailure::tls: return "TLS handshake or certificate verification failed";
    case TransportFailure::write: return "connection failed while sending";
    case TransportFailure::read: return "connection failed after sending";
    case TransportFailure::body_too_large: return "reply body over the limit";
    case TransportFailure::protocol: return "reply is not valid HTTP";
  }
  return "?";
}

Millis full_jitter(const BackoffPolicy& p, int attempt, Random& random) {
  // base * 2^attempt, computed in double to avoid overflow, then capped.
  const double ceiling =
      std::min(static_cast<double>(p.cap.count()), static_cast<double>(p.base.count()) * std::ldexp(1.0, std::min(attempt, 62)));
  const double u = std::clamp(random.uniform(), 0.0, 1.0);
  return Millis{static_cast<std::int64_t>(std::floor(u * ceiling))};
}

std::optional<Millis> parse_retry_after(std::string_view value, SysTime now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t seconds = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc{} || p != value.data() + value.size() || seconds > 7 * 86400) return std::nullopt;
    return Millis{seconds * 1000};
  }
  auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return Millis{0};
  return std::chrono::duration_cast<Millis>(*when - now);
}

bool never_sent(TransportFailure f) {
  return f == TransportFailure::resolve || f == TransportFailure::connect || f == TransportFailure::tls;
}

bool may_resend(bool idempotent, TransportFailure f) { return idempotent || never_sent(f); }

}  // namespace peoplesync::connectors
