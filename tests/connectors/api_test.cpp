#include "connectors/api.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <deque>

#include "support/fake_transport.hpp"

namespace peoplesync::connectors {
namespace {

class HalfRandom final : public Random {
 public:
  double uniform() override { return 0.5; }
};

Response json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Token requests get a fresh token each time; API requests take the next
// scripted result.
class ApiTest : public ::testing::Test {
 protected:
  ApiTest() {
    zoho_.accounts_url = "https://accounts.zoho.com";
    fake_.on([this](const Request& r) -> Result {
      if (r.target == "/oauth/v2/token") {
        ++tokens_issued_;
        return json(200, R"({"access_token":"tok-)" + std::to_string(tokens_issued_) + R"(","expires_in":3600})");
      }
      api_requests_.push_back(r);
      if (script_.empty()) return Failure{TransportFailure::protocol, "no script"};
      Result next = script_.front();
      script_.pop_front();
      return next;
    });
  }

  ApiResult call(Request r) {
    ApiResult out;
    boost::asio::co_spawn(io_, [&]() -> boost::asio::awaitable<void> { out = co_await api_.call(r); },
                          boost::asio::detached);
    io_.run();
    io_.restart();
    return out;
  }

  static Request get() {
    Request r;
    r.base_url = "https://www.zohoapis.com";
    r.target = "/crm/v2/Deals";
    r.endpoint = "crm";
    return r;
  }
  static Request post() {
    Request r;
    r.method = Method::post;
    r.base_url = "https://people.zoho.com";
    r.target = "/people/api/timetracker/addupdatetimelogs";
    r.idempotent = false;
    r.endpoint = "people/addupdatetimelogs";
    return r;
  }

