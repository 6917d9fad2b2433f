#include "connectors/oauth.hpp"

#include <simdjson.h>

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/text.hpp"
#include "common/redact.hpp"

namespace peoplesync::connectors {
namespace {

constexpr int kMaxAttempts = 8;
constexpr BackoffPolicy kTransportBackoff{Millis{1000}, Millis{60'000}, kMaxAttempts};
// Zoho allows 10 tokens per 10 minutes: after a throttle reply, wait long.
constexpr BackoffPolicy kThrottleBackoff{Millis{30'000}, Millis{600'000}, kMaxAttempts};

std::string lower(std::string_view s) { return ascii_lower(s); }

}  // namespace

TokenReply parse_token_reply(std::string_view body) {
  TokenReply r;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (body.empty() || parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) return r;
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return r;
  std::string_view error;
  if (obj["error"].get_string().get(error) == simdjson::SUCCESS) {
    r.error = std::string(error);
    std::string_view description;
    if (obj["error_description"].get_string().get(description) != simdjson::SUCCESS) description = {};
    // The throttle reply: "Access Denied" + "too many requests" (HTTP 200).
    if (lower(description).find("too many requests") != std::string::npos) {
      r.kind = TokenReply::Kind::throttled;
    } else if (error == "invalid_code" || error == "invalid_client" || error == "invalid_grant" ||
               error == "invalid_client_secret") {
      r.kind = TokenReply::Kind::invalid_grant;
    } else {
      r.kind = TokenReply::Kind::other_error;
    }
    return r;
  }
  std::string_view token;
  if (obj["access_token"].get_string().get(token) != simdjson::SUCCESS || token.empty()) return r;
  // Two forms: expires_in in seconds, or (older) in milliseconds with
  // expires_in_sec beside it. expires_in_sec wins; without it, a value over
  // one day can only be milliseconds.
  std::int64_t seconds = 0;
  std::int64_t in_sec = 0;
  std::int64_t expires_in = 0;
  if (obj["expires_in_sec"].get_int64().get(in_sec) == simdjson::SUCCESS) {
    seconds = in_sec;
  } else if (obj["expires_in"].get_int64().get(expires_in) == simdjson::SUCCESS) {
    seconds = expires_in > 86'400 ? expires_in / 1000 : expires_in;
  } else {
    return r;
  }
  if (seconds <= 0) return r;
  // Zoho's tokens live an hour. A longer claim is believed up to a day: an
  // absurd one overflowed seconds * 1000 and the expiry time (undefined
  // behaviour, found by fuzz/token_reply.cpp); refreshing early costs nothing.
  seconds = std::min<std::int64_t>(seconds, 86'400);
  r.kind = TokenReply::Kind::token;
  r.access_token = std::string(token);
  r.expires_in = Millis{seconds * 1000};
  std::string_view domain;
  if (obj["api_domain"].get_string().get(domain) == simdjson::SUCCESS) r.api_domain = std::string(domain);
  std::string_view refresh;
  if (obj["refresh_token"].get_string().get(refresh) == simdjson::SUCCESS) r.refresh_token = std::string(refresh);
  return r;
}

namespace {

// A grant at the accounts server: POST /oauth/v2/token with a form body.
Request token_request(const config::Zoho& zoho, std::vector<std::pair<std::string, std::string>> grant) {
  Request req;
  req.method = Method::post;
  req.base_url = zoho.accounts_url;
  req.target = "/oauth/v2/token";
  req.content_type = "application/x-www-form-urlencoded";
  grant.insert(grant.begin() + 1, {{"client_id", zoho.client_id}, {"client_secret", zoho.client_secret.value}});
  req.body = query_string(grant);
  req.endpoint = "accounts/token";
  return req;
}

}  // namespace

boost::asio::awaitable<std::variant<TokenReply, CallError>> exchange_grant_code(Transport& transport,
                                                                               const config::Zoho& zoho,
                                                                               const std::string& code) {
  Request req = token_request(zoho, {{"grant_type", "authorization_code"}, {"code", code}});
  req.idempotent = false;  // a grant code is single-use
  Result result = co_await transport.send(req);
  const std::string where = "accounts/token (" + zoho.accounts_url + ")";
  if (auto* f = std::get_if<Failure>(&result))
    co_return CallError{Outcome::retry, where + ": " + f->message, "", std::nullopt};
  const Response& res = std::get<Response>(result);
  TokenReply reply = parse_token_reply(res.body);
  if (reply.kind == TokenReply::Kind::token && !reply.refresh_token.empty()) {
    add_access_token(reply.access_token);
    // The new refresh token is the one in force from now on.
    set_config_secrets({zoho.client_secret.value, reply.refresh_token});
    co_return reply;
  }
  if (reply.kind == TokenReply::Kind::token)
    co_return CallError{Outcome::auth,
                        where + ": the reply carries an access token but no refresh_token: the code was made for "
                                "another access type; generate it in the API console's Self Client (Generate Code)",
                        "", std::nullopt};
  if (reply.kind == TokenReply::Kind::invalid_grant || reply.kind == TokenReply::Kind::other_error)
    co_return CallError{Outcome::auth,
                        where + " refused the grant code with '" + reply.error +
                            "': a code is single-use and expires after the duration chosen when it was made (3 to "
                            "10 minutes), and it belongs to one client and data centre. Generate a new one in the API "
                            "console (Self Client > Generate Code) for client " + zoho.client_id +
                            " with the scopes `peoplesync auth --scopes` prints, and run this again at once.",
                        reply.error, std::nullopt};
  if (reply.kind == TokenReply::Kind::throttled)
    co_return CallError{Outcome::retry, where + ": the accounts server throttles token requests; wait a few minutes",
                        "", std::nullopt};
  co_return CallError{Outcome::retry, where + ": unexpected reply (HTTP " + std::to_string(res.status) + ")", "",
                      std::nullopt};
}

struct TokenProvider::Waiters {
  explicit Waiters(boost::asio::any_io_executor ex) : timer(std::move(ex)) {
    timer.expires_at(boost::asio::steady_timer::time_point::max());
  }
  boost::asio::steady_timer timer;
};

TokenProvider::TokenProvider(Transport& transport, const config::Zoho& zoho, const Clock& clock, Sleeper& sleeper,
                             Random& random)
    : transport_(transport), zoho_(zoho), clock_(clock), sleeper_(sleeper), random_(random) {}

TokenProvider::~TokenProvider() = default;

boost::asio::awaitable<std::variant<std::string, CallError>> TokenProvider::access_token() {
  for (;;) {
    if (!token_.empty() && clock_.now() < refresh_at_) co_return token_;
    if (refreshing_) {
      // Single flight: wait for the refresh in progress, then look again.
      std::shared_ptr<Waiters> w = waiters_;
      co_await w->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (last_error_) co_return *last_error_;
      continue;
    }
    refreshing_ = true;
    last_error_.reset();
    waiters_ = std::make_shared<Waiters>(co_await boost::asio::this_coro::executor);
    std::optional<CallError> err = co_await refresh();
    refreshing_ = false;
    last_error_ = err;
    waiters_->timer.cancel();
    if (err) co_return *err;
  }
}

void TokenProvider::reject(const std::string& token) {
  if (token == token_) {
    token_.clear();
    refresh_at_ = SysTime{};
  }
}

boost::asio::awaitable<std::optional<CallError>> TokenProvider::refresh() {
  Request req = token_request(zoho_, {{"grant_type", "refresh_token"}, {"refresh_token", zoho_.refresh_token.value}});
  req.idempotent = true;  // a repeated grant only mints one more token

  std::string last_problem;
  for (int attempt = 0; attempt < std::min(kMaxAttempts, max_attempts_); ++attempt) {
    Result result = co_await transport_.send(req);
    BackoffPolicy backoff = kTransportBackoff;
    if (auto* f = std::get_if<Failure>(&result)) {
      last_problem = f->message;
    } else {
      const Response& res = std::get<Response>(result);
      TokenReply reply = parse_token_reply(res.body);
      switch (reply.kind) {
        case TokenReply::Kind::token: {
          token_ = reply.access_token;
          add_access_token(token_);
          expires_at_ = clock_.now() + reply.expires_in;
          // Refresh proactively: 5 minutes early, or a fifth of a short lifetime.
          refresh_at_ = expires_at_ - std::min<Millis>(Millis{300'000}, reply.expires_in / 5);
          ++refreshes_;
          log_.info("access token refreshed, valid for {}s", reply.expires_in.count() / 1000);
          co_return std::nullopt;
        }
        case TokenReply::Kind::invalid_grant:
        case TokenReply::Kind::other_error:
          co_return CallError{
              Outcome::auth,
              "Zoho's accounts server (" + zoho_.accounts_url + ") refused the refresh token from " +
                  zoho_.refresh_token.source + " with '" + reply.error +
                  "': the token was revoked, belongs to another data centre or client, or was mistyped. "
                  "Create a new one for client " + zoho_.client_id +
                  " with the scopes `peoplesync auth --scopes` prints and store it with `peoplesync auth --code "
                  "CODE` (README \"Getting a refresh token\").",
              reply.error, std::nullopt};
        case TokenReply::Kind::throttled:
          last_problem = "the accounts server throttles token requests (10 per 10 minutes)";
          backoff = kThrottleBackoff;
          break;
        case TokenReply::Kind::malformed:
          last_problem = "unexpected reply from the accounts server (HTTP " + std::to_string(res.status) + ")";
          break;
      }
    }
    const Millis wait = full_jitter(backoff, attempt, random_) + backoff.base;
    log_.warn("token refresh failed ({}); trying again in {} ms", last_problem, wait.count());
    co_await sleeper_.sleep_for(wait);
  }
  // Named like every other call's error ("accounts/token: ..."): a reply of
  // the wrong shape or a throttle said nothing about where it came from.
  co_return CallError{Outcome::retry,
                      req.endpoint + ": could not obtain an access token from " + zoho_.accounts_url + ": " +
                          last_problem,
                      "", std::nullopt};
}

}  // namespace peoplesync::connectors
