#pragma once
// ISO-8601 formatting and parsing shared by logs, the store's reports and the CLI.
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace peoplesync {

// "2024-05-01T10:00:00.123Z" (UTC, millisecond precision).
std::string format_utc_iso(SysTime t);
// "2024-05-01T10:00:00Z" (UTC, seconds).
std::string format_utc_iso_seconds(SysTime t);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" and "YYYY-MM-DD"
// (midnight UTC). Returns nullopt for anything else.
std::optional<SysTime> parse_iso8601(std::string_view text);

// RFC 1123 / HTTP-date: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(SysTime t);
std::optional<SysTime> parse_http_date(std::string_view text);

}  // namespace peoplesync
