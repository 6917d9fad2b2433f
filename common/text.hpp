#pragma once
// Small text helpers every layer uses: ASCII case folding (Zoho's codes,
// emails and header names are ASCII where case does not matter) and hours
// as People writes them.
#include <string>
#include <string_view>

namespace peoplesync {

std::string ascii_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

// "01:30", "1:30" or "1.5" -> 90 minutes; -1 when the text is none of these.
int minutes_of(std::string_view hours);

}  // namespace peoplesync
