#include "common/timefmt.hpp"

#include <gtest/gtest.h>

namespace peoplesync {
namespace {

TEST(TimeFmt, ParsesOffsetsToTheSameInstant) {
  auto a = parse_iso8601("2019-07-25T15:26:49+05:30");
  auto b = parse_iso8601("2019-07-25T09:56:49Z");
  auto c = parse_iso8601("2019-07-25T04:56:49-05:00");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*b, *c);
  EXPECT_EQ(format_utc_iso_seconds(*a), "2019-07-25T09:56:49Z");
}

TEST(TimeFmt, MillisecondsAndDates) {
  auto t = parse_iso8601("2024-02-29T23:59:59.5Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_utc_iso(*t), "2024-02-29T23:59:59.500Z");
  auto d = parse_iso8601("2024-03-01");
  ASSERT_TRUE(d);
  EXPECT_EQ(format_utc_iso_seconds(*d), "2024-03-01T00:00:00Z");
}

TEST(TimeFmt, RejectsGarbage) {
  for (const char* bad : {"", "2024", "2024-13-01", "2023-02-29", "2024-01-01T10:00:00",
                          "2024-01-01T25:00:00Z", "2024-01-01T10:00:00+5:30", "yesterday",
                          "2024-01-01T10:00:00Zjunk"}) {
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
  }
}

TEST(TimeFmt, HttpDateRoundTrip) {
  auto t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_utc_iso_seconds(*t), "1994-11-06T08:49:37Z");
  EXPECT_EQ(format_http_date(*t), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
  EXPECT_FALSE(parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("120"));
}

// Found by fuzz/dates.cpp: a date outside what SysTime (64-bit nanoseconds)
// holds overflowed it (undefined behaviour) when a server sent one as
// Modified_Time, deleted_time or Retry-After. Such dates are refused.
TEST(TimeFmt, YearsOutsideWhatSysTimeHoldsAreRefused) {
  for (const char* bad : {"9999-12-31", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+00:00", "2262-04-12",
                          "1677-01-01T00:00:00Z", "2300-01-01T00:00:00.999+05:30"})
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
  for (const char* bad : {"Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "Thu, 01 Jan 2300 00:00:00 GMT"})
    EXPECT_FALSE(parse_http_date(bad)) << bad;
  // Whole years 1678 to 2261 are accepted, after the offset is applied.
  auto first = parse_iso8601("1678-01-01T00:00:00Z");
  auto last = parse_iso8601("2261-12-31T23:59:59.999Z");
  ASSERT_TRUE(first && last);
  EXPECT_EQ(format_utc_iso(*first), "1678-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc_iso(*last), "2261-12-31T23:59:59.999Z");
  EXPECT_FALSE(parse_iso8601("1678-01-01T00:00:00+00:01"));
  EXPECT_FALSE(parse_iso8601("2261-12-31T23:59:59-00:01"));
  auto http = parse_http_date("Tue, 31 Dec 2261 23:59:59 GMT");
  ASSERT_TRUE(http);
  EXPECT_EQ(format_http_date(*http), "Tue, 31 Dec 2261 23:59:59 GMT");
}

TEST(DatePattern, CompanyDateFormatsBothWays) {
  EXPECT_EQ(format_date_pattern("2024-05-01", "dd-MMM-yyyy").value_or(""), "01-May-2024");
  EXPECT_EQ(format_date_pattern("2024-12-31", "MM/dd/yyyy").value_or(""), "12/31/2024");
  EXPECT_EQ(format_date_pattern("2024-02-29", "dd.MM.yyyy").value_or(""), "29.02.2024");
  EXPECT_EQ(format_date_pattern("2024-05-01", "yyyy-MM-dd").value_or(""), "2024-05-01");
  EXPECT_FALSE(format_date_pattern("2023-02-29", "dd-MMM-yyyy"));
  EXPECT_FALSE(format_date_pattern("01-May-2024", "dd-MMM-yyyy"));
  EXPECT_EQ(parse_date_pattern("01-may-2024", "dd-MMM-yyyy").value_or(""), "2024-05-01");
  EXPECT_EQ(parse_date_pattern("12/31/2024", "MM/dd/yyyy").value_or(""), "2024-12-31");
  for (const char* bad : {"2024-05-01", "1-May-2024", "01-Mai-2024", "31-Apr-2024", "01-May-2024x", ""})
    EXPECT_FALSE(parse_date_pattern(bad, "dd-MMM-yyyy")) << bad;
  for (const char* p : {"dd-MMM-yyyy", "dd/MM/yyyy", "MM/dd/yyyy", "yyyy-MM-dd", "dd.MM.yyyy", "dd MMM yyyy"})
    EXPECT_TRUE(valid_date_pattern(p)) << p;
  for (const char* p : {"dd-mm-yy", "d/M/yyyy", "yyyy-MM", "ddMMyyyyx", "dd-MMMM-yyyy", ""})
    EXPECT_FALSE(valid_date_pattern(p)) << p;
}

TEST(DatePattern, IfModifiedSinceOffsetForm) {
  EXPECT_EQ(format_utc_iso_offset(*parse_iso8601("2024-05-01T15:30:00+05:30")), "2024-05-01T10:00:00+00:00");
}

}  // namespace
}  // namespace peoplesync
