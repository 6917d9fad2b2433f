// The server side's one Beast + SSL + coroutine translation unit.
#include "net/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cctype>
#include <sstream>
#include <stdexcept>

namespace peoplesync::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Params parse_params(std::string_view s) {
  Params out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t amp = s.find('&', pos);
    if (amp == std::string_view::npos) amp = s.size();
    const std::string_view kv = s.substr(pos, amp - pos);
    if (!kv.empty()) {
      const std::size_t eq = kv.find('=');
      if (eq == std::string_view::npos) out.emplace_back(url_decode(kv), "");
      else out.emplace_back(url_decode(kv.substr(0, eq)), url_decode(kv.substr(eq + 1)));
    }
    pos = amp + 1;
  }
  return out;
}

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

std::optional<std::string> HttpRequest::param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return std::nullopt;
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context& io;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  std::optional<ssl::context> ctx;
  bool stopped = false;

  Impl(asio::io_context& i, ServerOptions o, Handler h)
      : io(i), options(std::move(o)), handler(std::move(h)), acceptor(i) {
    if (options.tls) {
      ctx.emplace(ssl::context::tls_server);
      ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
      ctx->use_certificate_chain_file(options.tls->server_cert);
      ctx->use_private_key_file(options.tls->server_key, ssl::context::pem);
    }
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options.host, ec);
    if (ec) throw std::runtime_error("bad listen address '" + options.host + "'");
    tcp::endpoint ep(address, options.port);
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep, ec);
    if (ec) throw std::runtime_error("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                                     ec.message());
    acceptor.listen();
  }

  void start() {
    asio::co_spawn(io, [self = shared_from_this()]() { return self->accept_loop(); }, asio::detached);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      // Replies larger than one TLS record go out as several writes: without
      // TCP_NODELAY each waits for the peer's delayed ACK (~40 ms).
      boost::system::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    boost::system::error_code ec;
    const std::string remote = socket.remote_endpoint(ec).address().to_string();
    if (ctx) {
      ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ctx);
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
      auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
      if (hec) co_return;
      co_await serve(stream, remote);
    } else {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream, remote);
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const std::string& remote) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.body_limit);
      beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
      auto [rec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      (void)n;
      if (rec || stopped) co_return;
      http::request<http::string_body> req = parser.release();

      HttpRequest in;
      in.method = std::string(req.method_string());
      in.target = std::string(req.target());
      const auto qm = in.target.find('?');
      in.path = url_decode(in.target.substr(0, qm), false);
      if (qm != std::string::npos) in.query = parse_params(std::string_view(in.target).substr(qm + 1));
      for (const auto& f : req) in.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      in.body = std::move(req.body());
      in.remote_address = remote;

      HttpReply out = handler(in);
      if (out.delay.count() > 0) {
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_after(out.delay);
        co_await t.async_wait(kTuple);
      }
      if (out.fault == Fault::close_without_reply) {
        beast::get_lowest_layer(stream).close();
        co_return;
      }
      http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
      res.set(http::field::server, "peoplesync-sandbox");
      if (!out.body.empty() || out.status == 200) res.set(http::field::content_type, out.content_type);
      for (const auto& [k, v] : out.headers) res.set(k, v);
      res.body() = std::move(out.body);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(120));
      if (out.fault == Fault::truncate_body || out.fault == Fault::trickle) {
        std::ostringstream raw;
        raw << res;
        std::string bytes = raw.str();
        if (out.fault == Fault::truncate_body) {
          bytes.resize(bytes.size() - res.body().size() / 2 - 1);
          co_await asio::async_write(stream, asio::buffer(bytes), kTuple);
          beast::get_lowest_layer(stream).close();
          co_return;
        }
        asio::steady_timer t(co_await asio::this_coro::executor);
        for (char c : bytes) {
          auto [wec, w] = co_await asio::async_write(stream, asio::buffer(&c, 1), kTuple);
          (void)w;
          if (wec || stopped) co_return;
          t.expires_after(out.trickle_interval);
          co_await t.async_wait(kTuple);
        }
      } else {
        auto [wec, w] = co_await http::async_write(stream, res, kTuple);
        (void)w;
        if (wec) co_return;
      }
      if (!res.keep_alive()) {
        beast::get_lowest_layer(stream).close();
        co_return;
      }
    }
  }
};

HttpServer::HttpServer(asio::io_context& io, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {
  impl_->start();
}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string HttpServer::base_url() const {
  const std::string host = impl_->options.host.find(':') != std::string::npos ? "[" + impl_->options.host + "]"
                                                                               : impl_->options.host;
  return std::string(impl_->options.tls ? "https://" : "http://") + host + ":" + std::to_string(port());
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace peoplesync::net
