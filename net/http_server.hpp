#pragma once
// A small generic HTTP/1.1 server (TLS or plain) on Beast, for the sandbox
// and, later, the daemon's /metrics and /status. Handlers are plain
// functions of a request; they know nothing of Beast. Replies can carry a
// delay and a fault (for the sandbox's fault injection).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/tls_cert.hpp"

namespace boost::asio {
class io_context;
}

namespace peoplesync::net {

using Params = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent
  std::string path;    // decoded path without query
  Params query;        // decoded query parameters, in order
  Params headers;      // names as sent
  std::string body;
  std::string remote_address;

  std::optional<std::string> header(std::string_view name) const;  // case-insensitive
  std::optional<std::string> param(std::string_view name) const;   // first query parameter
};

enum class Fault {
  none,
  close_without_reply,  // close the connection instead of answering
  truncate_body,        // send the headers and half the body, then close
  trickle,              // send the reply one byte at a time (trickle_interval apart)
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json;charset=UTF-8";
  Params headers;
  std::string body;
  Fault fault = Fault::none;
  std::chrono::milliseconds delay{0};             // wait before answering
  std::chrono::milliseconds trickle_interval{1000};
};

using Handler = std::function<HttpReply(const HttpRequest&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = any free port
  std::optional<TlsFiles> tls;
  std::size_t body_limit = 16 * 1024 * 1024;
  std::chrono::seconds idle_timeout{60};
};

class HttpServer {
 public:
  // Binds and listens at once (throws std::runtime_error on failure);
  // serves once the io_context runs.
  HttpServer(boost::asio::io_context& io, ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  std::string base_url() const;  // https://127.0.0.1:PORT (or http://)
  // Stops accepting; open connections end at their next request or idle
  // timeout (or when the io_context stops).
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

std::string url_decode(std::string_view s, bool plus_is_space = true);
// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}} (query strings and form bodies)
Params parse_params(std::string_view s);

}  // namespace peoplesync::net
