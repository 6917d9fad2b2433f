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

// "2024-05-01T10:00:00+00:00": UTC with a numeric offset, the only form
// CRM documents for If-Modified-Since (never a bare 'Z').
std::string format_utc_iso_offset(SysTime t);

// Calendar dates in a Zoho date pattern (People's company date format):
// tokens dd, MM, MMM (Jan..Dec, any case when read), yyyy; any other
// character is a literal separator. "dd-MMM-yyyy", "MM/dd/yyyy", "yyyy-MM-dd".
bool valid_date_pattern(std::string_view pattern);
// "2024-05-01" -> "01-May-2024" for "dd-MMM-yyyy"; nullopt when `ymd` is not a date.
std::optional<std::string> format_date_pattern(std::string_view ymd, std::string_view pattern);
// The reverse: "01-May-2024" -> "2024-05-01"; nullopt unless `text` is exactly a valid date in `pattern`.
std::optional<std::string> parse_date_pattern(std::string_view text, std::string_view pattern);

}  // namespace peoplesync
