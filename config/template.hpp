#pragma once
// Map templates: "CRM deal {id}", "{Owner.email}", "{Call_Start_Time|date}",
// "{Stage|lower|default:open}". `{path}` reads a source field, dots walk into
// objects; filters follow `|`. `{{` and `}}` are literal braces.
// Parsing and validation live here (config); evaluation against a record is
// the sync layer's job.
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace peoplesync::config {

enum class Filter {
  date,               // date-time -> YYYY-MM-DD in service.timezone_offset
  hhmm_from_seconds,  // 5400 -> "01:30"
  hhmm_from_minutes,  // 90 -> "01:30"
  hours_decimal,      // "01:30" -> "1.5"
  lower,
  upper,
  default_value,      // default:VALUE when the field is missing or empty
};

struct FilterCall {
  Filter kind;
  std::string arg;  // only for default:VALUE
};

struct FieldRef {
  std::vector<std::string> path;  // {"Owner", "email"}
  std::vector<FilterCall> filters;
  std::string dotted() const;     // "Owner.email"
};

struct Template {
  std::vector<std::variant<std::string, FieldRef>> parts;
  std::string source;  // the text as written

  bool is_literal() const;                    // no field reference at all
  std::vector<const FieldRef*> fields() const;
};

struct TemplateError {
  std::size_t offset = 0;  // position in the template text
  std::string message;
};

std::variant<Template, TemplateError> parse_template(std::string_view text);

std::optional<Filter> filter_from_name(std::string_view name);
// The names accepted after `|`, for error messages.
std::string_view known_filter_names();

}  // namespace peoplesync::config
