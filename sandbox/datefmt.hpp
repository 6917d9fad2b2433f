#pragma once
// People's date patterns, the sandbox's own reading (nothing shared with the
// client: if both misread Zoho the same way every test would pass).
//
// A pattern is made of the fields dd (day, 2 digits), MM (month, 2 digits),
// MMM (month, Jan..Dec; read in any case, written capitalised) and yyyy
// (year, 4 digits), each exactly once, separated by one of - / . or a space:
// dd-MMM-yyyy (the vendor's examples), dd/MM/yyyy, MM/dd/yyyy, yyyy-MM-dd,
// dd-MM-yyyy, dd.MM.yyyy, ... Dates are kept as "yyyy-MM-dd" inside the sandbox.
#include <array>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peoplesync::sandbox::datefmt {

enum class Field { day, month, month_name, year, separator };

struct Token {
  Field field;
  char separator = 0;
};

inline std::optional<std::vector<Token>> tokens_of(std::string_view pattern) {
  std::vector<Token> out;
  int days = 0, months = 0, years = 0;
  for (std::size_t i = 0; i < pattern.size();) {
    const char c = pattern[i];
    std::size_t n = 1;
    while (i + n < pattern.size() && pattern[i + n] == c) ++n;
    if (c == 'd' && n == 2) {
      out.push_back({Field::day});
      ++days;
    } else if (c == 'M' && (n == 2 || n == 3)) {
      out.push_back({n == 2 ? Field::month : Field::month_name});
      ++months;
    } else if (c == 'y' && n == 4) {
      out.push_back({Field::year});
      ++years;
    } else if ((c == '-' || c == '/' || c == '.' || c == ' ') && n == 1) {
      out.push_back({Field::separator, c});
    } else {
      return std::nullopt;
    }
    i += n;
  }
  if (days != 1 || months != 1 || years != 1) return std::nullopt;
  return out;
}

inline bool valid_pattern(std::string_view pattern) { return tokens_of(pattern).has_value(); }

inline constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

inline bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

inline int days_in(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

inline bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

inline std::string iso(int y, int m, int d) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

// What reading `text` in `pattern` found: the shape is wrong (not_in_format),
// or the shape is right but there is no such day (no_such_date), or a date.
struct Parsed {
  enum Kind { ok, not_in_format, no_such_date } kind = not_in_format;
  std::string iso;  // "yyyy-MM-dd" when ok
};

inline Parsed parse(std::string_view text, std::string_view pattern) {
  const auto tokens = tokens_of(pattern);
  if (!tokens) return {};
  int y = 0, m = 0, d = 0;
  std::size_t at = 0;
  for (const Token& t : *tokens) {
    switch (t.field) {
      case Field::day:
        if (!digits(text, at, 2, d)) return {};
        at += 2;
        break;
      case Field::month:
        if (!digits(text, at, 2, m)) return {};
        at += 2;
        break;
      case Field::year:
        if (!digits(text, at, 4, y)) return {};
        at += 4;
        break;
      case Field::month_name: {
        if (at + 3 > text.size()) return {};
        m = 0;
        for (int i = 0; i < 12; ++i) {
          bool same = true;
          for (std::size_t k = 0; k < 3; ++k)
            same = same && std::tolower(static_cast<unsigned char>(text[at + k])) ==
                               std::tolower(static_cast<unsigned char>(kMonths[static_cast<std::size_t>(i)][k]));
          if (same) m = i + 1;
        }
        if (m == 0) return {};
        at += 3;
        break;
      }
      case Field::separator:
        if (at >= text.size() || text[at] != t.separator) return {};
        ++at;
        break;
    }
  }
  if (at != text.size()) return {};
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in(y, m)) return {Parsed::no_such_date, ""};
  return {Parsed::ok, iso(y, m, d)};
}

// "yyyy-MM-dd" -> the pattern's text; nullopt when `ymd` is not such a date.
inline std::optional<std::string> format(std::string_view ymd, std::string_view pattern) {
  const Parsed p = parse(ymd, "yyyy-MM-dd");
  const auto tokens = tokens_of(pattern);
  if (p.kind != Parsed::ok || !tokens) return std::nullopt;
  const int y = std::stoi(std::string(ymd.substr(0, 4))), m = std::stoi(std::string(ymd.substr(5, 2))),
            d = std::stoi(std::string(ymd.substr(8, 2)));
  std::string out;
  char buf[16];
  for (const Token& t : *tokens) {
    switch (t.field) {
      case Field::day:
        std::snprintf(buf, sizeof buf, "%02d", d);
        out += buf;
        break;
      case Field::month:
        std::snprintf(buf, sizeof buf, "%02d", m);
        out += buf;
        break;
      case Field::month_name:
        out += kMonths[static_cast<std::size_t>(m - 1)];
        break;
      case Field::year:
        std::snprintf(buf, sizeof buf, "%04d", y);
        out += buf;
        break;
      case Field::separator:
        out.push_back(t.separator);
        break;
    }
  }
  return out;
}

}  // namespace peoplesync::sandbox::datefmt
