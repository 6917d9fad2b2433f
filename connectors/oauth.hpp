#pragma once
// OAuth access tokens for every Zoho call (BEHAVIOUR.md "OAuth"): the
// refresh-token grant against the data centre's accounts server, both
// expires_in forms, proactive refresh before expiry, and one refresh at a
// time however many callers wait (Zoho allows 10 tokens per 10 minutes and
// 15 active ones). invalid_code is fatal (the operator must re-authorise);
// the throttle reply waits and tries again.
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "config/config.hpp"
#include "connectors/http.hpp"
#include "connectors/result.hpp"
#include "connectors/sleeper.hpp"

namespace peoplesync::connectors {

// What the accounts server answered, parsed (exposed for tests and fuzzing).
struct TokenReply {
  enum class Kind { token, invalid_grant, throttled, other_error, malformed };
  Kind kind = Kind::malformed;
  std::string access_token;
  Millis expires_in{0};
  std::string api_domain;
  std::string refresh_token;  // the authorization_code grant's reply only
  std::string error;  // the "error" value, when there is one
};
TokenReply parse_token_reply(std::string_view body);

// `peoplesync auth --code`: exchanges a Self Client grant code for a refresh
// token (POST {accounts}/oauth/v2/token, grant_type=authorization_code). One
// attempt: a code is single-use, so it is never sent twice. invalid_code
// (HTTP 200) is Outcome::auth with what to do; the reply's refresh_token is
// in TokenReply::refresh_token.
boost::asio::awaitable<std::variant<TokenReply, CallError>> exchange_grant_code(Transport& transport,
                                                                               const config::Zoho& zoho,
                                                                               const std::string& code);

class TokenProvider {
 public:
  TokenProvider(Transport& transport, const config::Zoho& zoho, const Clock& clock, Sleeper& sleeper,
                Random& random);
  ~TokenProvider();

  // A valid access token, refreshed first when missing or near expiry.
  boost::asio::awaitable<std::variant<std::string, CallError>> access_token();

  // The API rejected `token` (401 INVALID_TOKEN): forget it so the next
  // access_token() refreshes. A token already replaced is left alone.
  void reject(const std::string& token);

  int refreshes() const { return refreshes_; }  // successful grants

  // Attempts per refresh before giving up (default 8, with backoff up to a
  // minute). A one-shot run lowers it: it exits 75 and cron tries later.
  void set_max_attempts(int n) { max_attempts_ = n < 1 ? 1 : n; }

 private:
  boost::asio::awaitable<std::optional<CallError>> refresh();

  Transport& transport_;
  const config::Zoho& zoho_;
  const Clock& clock_;
  Sleeper& sleeper_;
  Random& random_;
  log::Logger log_{"oauth"};

  std::string token_;
  SysTime expires_at_{};
  SysTime refresh_at_{};
  bool refreshing_ = false;
  std::optional<CallError> last_error_;
  struct Waiters;
  std::shared_ptr<Waiters> waiters_;
  int refreshes_ = 0;
  int max_attempts_ = 8;
};

}  // namespace peoplesync::connectors