  boost::asio::io_context io_;
  config::Zoho zoho_;
  ManualClock clock_;
  VirtualSleeper sleeper_{clock_};
  HalfRandom random_;
  peoplesync::testing::FakeTransport fake_;
  TokenProvider tokens_{fake_, zoho_, clock_, sleeper_, random_};
  ZohoApi api_{fake_, tokens_, clock_, sleeper_, random_, BackoffPolicy{Millis{100}, Millis{1000}, 4}};
  int tokens_issued_ = 0;
  std::deque<Result> script_;
  std::vector<Request> api_requests_;
};

TEST_F(ApiTest, SendsTheAccessToken) {
  script_.push_back(json(200, "{}"));
  ASSERT_TRUE(std::holds_alternative<Response>(call(get())));
  ASSERT_EQ(api_requests_.size(), 1u);
  EXPECT_EQ(api_requests_[0].header("authorization"), "Zoho-oauthtoken tok-1");
}

TEST_F(ApiTest, InvalidTokenRefreshesOnceAndRepeatsEvenAWrite) {
  script_.push_back(json(401, R"({"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"})"));
  script_.push_back(json(200, R"({"response":{"status":0}})"));
  auto r = call(post());
  ASSERT_TRUE(std::holds_alternative<Response>(r));
  EXPECT_EQ(tokens_issued_, 2);
  ASSERT_EQ(api_requests_.size(), 2u);
  EXPECT_EQ(api_requests_[1].header("Authorization"), "Zoho-oauthtoken tok-2");
}

TEST_F(ApiTest, SecondInvalidTokenIsAnAuthError) {
  const auto invalid = json(401, R"({"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"})");
  script_ = {invalid, invalid};
  auto r = call(get());
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  EXPECT_EQ(std::get<CallError>(r).outcome, Outcome::auth);
  EXPECT_EQ(tokens_issued_, 2);
}

// A 401 whose body is not Zoho's (a proxy's HTML page, a reply cut short)
// is not fatal at once: one refresh, the call repeated. The soak test's
// daemon exited 77 on one garbled 401 before.
TEST_F(ApiTest, UnreadableUnauthorisedReplyRefreshesOnce) {
  script_.push_back(json(401, "<html><body>Service temporarily unavailable</body></html>"));
  script_.push_back(json(200, "{}"));
  ASSERT_TRUE(std::holds_alternative<Response>(call(get())));
  EXPECT_EQ(tokens_issued_, 2);
  ASSERT_EQ(api_requests_.size(), 2u);
  EXPECT_EQ(api_requests_[1].header("Authorization"), "Zoho-oauthtoken tok-2");
}

TEST_F(ApiTest, Unauthorised401ToAFreshTokenIsAnAuthError) {
  script_ = {json(401, R"({"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed","status":"error"})"),
             json(401, R"({"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed","status":"error"})")};
  auto r = call(get());
  const CallError& e = std::get<CallError>(r);
  EXPECT_EQ(e.outcome, Outcome::auth);
  EXPECT_EQ(e.vendor_code, "AUTHENTICATION_FAILURE");
  EXPECT_EQ(tokens_issued_, 2);
  EXPECT_EQ(api_requests_.size(), 2u);
}

TEST_F(ApiTest, ScopeMismatchSaysWhichScopes) {
  script_.push_back(json(401, R"({"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"Unauthorized","status":"error"})"));
  Request req = get();
  req.scope = "ZohoCRM.modules.deals.READ";  // set by the client from connectors/scopes.hpp
  auto r = call(req);
  const CallError& e = std::get<CallError>(r);
  EXPECT_EQ(e.outcome, Outcome::auth);
  EXPECT_EQ(e.vendor_code, "OAUTH_SCOPE_MISMATCH");
  EXPECT_NE(e.message.find("lacks the scope ZohoCRM.modules.deals.READ"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("peoplesync auth --scopes"), std::string::npos) << e.message;
  EXPECT_EQ(tokens_issued_, 1);
}

TEST_F(ApiTest, ReadsAreRetriedWithBackoff) {
  script_.push_back(Failure{TransportFailure::read, "reset"});
  script_.push_back(json(503, ""));
  script_.push_back(json(200, "{}"));
  ASSERT_TRUE(std::holds_alternative<Response>(call(get())));
  EXPECT_EQ(api_requests_.size(), 3u);
  EXPECT_EQ(sleeper_.waits().size(), 2u);
}

TEST_F(ApiTest, ReadsGiveUpAfterTheLastAttempt) {
  for (int i = 0; i < 4; ++i) script_.push_back(json(502, "bad gateway"));
  auto r = call(get());
  EXPECT_EQ(std::get<CallError>(r).outcome, Outcome::retry);
  EXPECT_EQ(api_requests_.size(), 4u);
}

TEST_F(ApiTest, WriteThatMayHaveLandedIsInDoubtAndNotResent) {
  script_.push_back(Failure{TransportFailure::read, "connection closed after sending"});
  auto r = call(post());
  EXPECT_EQ(std::get<CallError>(r).outcome, Outcome::in_doubt);
  EXPECT_EQ(api_requests_.size(), 1u);

  script_.push_back(json(500, "oops"));
  EXPECT_EQ(std::get<CallError>(call(post())).outcome, Outcome::in_doubt);
  EXPECT_EQ(api_requests_.size(), 2u);
}

TEST_F(ApiTest, WriteThatNeverLeftIsResent) {
  script_.push_back(Failure{TransportFailure::connect, "refused"});
  script_.push_back(json(200, "{}"));
  ASSERT_TRUE(std::holds_alternative<Response>(call(post())));
  EXPECT_EQ(api_requests_.size(), 2u);
}

TEST_F(ApiTest, TooManyRequestsIsHandedToTheScheduler) {
  Response r = json(429, R"({"code":"TOO_MANY_REQUESTS"})");
  r.headers.push_back({"Retry-After", "42"});
  script_.push_back(r);
  auto out = call(get());
  const CallError& e = std::get<CallError>(out);
  EXPECT_EQ(e.outcome, Outcome::rate_limited);
  EXPECT_EQ(e.retry_after, Millis{42'000});
  EXPECT_EQ(api_requests_.size(), 1u);
}

}  // namespace
}  // namespace peoplesync::connectors
