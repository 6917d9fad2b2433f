#include "daemon/metered_transport.hpp"

#include <string>
#include <variant>

#include "common/metrics.hpp"

namespace peoplesync::runtime {

boost::asio::awaitable<connectors::Result> MeteredTransport::send(connectors::Request request) {
  const std::string endpoint = request.endpoint.empty() ? "other" : request.endpoint;
  const auto start = clock_.steady_now();
  connectors::Result r = co_await inner_.send(std::move(request));
  const double secs = std::chrono::duration<double>(clock_.steady_now() - start).count();
  std::string code;
  if (const auto* ok = std::get_if<connectors::Response>(&r)) code = std::to_string(ok->status);
  else code = std::string(connectors::to_string(std::get<connectors::Failure>(r).kind));
  m_.inc(metrics::api_requests_total, {endpoint, code});
  m_.observe(metrics::api_request_duration_seconds, {endpoint}, secs);
  if (endpoint == "accounts/token") {
    const auto* ok = std::get_if<connectors::Response>(&r);
    const bool granted = ok && ok->status == 200 && ok->body.find("\"access_token\"") != std::string::npos;
    m_.inc(metrics::token_refresh_total, {granted ? "ok" : "error"});
  }
  co_return r;
}

}  // namespace peoplesync::runtime
