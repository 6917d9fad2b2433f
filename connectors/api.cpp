#include "connectors/api.hpp"

namespace peoplesync::connectors {
namespace {

bool contains(std::string_view body, std::string_view what) { return body.find(what) != std::string_view::npos; }

}  // namespace

ZohoApi::ZohoApi(Transport& transport, TokenProvider& tokens, const Clock& clock, Sleeper& sleeper, Random& random,
                 BackoffPolicy backoff)
    : transport_(transport), tokens_(tokens), clock_(clock), sleeper_(sleeper), random_(random), backoff_(backoff) {}

boost::asio::awaitable<ApiResult> ZohoApi::call(Request request) {
  bool refreshed = false;
  const std::string& ep = request.endpoint;
  for (int attempt = 0;; ++attempt) {
    auto token = co_await tokens_.access_token();
    if (auto* err = std::get_if<CallError>(&token)) co_return *err;
    const std::string access = std::get<std::string>(token);
    Request req = request;
    req.headers.push_back({"Authorization", "Zoho-oauthtoken " + access});

    AdmissionPtr admission = co_await gate_->admit(ep, request.cost);
    Result result = co_await transport_.send(req);
    admission.reset();  // the call is over: free its concurrency slot
    const bool attempts_left = attempt + 1 < backoff_.max_attempts;

    if (auto* f = std::get_if<Failure>(&result)) {
      if (may_resend(request.idempotent, f->kind) && attempts_left) {
        const Millis wait = full_jitter(backoff_, attempt, random_);
        log_.with("endpoint", ep).warn("{}; retrying in {} ms", f->message, wait.count());
        co_await sleeper_.sleep_for(wait);
        continue;
      }
      const Outcome o = request.idempotent || never_sent(f->kind) ? Outcome::retry : Outcome::in_doubt;
      co_return CallError{o, ep + ": " + f->message, "", std::nullopt};
    }

    Response& res = std::get<Response>(result);
    if (res.status == 401) {
      // The token expired or was evicted (Zoho keeps 15 per refresh token):
      // refresh once and repeat; the request was not processed. Any 401 but a
      // scope mismatch (which no new token mends) gets that one refresh, also
      // one whose body is unreadable (an HTML page from a proxy, a reply cut
      // short): only a 401 to a fresh token is an authorisation failure.
      if (!refreshed && !contains(res.body, "OAUTH_SCOPE_MISMATCH")) {
        tokens_.reject(access);
        refreshed = true;
        log_.with("endpoint", ep)
            .info("access token rejected ({}); refreshing once",
                  contains(res.body, "INVALID_TOKEN") ? "INVALID_TOKEN" : "HTTP 401");
        continue;
      }
      std::string code = contains(res.body, "OAUTH_SCOPE_MISMATCH") ? "OAUTH_SCOPE_MISMATCH"
                         : contains(res.body, "INVALID_TOKEN")      ? "INVALID_TOKEN"
                                                                    : "AUTHENTICATION_FAILURE";
      std::string hint = code == "OAUTH_SCOPE_MISMATCH"
                             ? "the refresh token lacks a scope: create it with ZOHOPEOPLE.timetracker.ALL and "
                               "ZohoCRM.modules.ALL"
                             : "the access token was refused; check that zoho.data_center matches the account's "
                               "data centre";
      co_return CallError{Outcome::auth, ep + ": HTTP 401 " + code + ": " + hint, code, std::nullopt};
    }
    if (res.status == 429) {
      std::optional<Millis> after;
      if (auto h = res.header("Retry-After")) after = parse_retry_after(*h, clock_.now());
      gate_->limited(ep, LimitSignal::rate_limited, after);
      co_return CallError{Outcome::rate_limited, ep + ": HTTP 429 TOO_MANY_REQUESTS", "TOO_MANY_REQUESTS", after};
    }
    if (res.status >= 500) {
      if (request.idempotent && attempts_left) {
        const Millis wait = full_jitter(backoff_, attempt, random_);
        log_.with("endpoint", ep).warn("HTTP {}; retrying in {} ms", res.status, wait.count());
        co_await sleeper_.sleep_for(wait);
        continue;
      }
      const Outcome o = request.idempotent ? Outcome::retry : Outcome::in_doubt;
      co_return CallError{o, ep + ": HTTP " + std::to_string(res.status), std::to_string(res.status), std::nullopt};
    }
    co_return std::move(res);
  }
}

}  // namespace peoplesync::connectors
