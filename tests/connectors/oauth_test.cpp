#include "connectors/oauth.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <sstream>

#include "support/fake_transport.hpp"

namespace peoplesync::connectors {
namespace {

using peoplesync::testing::FakeTransport;

class HalfRandom final : public Random {
 public:
  double uniform() override { return 0.5; }
};

// A transport that yields to the event loop before answering, so concurrent
// callers really overlap.
class YieldingTransport final : public Transport {
 public:
  explicit YieldingTransport(FakeTransport& inner) : inner_(inner) {}
  boost::asio::awaitable<Result> send(Request r) override {
    for (int i = 0; i < 3; ++i)
      co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    co_return co_await inner_.send(std::move(r));
  }

 private:
  FakeTransport& inner_;
};

std::string token_json(const std::string& token, int seconds = 3600) {
  return R"({"access_token":")" + token + R"(","expires_in":)" + std::to_string(seconds) +
         R"(,"api_domain":"https://www.zohoapis.com","token_type":"Bearer"})";
}

class OAuthTest : public ::testing::Test {
 protected:
  OAuthTest() {
    zoho_.accounts_url = "https://accounts.zoho.eu";
    zoho_.client_id = "1000.CLIENT";
    zoho_.client_secret = {"client-secret-value", "zoho.client_secret"};
    zoho_.refresh_token = {"1000.refresh.value", "zoho.refresh_token_file /etc/peoplesync/refresh_token"};
  }

  std::variant<std::string, CallError> get_token() {
    std::variant<std::string, CallError> out;
    boost::asio::co_spawn(
        io_, [&]() -> boost::asio::awaitable<void> { out = co_await provider_.access_token(); },
        boost::asio::detached);
    io_.run();
    io_.restart();
    return out;
  }

