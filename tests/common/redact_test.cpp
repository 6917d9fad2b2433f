#include "common/redact.hpp"

#include <gtest/gtest.h>

namespace peoplesync {
namespace {

TEST(Redact, RegisteredSecretIsRemovedEverywhere) {
  add_secret("s3cr3t-canary-value");
  EXPECT_EQ(redact("a s3cr3t-canary-value b"), "a [redacted] b");
  EXPECT_EQ(redact("xs3cr3t-canary-valuex"), "x[redacted]x");
}

TEST(Redact, ShortValuesAreNotRegistered) {
  add_secret("abc");
  EXPECT_EQ(redact("abc"), "abc");
}

TEST(Redact, AuthorizationHeaderValue) {
  EXPECT_EQ(redact("Authorization: Zoho-oauthtoken 1000.abc.def"), "Authorization: [redacted]");
  EXPECT_EQ(redact("header Zoho-oauthtoken abcdef rest"), "header Zoho-oauthtoken [redacted] rest");
}

TEST(Redact, KeyValueForms) {
  EXPECT_EQ(redact("refresh_token=abcd&grant_type=refresh_token"),
            "refresh_token=[redacted]&grant_type=refresh_token");
  EXPECT_EQ(redact(R"({"access_token":"xyz123","expires_in":3600})"),
            R"({"access_token":"[redacted]","expires_in":3600})");
  EXPECT_EQ(redact("client_secret: hunter22"), "client_secret: [redacted]");
}

TEST(Redact, KeyWithoutSeparatorIsKept) {
  // A key name that merely starts like a secret key is not a secret.
  EXPECT_EQ(redact("refresh_token_file /etc/peoplesync/refresh_token"),
            "refresh_token_file /etc/peoplesync/refresh_token");
  EXPECT_EQ(redact("grant_type=refresh_token"), "grant_type=refresh_token");
}

TEST(Redact, ZohoTokenShape) {
  EXPECT_EQ(redact("token 1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef end"),
            "token [redacted] end");
  EXPECT_EQ(redact("id 1000.5 is fine"), "id 1000.5 is fine");
  EXPECT_EQ(redact("12341000.0123456789abcdef0123456789"), "12341000.0123456789abcdef0123456789");
}

TEST(Redact, PlainTextUntouched) {
  EXPECT_EQ(redact("job 469505000000268001 added, code 7209"), "job 469505000000268001 added, code 7209");
}

}  // namespace
}  // namespace peoplesync
