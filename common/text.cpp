#include "common/text.hpp"

#include <charconv>

namespace peoplesync {
namespace {

char fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = fold(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (fold(a[i]) != fold(b[i])) return false;
  return true;
}

int minutes_of(std::string_view h) {
  const char* begin = h.data();
  const char* end = h.data() + h.size();
  if (const auto c = h.find(':'); c != std::string_view::npos) {
    int hh = 0, mm = 0;
    auto [p1, e1] = std::from_chars(begin, begin + c, hh);
    auto [p2, e2] = std::from_chars(begin + c + 1, end, mm);
    if (e1 != std::errc{} || e2 != std::errc{} || p1 != begin + c || p2 != end || hh < 0 || mm < 0 || mm > 59)
      return -1;
    return hh * 60 + mm;
  }
  double v = 0;
  auto [p, e] = std::from_chars(begin, end, v);
  if (e != std::errc{} || p != end || v < 0 || v > 1e6) return -1;
  return static_cast<int>(v * 60 + 0.5);
}

}  // namespace peoplesync
