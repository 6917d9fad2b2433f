#include "daemon/status_format.hpp"

#include "common/timefmt.hpp"

namespace peoplesync::status {

std::string_view state_name(state::OutboxState s) {
  switch (s) {
    case state::OutboxState::pending: return "pending";
    case state::OutboxState::sent: return "sent";
    case state::OutboxState::in_doubt: return "in_doubt";
  }
  return "?";
}

std::string when(std::int64_t ms) { return ms > 0 ? format_utc_iso_seconds(from_unix_ms(ms)) : "-"; }

std::string human(std::int64_t seconds) {
  if (seconds < 0) return "-";
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  if (seconds < 172800) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

}  // namespace peoplesync::status
