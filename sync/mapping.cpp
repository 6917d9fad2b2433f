#include "sync/mapping.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/text.hpp"
#include "common/timefmt.hpp"

namespace peoplesync::sync {
namespace {

using config::Filter;

std::optional<std::int64_t> whole_number(const std::string& s) {
  // CRM sends durations as numbers or numeric strings; "5400.0" is accepted.
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  // Past 2^53 a double holds no exact whole number, and past 2^63 llround has
  // no answer: "1e20" gave a negative HH:mm (found by fuzz/template.cpp).
  if (ec != std::errc{} || p != s.data() + s.size() || d < 0 || !std::isfinite(d) || d >= 0x1p53) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(d));
}

std::string hhmm(std::int64_t minutes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(minutes / 60),
                static_cast<long long>(minutes % 60));
  return buf;
}

}  // namespace

std::variant<std::string, MappingError> apply_filter(const config::FilterCall& f, const std::string& in,
                                                     const TemplateContext& ctx) {
  switch (f.kind) {
    case Filter::lower: {
      return ascii_lower(in);
    }
    case Filter::upper: {
      std::string out = in;
      for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return out;
    }
    case Filter::default_value:
      return in.empty() ? f.arg : in;
    case Filter::date: {
      // A date-time converts to the configured offset; a plain date stays.
      if (in.size() == 10 && parse_iso8601(in)) return in;
      auto t = parse_iso8601(in);
      if (!t) return MappingError{"'" + in + "' is not an ISO-8601 date-time (|date)"};
      const SysTime local = *t + std::chrono::minutes(ctx.timezone_offset_minutes);
      return format_utc_iso_seconds(local).substr(0, 10);
    }
    case Filter::hhmm_from_seconds: {
      auto n = whole_number(in);
      if (!n) return MappingError{"'" + in + "' is not a number of seconds (|hhmm_from_seconds)"};
      return hhmm((*n + 30) / 60);  // nearest minute
    }
    case Filter::hhmm_from_minutes: {
      auto n = whole_number(in);
      if (!n) return MappingError{"'" + in + "' is not a number of minutes (|hhmm_from_minutes)"};
      return hhmm(*n);
    }
    case Filter::hours_decimal: {
      // "HH:mm" (People) -> "1.5"; a plain number passes through.
      const auto colon = in.find(':');
      if (colon == std::string::npos) {
        if (whole_number(in) || (!in.empty() && in.find_first_not_of("0123456789.") == std::string::npos)) return in;
        return MappingError{"'" + in + "' is not HH:mm (|hours_decimal)"};
      }
      std::int64_t h = 0, m = 0;
      const std::string hs = in.substr(0, colon), ms = in.substr(colon + 1);
      if (std::from_chars(hs.data(), hs.data() + hs.size(), h).ec != std::errc{} ||
          std::from_chars(ms.data(), ms.data() + ms.size(), m).ec != std::errc{} || m > 59 || h < 0 || m < 0 ||
          h > std::numeric_limits<std::int64_t>::max() / 6000)  // (h * 60 + m) * 100 must not overflow
        return MappingError{"'" + in + "' is not HH:mm (|hours_decimal)"};
      const std::int64_t hundredths = (h * 60 + m) * 100 / 60;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(hundredths / 100),
                    static_cast<long long>(hundredths % 100));
      std::string out = buf;
      while (out.back() == '0') out.pop_back();
      if (out.back() == '.') out.pop_back();
      return out;
    }
  }
  return MappingError{"unknown filter"};
}

std::variant<std::string, MappingError> render(const config::Template& t, const Value& record,
                                               const TemplateContext& ctx) {
  std::string out;
  for (const auto& part : t.parts) {
    if (const auto* lit = std::get_if<std::string>(&part)) {
      out += *lit;
      continue;
    }
    const auto& ref = std::get<config::FieldRef>(part);
    const Value* v = record.at(ref.path);
    bool has_default = false;
    for (const auto& f : ref.filters) has_default |= f.kind == Filter::default_value;
    std::string value;
    if (v && v->is_scalar()) {
      value = v->text();
    } else if (v && !v->is_null()) {
      return MappingError{"field " + ref.dotted() + " is an object or a list, not a value"};
    } else if (!has_default) {
      return MappingError{"field " + ref.dotted() + " is missing"};
    }
    if (value.empty() && !has_default && !ref.filters.empty()) {
      return MappingError{"field " + ref.dotted() + " is empty"};
    }
    for (const auto& f : ref.filters) {
      auto r = apply_filter(f, value, ctx);
      if (auto* e = std::get_if<MappingError>(&r)) return MappingError{"field " + ref.dotted() + ": " + e->reason};
      value = std::get<std::string>(std::move(r));
    }
    out += value;
  }
  return out;
}

}  // namespace peoplesync::sync
