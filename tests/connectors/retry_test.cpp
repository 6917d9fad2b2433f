#include "connectors/retry.hpp"

#include <gtest/gtest.h>

#include "common/timefmt.hpp"

namespace peoplesync::connectors {
namespace {

class FixedRandom final : public Random {
 public:
  explicit FixedRandom(double v) : v_(v) {}
  double uniform() override { return v_; }

 private:
  double v_;
};

TEST(Backoff, FullJitterGrowsThenCaps) {
  BackoffPolicy p{Millis{500}, Millis{60'000}, 6};
  FixedRandom almost_one(0.999999);
  EXPECT_EQ(full_jitter(p, 0, almost_one), Millis{499});
  EXPECT_EQ(full_jitter(p, 1, almost_one), Millis{999});
  EXPECT_EQ(full_jitter(p, 6, almost_one), Millis{31'999});
  EXPECT_EQ(full_jitter(p, 7, almost_one), Millis{59'999});   // capped
  EXPECT_EQ(full_jitter(p, 500, almost_one), Millis{59'999}); // no overflow
  FixedRandom zero(0.0);
  EXPECT_EQ(full_jitter(p, 5, zero), Millis{0});
  FixedRandom half(0.5);
  EXPECT_EQ(full_jitter(p, 2, half), Millis{1000});
}

TEST(RetryAfter, SecondsAndHttpDate) {
  const SysTime now = *parse_iso8601("2024-06-01T12:00:00Z");
  EXPECT_EQ(parse_retry_after("120", now), Millis{120'000});
  EXPECT_EQ(parse_retry_after(" 0 ", now), Millis{0});
  EXPECT_EQ(parse_retry_after("Sat, 01 Jun 2024 12:01:30 GMT", now), Millis{90'000});
  EXPECT_EQ(parse_retry_after("Sat, 01 Jun 2024 11:00:00 GMT", now), Millis{0});  // past
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("99999999999999999999", now));
  // A date SysTime cannot hold overflowed it (fuzz/dates.cpp): unreadable now.
  EXPECT_FALSE(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now));
}

TEST(Resend, WritesOnlyWhenProvablyNotSent) {
  for (auto f : {TransportFailure::resolve, TransportFailure::connect, TransportFailure::tls}) {
    EXPECT_TRUE(may_resend(false, f)) << to_string(f);
    EXPECT_TRUE(may_resend(true, f));
  }
  for (auto f : {TransportFailure::write, TransportFailure::read, TransportFailure::body_too_large,
                 TransportFailure::protocol}) {
    EXPECT_FALSE(may_resend(false, f)) << to_string(f);
    EXPECT_TRUE(may_resend(true, f));
  }
}

}  // namespace
}  // namespace peoplesync::connectors
