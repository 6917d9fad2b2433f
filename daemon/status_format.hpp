#pragma once
// Small formatting pieces shared by the status renderers (status_text.cpp,
// status_json.cpp, status_html.cpp). Internal to daemon/.
#include <cstdint>
#include <string>
#include <string_view>

#include "state/store.hpp"

namespace peoplesync::status {

std::string_view state_name(state::OutboxState s);
// An ISO time in seconds, "-" for 0.
std::string when(std::int64_t ms);
// "45s", "12m", "5h", "3d"; "-" when negative.
std::string human(std::int64_t seconds);

}  // namespace peoplesync::status
