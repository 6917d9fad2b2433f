// Dates and durations read from the network and the config: ISO-8601
// (Modified_Time, If-Modified-Since, --since), RFC 1123 HTTP-dates,
// Retry-After in both forms (connectors::parse_retry_after) and config
// durations (config::parse_duration). Every parse that succeeds formats back
// to the same instant; Retry-After is never negative.
#include "common/timefmt.hpp"
#include "config/loader.hpp"
#include "connectors/retry.hpp"
#include "support.hpp"

using namespace peoplesync;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view s = fuzz::as_text(data, size);
  const SysTime now = SysTime{std::chrono::seconds{1'714'557'600}};  // 2024-05-01T10:00:00Z

  if (auto t = parse_iso8601(s)) {
    const auto back = parse_iso8601(format_utc_iso(*t));
    fuzz::check(back.has_value(), "an ISO-8601 time that does not format back");
    fuzz::check(*back == std::chrono::floor<Millis>(*t), "an ISO-8601 time that formats to another instant");
    const auto secs = parse_iso8601(format_utc_iso_seconds(*t));
    fuzz::check(secs.has_value(), "an ISO-8601 time that does not format back in seconds");
  }
  if (auto t = parse_http_date(s)) {
    const auto back = parse_http_date(format_http_date(*t));
    fuzz::check(back.has_value() && *back == *t, "an HTTP-date that does not format back to itself");
  }
  if (auto d = connectors::parse_retry_after(s, now)) fuzz::check(d->count() >= 0, "a negative Retry-After");
  if (auto d = config::parse_duration(s)) fuzz::check(d->count() >= 0, "a negative duration");
  return 0;
}
