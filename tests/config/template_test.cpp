#include "config/template.hpp"

#include <gtest/gtest.h>

namespace peoplesync::config {
namespace {

Template ok(std::string_view text) {
  auto r = parse_template(text);
  EXPECT_TRUE(std::holds_alternative<Template>(r)) << text << ": " << std::get<TemplateError>(r).message;
  return std::get<Template>(r);
}

TemplateError bad(std::string_view text) {
  auto r = parse_template(text);
  EXPECT_TRUE(std::holds_alternative<TemplateError>(r)) << text;
  return std::holds_alternative<TemplateError>(r) ? std::get<TemplateError>(r) : TemplateError{};
}

TEST(Template, LiteralOnly) {
  Template t = ok("billable");
  EXPECT_TRUE(t.is_literal());
  ASSERT_EQ(t.parts.size(), 1u);
  EXPECT_EQ(std::get<std::string>(t.parts[0]), "billable");
}

TEST(Template, FieldsPathsAndFilters) {
  Template t = ok("CRM deal {id} by {Owner.email|lower|default:nobody@x.com}");
  ASSERT_EQ(t.parts.size(), 4u);
  auto fields = t.fields();
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0]->dotted(), "id");
  EXPECT_EQ(fields[1]->dotted(), "Owner.email");
  ASSERT_EQ(fields[1]->filters.size(), 2u);
  EXPECT_EQ(fields[1]->filters[0].kind, Filter::lower);
  EXPECT_EQ(fields[1]->filters[1].kind, Filter::default_value);
  EXPECT_EQ(fields[1]->filters[1].arg, "nobody@x.com");
}

TEST(Template, EscapedBraces) {
  Template t = ok("{{literal}} {x}");
  EXPECT_EQ(std::get<std::string>(t.parts[0]), "{literal} ");
}

TEST(Template, Errors) {
  EXPECT_NE(bad("{Deal_Name|titlecase}").message.find("unknown filter 'titlecase'"), std::string::npos);
  EXPECT_EQ(bad("{Deal_Name|titlecase}").offset, 11u);
  EXPECT_NE(bad("open {x").message.find("unclosed"), std::string::npos);
  EXPECT_NE(bad("x}").message.find("unmatched"), std::string::npos);
  EXPECT_NE(bad("{}").message.find("empty field"), std::string::npos);
  EXPECT_NE(bad("{a..b}").message.find("empty path segment"), std::string::npos);
  EXPECT_NE(bad("{a b}").message.find("invalid character"), std::string::npos);
  EXPECT_NE(bad("{x|default}").message.find("needs a value"), std::string::npos);
  EXPECT_NE(bad("{x|lower:y}").message.find("takes no argument"), std::string::npos);
}

}  // namespace
}  // namespace peoplesync::config
