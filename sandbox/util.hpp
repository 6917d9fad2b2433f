#pragma once
// Small helpers of the sandbox (its own: nothing here is shared with the client).
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "net/http_server.hpp"

namespace peoplesync::sandbox {

inline std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

inline net::HttpReply json_reply(int status, std::string body) {
  net::HttpReply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// CRM's error body (BEHAVIOUR.md): {"code","details","message","status":"error"}.
inline std::string crm_error_body(const std::string& code, const std::string& message,
                                  const std::string& details = "{}") {
  return "{\"code\":" + json::quote(code) + ",\"details\":" + details + ",\"message\":" + json::quote(message) +
         ",\"status\":\"error\"}";
}

// "a, b,,c" -> {"a","b","c"}: items trimmed of spaces, empty ones dropped.
inline std::vector<std::string> split_list(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t end = s.find(sep, pos);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(pos, end - pos);
    const auto first = item.find_first_not_of(' ');
    const auto last = item.find_last_not_of(' ');
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
    pos = end + 1;
  }
  return out;
}

inline std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

inline bool to_int(const std::string& s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace peoplesync::sandbox
