#include "sync/mapping.hpp"

#include <gtest/gtest.h>

namespace peoplesync::sync {
namespace {

config::Template tpl(std::string_view text) { return std::get<config::Template>(config::parse_template(text)); }

Value call_record() {
  Value::Object owner{{"name", Value::string("Ann")}, {"email", Value::string("Ann@Example.com")}};
  Value::Object what{{"name", Value::string("Deal A")}, {"id", Value::string("4150868000001944196")}};
  return Value::object({{"id", Value::string("77")},
                        {"Subject", Value::string("Kick-off")},
                        {"Call_Start_Time", Value::string("2024-02-01T23:30:00+00:00")},
                        {"Call_Duration_in_seconds", Value::number("5400")},
                        {"Owner", Value::object(owner)},
                        {"What_Id", Value::object(what)},
                        {"Empty", Value::string("")},
                        {"Nothing", Value{}}});
}

std::string ok(std::string_view text, TemplateContext ctx = {}) {
  auto r = render(tpl(text), call_record(), ctx);
  EXPECT_TRUE(std::holds_alternative<std::string>(r)) << text << ": " << std::get<MappingError>(r).reason;
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
}

std::string bad(std::string_view text) {
  auto r = render(tpl(text), call_record(), {});
  EXPECT_TRUE(std::holds_alternative<MappingError>(r)) << text;
  return std::holds_alternative<MappingError>(r) ? std::get<MappingError>(r).reason : "";
}

TEST(Mapping, FieldsAndPaths) {
  EXPECT_EQ(ok("CRM call {id}: {Subject}"), "CRM call 77: Kick-off");
  EXPECT_EQ(ok("{What_Id.id}"), "4150868000001944196");
  EXPECT_EQ(ok("{Owner.email|lower}"), "ann@example.com");
  EXPECT_EQ(ok("billable"), "billable");
}

TEST(Mapping, Filters) {
  EXPECT_EQ(ok("{Call_Duration_in_seconds|hhmm_from_seconds}"), "01:30");
  EXPECT_EQ(ok("{Call_Start_Time|date}"), "2024-02-01");
  EXPECT_EQ(ok("{Call_Start_Time|date}", {330}), "2024-02-02");  // +05:30 crosses midnight
  EXPECT_EQ(ok("{Nothing|default:none}"), "none");
  EXPECT_EQ(ok("{Empty|default:none}"), "none");
  EXPECT_EQ(ok("{Missing.deep|default:x}"), "x");
  config::FilterCall hd{config::Filter::hours_decimal, ""};
  EXPECT_EQ(std::get<std::string>(apply_filter(hd, "52:00", {})), "52");
  EXPECT_EQ(std::get<std::string>(apply_filter(hd, "01:30", {})), "1.5");
  EXPECT_EQ(std::get<std::string>(apply_filter(hd, "00:20", {})), "0.33");
  config::FilterCall hm{config::Filter::hhmm_from_minutes, ""};
  EXPECT_EQ(std::get<std::string>(apply_filter(hm, "125", {})), "02:05");
}

// Found by fuzz/template.cpp: a number past what llround can answer gave a
// negative "HH:mm" ("-153722867280912930:-08"), and a huge HH overflowed
// (h * 60 + m) * 100 (undefined behaviour). Both are now unreadable values.
TEST(Mapping, DurationFiltersRefuseNumbersTheyCannotHold) {
  config::FilterCall hs{config::Filter::hhmm_from_seconds, ""};
  config::FilterCall hm{config::Filter::hhmm_from_minutes, ""};
  config::FilterCall hd{config::Filter::hours_decimal, ""};
  for (const char* huge : {"109223372036854775807", "1e20", "9007199254740992", "1.8e308"}) {
    EXPECT_TRUE(std::holds_alternative<MappingError>(apply_filter(hs, huge, {}))) << huge;
    EXPECT_TRUE(std::holds_alternative<MappingError>(apply_filter(hm, huge, {}))) << huge;
  }
  EXPECT_EQ(std::get<std::string>(apply_filter(hm, "9007199254740991", {})), "150119987579016:31");
  EXPECT_TRUE(std::holds_alternative<MappingError>(apply_filter(hd, "99999999999999999:00", {})));
  EXPECT_TRUE(std::holds_alternative<MappingError>(apply_filter(hd, "9223372036854775807:59", {})));
  EXPECT_EQ(std::get<std::string>(apply_filter(hd, "1000000000:30", {})), "1000000000.5");
}

TEST(Mapping, MissingOrUnreadableIsAnErrorNotAnEmptyWrite) {
  EXPECT_EQ(bad("{Owner.phone}"), "field Owner.phone is missing");
  EXPECT_EQ(bad("{Nothing}"), "field Nothing is missing");
  EXPECT_EQ(bad("{Owner}"), "field Owner is an object or a list, not a value");
  EXPECT_NE(bad("{Subject|date}").find("not an ISO-8601 date-time"), std::string::npos);
  EXPECT_NE(bad("{Subject|hhmm_from_seconds}").find("not a number of seconds"), std::string::npos);
  EXPECT_EQ(bad("{Empty|upper}"), "field Empty is empty");
}

}  // namespace
}  // namespace peoplesync::sync
