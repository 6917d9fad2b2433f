#include "common/redact.hpp"

#include <gtest/gtest.h>

#include <string>

namespace peoplesync {
namespace {

TEST(Redact, RegisteredSecretIsRemovedEverywhere) {
  set_config_secrets({"s3cr3t-canary-value"});
  EXPECT_EQ(redact("a s3cr3t-canary-value b"), "a [redacted] b");
  EXPECT_EQ(redact("xs3cr3t-canary-valuex"), "x[redacted]x");
}

TEST(Redact, ShortValuesAreNotRegistered) {
  set_config_secrets({"abc"});
  add_access_token("xyz");
  EXPECT_EQ(redact("abc xyz"), "abc xyz");
}

// A reload replaces the config's secrets: the old ones are no longer in
// force, and the list does not grow with every reload.
TEST(Redact, ConfigSecretsAreReplacedNotAdded) {
  set_config_secrets({"client-secret-one", "refresh-token-one"});
  EXPECT_EQ(redact_registered("client-secret-one refresh-token-one"), "[redacted] [redacted]");
  const std::size_t with_one = registered_secret_count();
  for (int i = 0; i < 100; ++i)
    set_config_secrets({"client-secret-" + std::to_string(i), "refresh-token-" + std::to_string(i)});
  EXPECT_EQ(registered_secret_count(), with_one);
  EXPECT_EQ(redact_registered("client-secret-99 refresh-token-99"), "[redacted] [redacted]");
  EXPECT_EQ(redact_registered("client-secret-one refresh-token-98"), "client-secret-one refresh-token-98");
}

// Every refresh adds a token; only the current and the previous one (a call
// sent just before the refresh may carry it) are kept.
TEST(Redact, AccessTokensAreTheCurrentAndThePreviousOnly) {
  set_config_secrets({"the-client-secret"});
  for (int i = 0; i < 1000; ++i) add_access_token("access-tok-" + std::to_string(i));
  EXPECT_EQ(registered_secret_count(), 3u);  // the config's one and two tokens
  EXPECT_EQ(redact_registered("access-tok-999 access-tok-998 the-client-secret"),
            "[redacted] [redacted] [redacted]");
  EXPECT_EQ(redact_registered("access-tok-997"), "access-tok-997");
  add_access_token("access-tok-999");  // the same token again: nothing moves
  EXPECT_EQ(redact_registered("access-tok-998"), "[redacted]");
  // A reload of the config leaves the tokens alone.
  set_config_secrets({"another-client-secret"});
  EXPECT_EQ(redact_registered("access-tok-999 the-client-secret"), "[redacted] the-client-secret");
}

TEST(Redact, GivenValuesLongestFirst) {
  EXPECT_EQ(redact_values("a sec-long-value b sec-long", {"sec-long", "sec-long-value", "ab"}),
            "a [redacted] b [redacted]");
  EXPECT_EQ(redact_values("ab cd", {"ab", ""}), "ab cd");
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