  boost::asio::io_context io_;
  config::Zoho zoho_;
  ManualClock clock_;
  VirtualSleeper sleeper_{clock_};
  HalfRandom random_;
  FakeTransport fake_;
  TokenProvider provider_{fake_, zoho_, clock_, sleeper_, random_};
};

TEST(TokenReplyParse, BothExpiresInForms) {
  auto s = parse_token_reply(token_json("a1", 3600));
  EXPECT_EQ(s.kind, TokenReply::Kind::token);
  EXPECT_EQ(s.expires_in, Millis{3'600'000});
  EXPECT_EQ(s.api_domain, "https://www.zohoapis.com");
  auto ms = parse_token_reply(R"({"access_token":"a2","expires_in":3600000,"expires_in_sec":3600})");
  EXPECT_EQ(ms.expires_in, Millis{3'600'000});
  auto ms_only = parse_token_reply(R"({"access_token":"a3","expires_in":3600000})");
  EXPECT_EQ(ms_only.expires_in, Millis{3'600'000});
}

TEST(TokenReplyParse, ErrorsAndGarbage) {
  EXPECT_EQ(parse_token_reply(R"({"error":"invalid_code"})").kind, TokenReply::Kind::invalid_grant);
  EXPECT_EQ(parse_token_reply(R"({"error":"invalid_client"})").kind, TokenReply::Kind::invalid_grant);
  EXPECT_EQ(parse_token_reply(
                R"({"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"})")
                .kind,
            TokenReply::Kind::throttled);
  EXPECT_EQ(parse_token_reply(R"({"error":"invalid_redirect_uri"})").kind, TokenReply::Kind::other_error);
  for (const char* bad : {"", "<html>502</html>", "[]", R"({"access_token":""})", R"({"access_token":"x"})",
                          R"({"access_token":"x","expires_in":-5})", R"({"access_token":5,"expires_in":5})"}) {
    EXPECT_EQ(parse_token_reply(bad).kind, TokenReply::Kind::malformed) << bad;
  }
}

// Found by review, confirmed by fuzz/token_reply.cpp under UBSan: an absurd
// expires_in_sec overflowed seconds * 1000 and then the expiry time. A claim
// over a day is taken as a day; an empty view is malformed, not undefined.
TEST(TokenReplyParse, AbsurdLifetimesAreCappedAtADay) {
  for (const char* body : {R"({"access_token":"x","expires_in_sec":9223372036854775807})",
                           R"({"access_token":"x","expires_in":9223372036854775807})",
                           R"({"access_token":"x","expires_in_sec":86401})"}) {
    auto r = parse_token_reply(body);
    EXPECT_EQ(r.kind, TokenReply::Kind::token) << body;
    EXPECT_EQ(r.expires_in, Millis{86'400'000}) << body;
  }
  EXPECT_EQ(parse_token_reply(R"({"access_token":"x","expires_in_sec":86400})").expires_in, Millis{86'400'000});
  EXPECT_EQ(parse_token_reply(std::string_view{}).kind, TokenReply::Kind::malformed);
}

TEST_F(OAuthTest, GrantRequestAndCaching) {
  fake_.push_json(200, token_json("tok-1"));
  auto t = get_token();
  ASSERT_TRUE(std::holds_alternative<std::string>(t));
  EXPECT_EQ(std::get<std::string>(t), "tok-1");
  ASSERT_EQ(fake_.requests().size(), 1u);
  const Request& r = fake_.requests()[0];
  EXPECT_EQ(r.method, Method::post);
  EXPECT_EQ(r.base_url, "https://accounts.zoho.eu");
  EXPECT_EQ(r.target, "/oauth/v2/token");
  EXPECT_NE(r.body.find("grant_type=refresh_token"), std::string::npos);
  EXPECT_NE(r.body.find("refresh_token=1000.refresh.value"), std::string::npos);
  // Cached: no second request within the lifetime.
  clock_.advance(std::chrono::minutes(50));
  EXPECT_EQ(std::get<std::string>(get_token()), "tok-1");
  EXPECT_EQ(fake_.requests().size(), 1u);
}

TEST_F(OAuthTest, RefreshesProactivelyBeforeExpiry) {
  fake_.push_json(200, token_json("tok-1"));
  fake_.push_json(200, token_json("tok-2"));
  get_token();
  clock_.advance(std::chrono::minutes(55) + std::chrono::seconds(1));  // inside the 5-minute margin
  EXPECT_EQ(std::get<std::string>(get_token()), "tok-2");
  EXPECT_EQ(provider_.refreshes(), 2);
}

TEST_F(OAuthTest, ShortLifetimesRefreshAtFourFifths) {
  fake_.push_json(200, token_json("short", 60));
  fake_.push_json(200, token_json("short-2", 60));
  get_token();
  clock_.advance(std::chrono::seconds(47));
  EXPECT_EQ(std::get<std::string>(get_token()), "short");
  clock_.advance(std::chrono::seconds(2));
  EXPECT_EQ(std::get<std::string>(get_token()), "short-2");
}

TEST_F(OAuthTest, SingleFlightForConcurrentCallers) {
  YieldingTransport slow(fake_);
  TokenProvider provider(slow, zoho_, clock_, sleeper_, random_);
  fake_.push_json(200, token_json("shared"));
  std::vector<std::string> got;
  for (int i = 0; i < 10; ++i) {
    boost::asio::co_spawn(
        io_,
        [&]() -> boost::asio::awaitable<void> {
          auto t = co_await provider.access_token();
          got.push_back(std::get<std::string>(t));
        },
        boost::asio::detached);
  }
  io_.run();
  ASSERT_EQ(got.size(), 10u);
  for (const auto& g : got) EXPECT_EQ(g, "shared");
  EXPECT_EQ(fake_.requests().size(), 1u);
}

TEST_F(OAuthTest, InvalidCodeIsFatalAndSaysWhatToDo) {
  fake_.push_json(200, R"({"error":"invalid_code"})");
  auto t = get_token();
  ASSERT_TRUE(std::holds_alternative<CallError>(t));
  const CallError& e = std::get<CallError>(t);
  EXPECT_EQ(e.outcome, Outcome::auth);
  EXPECT_EQ(e.vendor_code, "invalid_code");
  EXPECT_NE(e.message.find("Create a new one"), std::string::npos);
  EXPECT_NE(e.message.find("peoplesync auth --code"), std::string::npos);
  EXPECT_NE(e.message.find("/etc/peoplesync/refresh_token"), std::string::npos);
  EXPECT_EQ(e.message.find("1000.refresh.value"), std::string::npos);
  EXPECT_EQ(fake_.requests().size(), 1u);  // no retry loop
}

TEST_F(OAuthTest, ThrottleWaitsThenRetries) {
  fake_.push_json(200,
                  R"({"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"})");
  fake_.push_json(200, token_json("after-wait"));
  EXPECT_EQ(std::get<std::string>(get_token()), "after-wait");
  ASSERT_EQ(sleeper_.waits().size(), 1u);
  EXPECT_GE(sleeper_.waits()[0], Millis{30'000});
}

TEST_F(OAuthTest, TransportFailuresAndGarbageAreRetriedThenReported) {
  fake_.push(Failure{TransportFailure::connect, "cannot connect"});
  fake_.push_json(502, "<html>bad gateway</html>");
  fake_.push_json(200, token_json("third-time"));
  EXPECT_EQ(std::get<std::string>(get_token()), "third-time");
  EXPECT_EQ(sleeper_.waits().size(), 2u);

  TokenProvider p2(fake_, zoho_, clock_, sleeper_, random_);
  fake_.on([](const Request&) -> Result { return Failure{TransportFailure::connect, "down"}; });
  std::variant<std::string, CallError> out;
  boost::asio::co_spawn(io_, [&]() -> boost::asio::awaitable<void> { out = co_await p2.access_token(); },
                        boost::asio::detached);
  io_.run();
  ASSERT_TRUE(std::holds_alternative<CallError>(out));
  EXPECT_EQ(std::get<CallError>(out).outcome, Outcome::retry);
}

// Found by tests/hostile: a token reply of the wrong shape (or a throttle)
// ended in "could not obtain an access token: unexpected reply from the
// accounts server (HTTP 200)", naming neither the endpoint nor the server.
TEST_F(OAuthTest, GivingUpNamesTheEndpointAndTheServer) {
  provider_.set_max_attempts(2);
  fake_.push_json(200, R"({"access_token":7,"expires_in":"an hour"})");
  fake_.push_json(200, R"([])");
  auto out = get_token();
  ASSERT_TRUE(std::holds_alternative<CallError>(out));
  const CallError& e = std::get<CallError>(out);
  EXPECT_EQ(e.outcome, Outcome::retry);
  EXPECT_EQ(e.message.rfind("accounts/token: ", 0), 0u) << e.message;
  EXPECT_NE(e.message.find("https://accounts.zoho.eu"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("unexpected reply"), std::string::npos) << e.message;
}

TEST_F(OAuthTest, RejectedTokenIsRefreshedOnce) {
  fake_.push_json(200, token_json("old"));
  fake_.push_json(200, token_json("new"));
  get_token();
  provider_.reject("some-older-token");  // not current: ignored
  EXPECT_EQ(std::get<std::string>(get_token()), "old");
  provider_.reject("old");
  EXPECT_EQ(std::get<std::string>(get_token()), "new");
  EXPECT_EQ(fake_.requests().size(), 2u);
}

TEST_F(OAuthTest, AccessTokenNeverReachesTheLog) {
  std::ostringstream out;
  log::init_with_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out), log::Format::text, log::Level::trace);
  fake_.push_json(200, token_json("1000.secretaccesstoken.abcdef"));
  get_token();
  log::Logger("test").info("using 1000.secretaccesstoken.abcdef now");
  log::flush();
  EXPECT_EQ(out.str().find("secretaccesstoken"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("access token refreshed"), std::string::npos);
  log::init(log::Format::text, log::Level::info);  // the sink must not outlive `out`
}

}  // namespace
}  // namespace peoplesync::connectors
