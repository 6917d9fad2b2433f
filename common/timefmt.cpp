#include "common/timefmt.hpp"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <vector>

namespace peoplesync {
namespace {

// SysTime counts nanoseconds in 64 bits (1677-09-21 to 2262-04-11): a date
// far outside overflowed it (undefined behaviour, found by fuzz/dates.cpp).
// Times are computed in milliseconds and kept only within whole years 1678 to
// 2261, so whatever parses also formats back to something that parses.
using MsTime = std::chrono::sys_time<std::chrono::milliseconds>;
constexpr MsTime kFirst = std::chrono::sys_days{std::chrono::year{1678} / 1 / 1};
constexpr MsTime kEnd = std::chrono::sys_days{std::chrono::year{2262} / 1 / 1};

std::optional<SysTime> representable(MsTime t) {
  if (t < kFirst || t >= kEnd) return std::nullopt;
  return SysTime{t};
}

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (std::size_t i = pos; i < pos + len; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return ec == std::errc{} && p == s.data() + pos + len;
}

std::string format(SysTime t, bool millis) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char buf[40];
  if (millis) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()),
                  int(hms.subseconds().count()));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()));
  }
  return buf;
}

}  // namespace

std::string format_utc_iso(SysTime t) { return format(t, true); }
std::string format_utc_iso_seconds(SysTime t) { return format(t, false); }

std::optional<SysTime> parse_iso8601(std::string_view s) {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0;
  if (!read_int(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !read_int(s, 5, 2, mo) ||
      s[7] != '-' || !read_int(s, 8, 2, d))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  const MsTime base = sys_days{ymd};
  if (s.size() == 10) return representable(base);
  int h = 0, mi = 0, se = 0;
  if (s.size() < 19 || (s[10] != 'T' && s[10] != ' ') || !read_int(s, 11, 2, h) || s[13] != ':' ||
      !read_int(s, 14, 2, mi) || s[16] != ':' || !read_int(s, 17, 2, se))
    return std::nullopt;
  if (h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t pos = 19;
  milliseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0, value = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) value = value * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) value *= 10;
    frac = milliseconds{value};
  }
  if (pos >= s.size()) return std::nullopt;  // an offset is required
  minutes offset{0};
  if (s[pos] == 'Z' && pos + 1 == s.size()) {
    // UTC
  } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (!read_int(s, pos + 1, 2, oh) || !read_int(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = hours{oh} + minutes{om};
    if (s[pos] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  return representable(base + hours{h} + minutes{mi} + seconds{se} + frac - offset);
}

namespace {
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
}  // namespace

std::string format_http_date(SysTime t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const weekday wd{day};
  const hh_mm_ss hms{secs - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", kDays[wd.c_encoding()],
                unsigned(ymd.day()), kMonths[unsigned(ymd.month()) - 1], int(ymd.year()),
                int(hms.hours().count()), int(hms.minutes().count()), int(hms.seconds().count()));
  return buf;
}

std::optional<SysTime> parse_http_date(std::string_view s) {
  using namespace std::chrono;
  // "Sun, 06 Nov 1994 08:49:37 GMT" is exactly 29 characters.
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  int d = 0, y = 0, h = 0, mi = 0, se = 0;
  if (!read_int(s, 5, 2, d) || !read_int(s, 12, 4, y) || !read_int(s, 17, 2, h) || !read_int(s, 20, 2, mi) ||
      !read_int(s, 23, 2, se))
    return std::nullopt;
  unsigned mo = 0;
  for (unsigned i = 0; i < 12; ++i)
    if (s.substr(8, 3) == kMonths[i]) mo = i + 1;
  const year_month_day ymd{year{y}, month{mo}, day{unsigned(d)}};
  if (mo == 0 || !ymd.ok() || h > 23 || mi > 59 || se > 60) return std::nullopt;
  return representable(sys_days{ymd} + hours{h} + minutes{mi} + seconds{se});
}

std::string format_utc_iso_offset(SysTime t) {
  std::string s = format(t, false);
  s.pop_back();  // 'Z'
  return s + "+00:00";
}

namespace {

// The pattern as tokens: "dd", "MM", "MMM", "yyyy", or one literal character.
std::vector<std::string_view> date_tokens(std::string_view p) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < p.size();) {
    std::size_t n = 1;
    if (p[i] == 'd' || p[i] == 'M' || p[i] == 'y')
      while (i + n < p.size() && p[i + n] == p[i]) ++n;
    out.push_back(p.substr(i, n));
    i += n;
  }
  return out;
}

bool is_field(std::string_view t) { return t == "dd" || t == "MM" || t == "MMM" || t == "yyyy"; }

int days_in_month(int y, int m) {
  static constexpr int kMonthDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kMonthDays[m - 1];
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

bool valid_date_pattern(std::string_view pattern) {
  int d = 0, m = 0, y = 0;
  for (auto t : date_tokens(pattern)) {
    if (t[0] == 'd' || t[0] == 'M' || t[0] == 'y') {
      if (!is_field(t)) return false;
      (t[0] == 'd' ? d : t[0] == 'M' ? m : y)++;
    } else if (std::isalnum(static_cast<unsigned char>(t[0]))) {
      return false;
    }
  }
  return d == 1 && m == 1 && y == 1;
}

std::optional<std::string> format_date_pattern(std::string_view ymd, std::string_view pattern) {
  int y = 0, m = 0, d = 0;
  if (ymd.size() != 10 || ymd[4] != '-' || ymd[7] != '-' || !read_int(ymd, 0, 4, y) || !read_int(ymd, 5, 2, m) ||
      !read_int(ymd, 8, 2, d) || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m) || !valid_date_pattern(pattern))
    return std::nullopt;
  std::string out;
  char buf[16];
  for (auto t : date_tokens(pattern)) {
    if (t == "MMM") {
      out += kMonths[m - 1];
    } else if (is_field(t)) {
      if (t == "yyyy") std::snprintf(buf, sizeof buf, "%04d", y);
      else std::snprintf(buf, sizeof buf, "%02d", t == "dd" ? d : m);
      out += buf;
    } else {
      out += t;
    }
  }
  return out;
}

std::optional<std::string> parse_date_pattern(std::string_view text, std::string_view pattern) {
  if (!valid_date_pattern(pattern)) return std::nullopt;
  int y = -1, m = -1, d = -1;
  std::size_t pos = 0;
  for (auto t : date_tokens(pattern)) {
    if (t == "MMM") {
      if (pos + 3 > text.size()) return std::nullopt;
      for (int i = 0; i < 12; ++i)
        if (ieq(text.substr(pos, 3), kMonths[i])) m = i + 1;
      if (m < 0) return std::nullopt;
      pos += 3;
    } else if (is_field(t)) {
      int v = 0;
      if (!read_int(text, pos, t.size(), v)) return std::nullopt;
      (t == "dd" ? d : t == "MM" ? m : y) = v;
      pos += t.size();
    } else {
      if (pos >= text.size() || text[pos] != t[0]) return std::nullopt;
      ++pos;
    }
  }
  if (pos != text.size() || m < 1 || m > 12 || y < 1 || d < 1 || d > days_in_month(y, m)) return std::nullopt;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return std::string(buf);
}

}  // namespace peoplesync
