#include "config/template.hpp"

#include <cctype>

namespace peoplesync::config {
namespace {

bool is_path_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

std::optional<TemplateError> parse_field(std::string_view body, std::size_t base, FieldRef& out) {
  // body = "Owner.email|lower|default:x"
  std::size_t bar = body.find('|');
  std::string_view path = body.substr(0, bar);
  if (path.empty()) return TemplateError{base, "empty field name in '{}'"};
  std::size_t seg_start = 0;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '.') {
      if (i == seg_start) return TemplateError{base + i, "empty path segment in '" + std::string(path) + "'"};
      out.path.emplace_back(path.substr(seg_start, i - seg_start));
      seg_start = i + 1;
    } else if (!is_path_char(path[i])) {
      return TemplateError{base + i, "invalid character '" + std::string(1, path[i]) +
                                         "' in field name '" + std::string(path) + "'"};
    }
  }
  while (bar != std::string_view::npos) {
    std::size_t start = bar + 1;
    std::size_t next = body.find('|', start);
    std::string_view spec = body.substr(start, next == std::string_view::npos ? next : next - start);
    std::string_view name = spec.substr(0, spec.find(':'));
    auto kind = filter_from_name(name);
    if (!kind) {
      return TemplateError{base + start, "unknown filter '" + std::string(name) +
                                             "' (known: " + std::string(known_filter_names()) + ")"};
    }
    FilterCall call{*kind, {}};
    const bool has_arg = spec.find(':') != std::string_view::npos;
    if (*kind == Filter::default_value) {
      if (!has_arg) return TemplateError{base + start, "filter 'default' needs a value: default:VALUE"};
      call.arg = std::string(spec.substr(spec.find(':') + 1));
    } else if (has_arg) {
      return TemplateError{base + start, "filter '" + std::string(name) + "' takes no argument"};
    }
    out.filters.push_back(std::move(call));
    bar = next;
  }
  return std::nullopt;
}

}  // namespace

std::string FieldRef::dotted() const {
  std::string s;
  for (const auto& p : path) {
    if (!s.empty()) s += '.';
    s += p;
  }
  return s;
}

bool Template::is_literal() const {
  for (const auto& p : parts)
    if (std::holds_alternative<FieldRef>(p)) return false;
  return true;
}

std::vector<const FieldRef*> Template::fields() const {
  std::vector<const FieldRef*> out;
  for (const auto& p : parts)
    if (const auto* f = std::get_if<FieldRef>(&p)) out.push_back(f);
  return out;
}

std::variant<Template, TemplateError> parse_template(std::string_view text) {
  Template t;
  t.source = std::string(text);
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      i += 2;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal += '}';
      i += 2;
    } else if (c == '}') {
      return TemplateError{i, "unmatched '}' (write '}}' for a literal brace)"};
    } else if (c == '{') {
      const std::size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos)
        return TemplateError{i, "unclosed '{' (write '{{' for a literal brace)"};
      const std::string_view body = text.substr(i + 1, close - i - 1);
      if (body.find('{') != std::string_view::npos)
        return TemplateError{i, "'{' inside a field reference"};
      FieldRef ref;
      if (auto err = parse_field(body, i + 1, ref)) return *err;
      if (!literal.empty()) {
        t.parts.emplace_back(std::move(literal));
        literal.clear();
      }
      t.parts.emplace_back(std::move(ref));
      i = close + 1;
    } else {
      literal += c;
      ++i;
    }
  }
  if (!literal.empty()) t.parts.emplace_back(std::move(literal));
  return t;
}

std::optional<Filter> filter_from_name(std::string_view name) {
  if (name == "date") return Filter::date;
  if (name == "hhmm_from_seconds") return Filter::hhmm_from_seconds;
  if (name == "hhmm_from_minutes") return Filter::hhmm_from_minutes;
  if (name == "hours_decimal") return Filter::hours_decimal;
  if (name == "lower") return Filter::lower;
  if (name == "upper") return Filter::upper;
  if (name == "default") return Filter::default_value;
  return std::nullopt;
}

std::string_view known_filter_names() {
  return "date, hhmm_from_seconds, hhmm_from_minutes, hours_decimal, lower, upper, default:VALUE";
}

}  // namespace peoplesync::config
