#include "connectors/api.hpp"

namespace peoplesync::connectors {
namespace {

bool contains(std::string_view body, std::string_view what) { return body.find(what) != std::string_view::npos; }

// The vendor's word for an authorisation refusal, for logs and the error.
std::string auth_code(const Response& res) {
  for (std::string_view c : {"OAUTH_SCOPE_MISMATCH", "INVALID_TOKEN", "AUTHENTICATION_FAILURE", "7218", "7202", "7213"})
    if (contains(res.body, c)) return std::string(c);
  return "HTTP " + std::to_string(res.status);
}

// Built outside the coroutine (g++ 12 and aggregates in co_return).
CallError auth_error(const Request& request, const Response& res, AuthSignal signal) {
  const std::string code = auth_code(res);
  std::string text = request.endpoint + ": " + (res.status == 401 ? "HTTP 401 " : "") + code + ": ";
  if (signal == AuthSignal::scope_missing) {
    text += "the refresh token lacks the scope " + (request.scope.empty() ? std::string("this call needs") : request.scope) +
            "; create a new one with every scope `peoplesync auth --scopes` prints (README \"Getting a refresh token\")";
  } else {
    text += "the access token was refused right after a refresh; check that zoho.data_center matches the "
            "account's data centre and that the refresh token is valid";
  }
  return CallError{Outcome::auth, std::move(text), code == "HTTP 401" ? "" : code, std::nullopt};
}

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
    // A 401 (CRM, accounts) or an authorisation error in the API's own
    // envelope (People: 7202 / 7213 token, 7218 scope).
    AuthSignal signal = AuthSignal::none;
    if (res.status == 401)
      signal = contains(res.body, "OAUTH_SCOPE_MISMATCH") ? AuthSignal::scope_missing : AuthSignal::token_rejected;
    else if (request.auth_check)
      signal = request.auth_check(res);
    if (signal == AuthSignal::token_rejected && !refreshed) {
      // The token expired or was evicted (Zoho keeps 15 per refresh token):
      // refresh once and repeat; the request was not processed. Also a 401
      // whose body is unreadable (an HTML page from a proxy, a reply cut
      // short): only a refusal of a fresh token is an authorisation failure.
      tokens_.reject(access);
      refreshed = true;
      log_.with("endpoint", ep).info("access token rejected ({}); refreshing once", auth_code(res));
      continue;
    }
    if (signal != AuthSignal::none) co_return auth_error(request, res, signal);
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
