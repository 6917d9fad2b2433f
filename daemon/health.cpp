#include "daemon/health.hpp"

#include <exception>

#include "common/json.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/redact.hpp"

namespace peoplesync::health {
namespace {

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kJson = "application/json; charset=utf-8";

net::HttpReply reply(int code, std::string_view type, std::string body) {
  net::HttpReply r;
  r.status = code;
  r.content_type = std::string(type);
  r.body = std::move(body);
  r.headers = {{"Server", "peoplesync"}, {"Cache-Control", "no-store"}};
  return r;
}

// Store and config, or the reason /status cannot be shown yet.
std::optional<std::string> not_available(const StatusInput& in) {
  if (!in.config) return "no config loaded yet";
  if (!in.store) return "state store not open yet";
  return std::nullopt;
}

net::HttpReply status_page(const Providers& p, const Clock& clock, bool html, int refresh_seconds) {
  StatusInput in = p.status();
  in.live.ready = p.ready();
  if (auto why = not_available(in)) {
    if (html) {
      return reply(503, kHtml,
                   "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" "
                   "content=\"" + std::to_string(refresh_seconds > 0 ? refresh_seconds : 5) +
                       "\"><title>peoplesync: starting</title></head><body><h1>peoplesync</h1><p>Not available: " +
                       status::html_escape(*why) + ".</p></body></html>\n");
    }
    return reply(503, kJson, "{\"error\":" + json::quote(*why) + "}\n");
  }
  // One snapshot per request: the page and the document cannot disagree.
  const status::Snapshot snap = status::build_snapshot(in.store, in.config.get(), clock.now(), &in.live);
  if (html) {
    status::HtmlOptions o;
    o.refresh_seconds = refresh_seconds;
    return reply(200, kHtml, status::render_html(snap, o));
  }
  return reply(200, kJson, status::render_json(snap));
}

}  // namespace

Options options_from(const config::ListenAddress& listen) {
  Options o;
  o.host = listen.host;
  o.port = listen.port;
  return o;
}

net::HttpReply handle(const net::HttpRequest& request, const Providers& providers, const Clock& clock,
                      int refresh_seconds) {
  const std::string& path = request.path;
  if (request.method != "GET") {
    net::HttpReply r = reply(405, kText, "method not allowed: only GET\n");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  try {
    if (path == "/livez") return reply(200, kText, "ok\n");
    if (path == "/readyz") {
      return providers.ready() ? reply(200, kText, "ready\n") : reply(503, kText, "not ready\n");
    }
    if (path == "/metrics") return reply(200, kMetricsType, providers.metrics());
    if (path == "/status") return status_page(providers, clock, true, refresh_seconds);
    if (path == "/status.json") return status_page(providers, clock, false, refresh_seconds);
    if (path == "/") {
      net::HttpReply r = reply(302, kText, "see /status\n");
      r.headers.emplace_back("Location", "/status");
      return r;
    }
    return reply(404, kText, "not found; try /livez /readyz /metrics /status /status.json\n");
  } catch (const std::exception& e) {
    const std::string what = redact(e.what());
    log::Logger("health").with("path", path).error("request failed: {}", what);
    return reply(500, kText, "internal error: " + what + "\n");
  }
}

HealthServer::HealthServer(boost::asio::io_context& io, Options options, Providers providers, const Clock& clock) {
  net::ServerOptions so;
  so.host = options.host;
  so.port = options.port;
  so.tls = options.tls;
  so.body_limit = 64 * 1024;  // GET only: nothing large is ever expected
  so.idle_timeout = std::chrono::seconds(30);
  const int refresh = options.refresh_seconds;
  server_ = std::make_unique<net::HttpServer>(
      io, std::move(so), [p = std::move(providers), &clock, refresh](const net::HttpRequest& req) {
        return handle(req, p, clock, refresh);
      });
}

HealthServer::~HealthServer() = default;

std::uint16_t HealthServer::port() const { return server_->port(); }

std::string HealthServer::base_url() const { return server_->base_url(); }

void HealthServer::stop() { server_->stop(); }

void refresh_gauges(metrics::Registry& registry, const StatusInput& input, SysTime now) {
  status::set_gauges(registry,
                     status::build_snapshot(input.store, input.config.get(), now, &input.live, status::Detail::streams));
}

}  // namespace peoplesync::health
