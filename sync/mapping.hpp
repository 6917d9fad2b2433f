#pragma once
// Evaluates map templates (config/template.hpp) against a source record.
// A missing field or a value a filter cannot read is an error for that
// record (it is dead-lettered with the reason), never an empty write.
#include <string>
#include <variant>

#include "common/value.hpp"
#include "config/template.hpp"

namespace peoplesync::sync {

struct MappingError {
  std::string reason;  // e.g. "field Owner.email is missing"
};

struct TemplateContext {
  int timezone_offset_minutes = 0;  // for |date
};

std::variant<std::string, MappingError> render(const config::Template& t, const Value& record,
                                               const TemplateContext& ctx);

// The filters, exposed for tests.
std::variant<std::string, MappingError> apply_filter(const config::FilterCall& f, const std::string& input,
                                                     const TemplateContext& ctx);

}  // namespace peoplesync::sync
