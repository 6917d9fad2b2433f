// Map templates: config::parse_template, then sync::render against a record
// and every filter (sync::apply_filter) on arbitrary text. Input: one byte for
// service.timezone_offset, the template up to the first newline, then the
// record as JSON (a CRM record when that does not parse). Rendering gives a
// string or a per-record error, never a crash; an error offset lies inside the
// template.
#include <array>

#include "config/template.hpp"
#include "connectors/crm.hpp"
#include "support.hpp"
#include "sync/mapping.hpp"

using namespace peoplesync;

namespace {

constexpr std::string_view kRecord = R"({"id":"4150868000000624002","Deal_Name":"Wayne Enterprises rollout",
"Stage":"Closed Won","Owner":{"name":"Ada","id":"4150868000000225013","email":"ada@example.com"},
"Created_Time":"2024-05-01T10:00:00+05:30","Closing_Date":"2024-05-31","Call_Duration_in_seconds":5400,
"Amount":12500.5,"totalhours":"12:30","Empty":"","Nothing":null,"List":[1,2],"Tags":{"a":{"b":"c"}}})";

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // service.timezone_offset accepts -14:00 .. +14:59 in quarter hours and more.
  sync::TemplateContext ctx;
  ctx.timezone_offset_minutes = static_cast<int>(data[0] % 117) * 15 - 14 * 60;
  std::string_view in = fuzz::as_text(data + 1, size - 1);
  const std::size_t eol = in.find('\n');
  const std::string_view text = in.substr(0, eol);
  const std::string_view json = eol == std::string_view::npos ? std::string_view{} : in.substr(eol + 1);

  Value record = connectors::value_from_json(json);
  if (!record.as_object()) record = connectors::value_from_json(kRecord);

  auto parsed = config::parse_template(text);
  if (auto* err = std::get_if<config::TemplateError>(&parsed)) {
    fuzz::check(err->offset <= text.size(), "a template error past the end of the template");
    fuzz::check(!err->message.empty(), "a template error without a message");
  } else {
    const auto& t = std::get<config::Template>(parsed);
    fuzz::check(t.source == text, "the template does not keep its source");
    for (const auto* f : t.fields()) fuzz::check(!f->path.empty(), "a field reference without a path");
    auto out = sync::render(t, record, ctx);
    if (auto* e = std::get_if<sync::MappingError>(&out)) fuzz::check(!e->reason.empty(), "a mapping error without a reason");
    if (t.is_literal()) fuzz::check(std::holds_alternative<std::string>(out), "a literal template failed to render");
  }

  // Every filter on the raw text (as if a field held it).
  const std::string value(text);
  for (config::Filter f : {config::Filter::date, config::Filter::hhmm_from_seconds, config::Filter::hhmm_from_minutes,
                           config::Filter::hours_decimal, config::Filter::lower, config::Filter::upper,
                           config::Filter::default_value}) {
    auto r = sync::apply_filter(config::FilterCall{f, "none"}, value, ctx);
    if (auto* s = std::get_if<std::string>(&r)) {
      if (f == config::Filter::hhmm_from_seconds || f == config::Filter::hhmm_from_minutes)
        fuzz::check(!s->empty() && s->front() != '-' && s->find(':') != std::string::npos,
                    "a duration filter gave something that is not HH:mm");
      if (f == config::Filter::date) fuzz::check(s->size() == 10, "|date gave something that is not YYYY-MM-DD");
      if (f == config::Filter::hours_decimal) fuzz::check(!s->empty(), "|hours_decimal gave an empty value");
    }
  }
  return 0;
}
