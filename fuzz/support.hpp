#pragma once
// Shared by the fuzz targets: quiet logging, a trap that libFuzzer reports as
// a crash when an invariant breaks, and scripted replies read from the input.
//
// Reply script format (fuzz/corpus/*client*): replies separated by a line
// "----"; a reply may start with a line "NNN" (its HTTP status, default 200)
// and a line "Retry-After: VALUE"; the rest is the body.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>

#include "common/log.hpp"
#include "connectors/http.hpp"

namespace peoplesync::fuzz {

inline void quiet_logs() { log::init(log::Format::text, log::Level::off); }

// An invariant the code under test promised does not hold.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}
inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline std::deque<connectors::Response> parse_script(std::string_view in) {
  std::deque<connectors::Response> out;
  constexpr std::string_view kSep = "\n----\n";
  for (;;) {
    const std::size_t sep = in.find(kSep);
    std::string_view seg = in.substr(0, sep);
    connectors::Response r;
    r.status = 200;
    if (seg.size() >= 4 && seg[3] == '\n' && seg[0] >= '1' && seg[0] <= '5' && seg[1] >= '0' && seg[1] <= '9' &&
        seg[2] >= '0' && seg[2] <= '9') {
      r.status = (seg[0] - '0') * 100 + (seg[1] - '0') * 10 + (seg[2] - '0');
      seg.remove_prefix(4);
    }
    constexpr std::string_view kRetry = "Retry-After: ";
    if (seg.substr(0, kRetry.size()) == kRetry) {
      const std::size_t eol = seg.find('\n');
      r.headers.push_back({"Retry-After", std::string(seg.substr(kRetry.size(), eol == seg.npos ? seg.npos
                                                                                             : eol - kRetry.size()))});
      seg = eol == seg.npos ? std::string_view{} : seg.substr(eol + 1);
    }
    r.headers.push_back({"Content-Type", "application/json;charset=UTF-8"});
    r.body = std::string(seg);
    out.push_back(std::move(r));
    if (sep == std::string_view::npos) break;
    in.remove_prefix(sep + kSep.size());
  }
  return out;
}

}  // namespace peoplesync::fuzz
