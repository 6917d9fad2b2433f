// The one translation unit of the client side that instantiates Beast and
// Asio SSL coroutines. Everything is bounded: connect, handshake, each read
// and write, the whole request, the body size.
#include "connectors/beast_transport.hpp"

#include <poll.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>

namespace peoplesync::connectors {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Endpoint {
  bool tls = true;
  std::string host;  // without brackets
  std::string port;
  std::string key() const { return (tls ? "https://" : "http://") + host + ":" + port; }
  std::string host_header() const {
    const bool default_port = (tls && port == "443") || (!tls && port == "80");
    const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return default_port ? h : h + ":" + port;
  }
};

std::optional<Endpoint> parse_base_url(std::string_view url) {
  Endpoint e;
  if (url.rfind("https://", 0) == 0) {
    url.remove_prefix(8);
  } else if (url.rfind("http://", 0) == 0) {
    e.tls = false;
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  url = url.substr(0, url.find('/'));
  if (url.empty()) return std::nullopt;
  if (url.front() == '[') {
    const auto close = url.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    e.host = std::string(url.substr(1, close - 1));
    url.remove_prefix(close + 1);
    if (!url.empty()) {
      if (url.front() != ':') return std::nullopt;
      e.port = std::string(url.substr(1));
    }
  } else if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
    e.host = std::string(url.substr(0, colon));
    e.port = std::string(url.substr(colon + 1));
  } else {
    e.host = std::string(url);
  }
  if (e.port.empty()) e.port = e.tls ? "443" : "80";
  return e;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

http::verb to_verb(Method m) {
  switch (m) {
    case Method::get: return http::verb::get;
    case Method::post: return http::verb::post;
    case Method::put: return http::verb::put;
    case Method::del: return http::verb::delete_;
  }
  return http::verb::get;
}

// One keep-alive connection, plain or TLS.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  steady::time_point idle_since{};
  // The last exchange failed with the connection closed before a single byte
  // of the reply arrived (not a timeout): the signature of a keep-alive
  // connection the server closed while the request was on its way.
  bool closed_before_reply = false;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // An idle connection the peer has closed (or sent stray bytes on) is
  // readable; such a connection must not carry a request.
  bool looks_alive() {
    if (!tcp().socket().is_open()) return false;
    pollfd p{tcp().socket().native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
};

class BeastTransport final : public Transport {
 public:
  BeastTransport(asio::any_io_executor ex, const TransportOptions& o)
      : ex_(std::move(ex)), opt_(o), ctx_(ssl::context::tls_client) {
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (opt_.use_system_store) ctx_.set_default_verify_paths();
    if (opt_.ca_file) {
      boost::system::error_code ec;
      ctx_.load_verify_file(*opt_.ca_file, ec);
      if (ec) throw std::runtime_error("cannot load CA file " + *opt_.ca_file + ": " + ec.message());
    }
    ctx_.set_verify_mode(ssl::verify_peer);
  }

  asio::awaitable<Result> send(Request req) override {
    const auto deadline = steady::now() + opt_.request_timeout;
    auto ep = parse_base_url(req.base_url);
    if (!ep) co_return Failure{TransportFailure::protocol, "bad base URL '" + req.base_url + "'"};

    // A pooled connection first; if it turns out dead before anything was
    // sent, a fresh one. A read is repeated once on a fresh connection when
    // a reused one failed while sending, or was closed before any byte of
    // the reply came back (the server closed it idle as the request left).
    // Never after part of a reply arrived or a timeout: the server saw that
    // request, and a silent second one would be a call that no gate admitted
    // (People counts every call towards its lock threshold).
    std::unique_ptr<Connection> conn = take_idle(ep->key());
    const bool reused = conn != nullptr;
    if (!conn) {
      auto fresh = co_await connect(*ep, req, deadline);
      if (auto* f = std::get_if<Failure>(&fresh)) co_return *f;
      conn = std::move(std::get<std::unique_ptr<Connection>>(fresh));
    }
    Result r = co_await exchange(*conn, *ep, req, deadline);
    if (reused && req.idempotent) {
      if (auto* f = std::get_if<Failure>(&r);
          f && (f->kind == TransportFailure::write || (f->kind == TransportFailure::read && conn->closed_before_reply)) &&
          steady::now() < deadline) {
        auto fresh = co_await connect(*ep, req, deadline);
        if (auto* cf = std::get_if<Failure>(&fresh)) co_return *cf;
        conn = std::move(std::get<std::unique_ptr<Connection>>(fresh));
        r = co_await exchange(*conn, *ep, req, deadline);
      }
    }
    if (conn && std::holds_alternative<Response>(r)) give_back(ep->key(), std::move(conn));
    co_return r;
  }

 private:
  static Millis remaining(steady::time_point deadline) {
    return std::max(Millis{1}, std::chrono::duration_cast<Millis>(deadline - steady::now()));
  }
  Millis step(steady::time_point deadline, Millis limit) const { return std::min(limit, remaining(deadline)); }

  static std::string where(const Endpoint& ep, const Request& req) {
    return (req.endpoint.empty() ? std::string() : req.endpoint + " ") + "(" + ep.host + ":" + ep.port + ")";
  }

  std::unique_ptr<Connection> take_idle(const std::string& key) {
    auto it = pool_.find(key);
    if (it == pool_.end()) return nullptr;
    auto& idle = it->second;
    while (!idle.empty()) {
      std::unique_ptr<Connection> c = std::move(idle.back());
      idle.pop_back();
      if (steady::now() - c->idle_since < opt_.max_idle_age && c->looks_alive()) return c;
    }
    return nullptr;
  }

  void give_back(const std::string& key, std::unique_ptr<Connection> c) {
    auto& idle = pool_[key];
    if (idle.size() >= opt_.max_idle_per_host) return;
    c->idle_since = steady::now();
    idle.push_back(std::move(c));
  }

  asio::awaitable<std::variant<std::unique_ptr<Connection>, Failure>> connect(const Endpoint& ep, const Request& req,
                                                                             steady::time_point deadline) {
    tcp::resolver resolver(ex_);
    asio::steady_timer guard(ex_);
    guard.expires_after(step(deadline, opt_.connect_timeout));
    guard.async_wait([&resolver](boost::system::error_code ec) {
      if (!ec) resolver.cancel();
    });
    auto [rec, results] = co_await resolver.async_resolve(ep.host, ep.port, kTuple);
    guard.cancel();
    if (rec) {
      co_return Failure{TransportFailure::resolve,
                        "cannot resolve " + where(ep, req) + ": " + (rec == asio::error::operation_aborted
                                                                         ? std::string("timed out")
                                                                         : rec.message())};
    }
    auto conn = std::make_unique<Connection>();
    if (ep.tls) {
      conn->tls = std::make_unique<ssl::stream<beast::tcp_stream>>(ex_, ctx_);
    } else {
      conn->plain = std::make_unique<beast::tcp_stream>(ex_);
    }
    conn->tcp().expires_after(step(deadline, opt_.connect_timeout));
    auto [cec, endpoint] = co_await conn->tcp().async_connect(results, kTuple);
    (void)endpoint;
    if (cec) {
      co_return Failure{TransportFailure::connect, "cannot connect to " + where(ep, req) + ": " +
                                                       (cec == beast::error::timeout ? "timed out" : cec.message())};
    }
    // The request goes out as several writes (TLS records for the header and
    // the body): without NODELAY the last one waits for the server's delayed
    // ACK (40 ms or more on every write call).
    boost::system::error_code nec;
    conn->tcp().socket().set_option(tcp::no_delay(true), nec);
    if (ep.tls) {
      SSL* native = conn->tls->native_handle();
      if (!is_ip_literal(ep.host)) {
        // SNI. (SSL_set_tlsext_host_name is a macro with an old-style cast.)
        SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(ep.host.c_str()));
      }
      conn->tls->set_verify_mode(ssl::verify_peer);
      conn->tls->set_verify_callback(ssl::host_name_verification(ep.host));
      conn->tcp().expires_after(step(deadline, opt_.connect_timeout));
      auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kTuple);
      if (hec) {
        std::string detail = hec == beast::error::timeout ? "timed out" : hec.message();
        const long verify = SSL_get_verify_result(native);
        if (verify != X509_V_OK) detail += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
        co_return Failure{TransportFailure::tls, "TLS with " + where(ep, req) + " failed: " + detail};
      }
    }
    co_return std::move(conn);
  }

  asio::awaitable<Result> exchange(Connection& c, const Endpoint& ep, const Request& req,
                                   steady::time_point deadline) {
    if (c.tls) co_return co_await exchange_on(*c.tls, c, ep, req, deadline);
    co_return co_await exchange_on(*c.plain, c, ep, req, deadline);
  }

  template <class Stream>
  asio::awaitable<Result> exchange_on(Stream& stream, Connection& c, const Endpoint& ep, const Request& req,
                                      steady::time_point deadline) {
    http::request<http::string_body> msg{to_verb(req.method), req.target, 11};
    msg.set(http::field::host, ep.host_header());
    msg.set(http::field::user_agent, std::string("peoplesync/") + PEOPLESYNC_VERSION);
    msg.set(http::field::accept, "application/json");
    for (const auto& h : req.headers) msg.set(h.name, h.value);
    if (!req.body.empty() || req.method == Method::post || req.method == Method::put) {
      if (!req.content_type.empty()) msg.set(http::field::content_type, req.content_type);
      msg.body() = req.body;
    }
    msg.keep_alive(true);
    msg.prepare_payload();

    c.tcp().expires_after(step(deadline, opt_.io_timeout));
    auto [wec, written] = co_await http::async_write(stream, msg, kTuple);
    (void)written;
    if (wec) {
      c.tcp().close();
      co_return Failure{TransportFailure::write, "sending to " + where(ep, req) + " failed: " +
                                                     (wec == beast::error::timeout ? "timed out" : wec.message())};
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(opt_.body_limit);
    parser.header_limit(64 * 1024);
    c.tcp().expires_after(step(deadline, opt_.io_timeout));
    auto [rec, read] = co_await http::async_read(stream, c.buffer, parser, kTuple);
    (void)read;
    c.closed_before_reply = rec && !parser.got_some() && rec != beast::error::timeout;
    if (rec) {
      c.tcp().close();
      if (rec == http::error::body_limit) {
        co_return Failure{TransportFailure::body_too_large, "reply from " + where(ep, req) + " is larger than " +
                                                                std::to_string(opt_.body_limit) + " bytes"};
      }
      if (rec.category() == http::make_error_code(http::error::bad_version).category() &&
          rec != http::error::end_of_stream && rec != http::error::partial_message) {
        co_return Failure{TransportFailure::protocol, "reply from " + where(ep, req) + " is not HTTP: " + rec.message()};
      }
      co_return Failure{TransportFailure::read, "reading the reply from " + where(ep, req) + " failed: " +
                                                    (rec == beast::error::timeout ? "timed out" : rec.message())};
    }
    http::response<http::string_body> res = parser.release();
    Response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) out.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    out.body = std::move(res.body());
    if (!res.keep_alive()) c.tcp().close();
    c.tcp().expires_never();
    co_return out;
  }

  asio::any_io_executor ex_;
  TransportOptions opt_;
  ssl::context ctx_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> pool_;
};

}  // namespace

std::unique_ptr<Transport> make_beast_transport(asio::any_io_executor executor, const TransportOptions& options) {
  return std::make_unique<BeastTransport>(std::move(executor), options);
}

}  // namespace peoplesync::connectors
