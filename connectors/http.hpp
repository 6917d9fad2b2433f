#pragma once
// The narrow network interface of the connectors: one coroutine,
// send(Request) -> awaitable<Result>. The real implementation is Beast +
// OpenSSL (beast_transport.hpp); tests use FakeTransport (fake_transport.hpp).
#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "connectors/retry.hpp"

namespace peoplesync::connectors {

enum class Method { get, post, put, del };
std::string_view to_string(Method m);

struct Header {
  std::string name;
  std::string value;
};

// What an API's reply body says of the access token, where the API answers
// authorisation failures in its own envelope (People: 7202 / 7213 / 7218 in
// a 200 or 400 reply) rather than with a 401.
enum class AuthSignal { none, token_rejected, scope_missing };
struct Response;
using AuthCheck = AuthSignal (*)(const Response&);

struct Request {
  Method method = Method::get;
  std::string base_url;  // scheme://host[:port], no trailing slash
  std::string target;    // path and query, starting with '/'
  std::vector<Header> headers;
  std::string body;
  std::string content_type;  // set with a body
  // A request that may be sent twice without changing the outcome (reads).
  bool idempotent = true;
  // What the call costs against a credit budget (CRM: 2 for deleted records,
  // 1 per 10 records of an update; People: 1).
  int cost = 1;
  // Logical endpoint ("people/getjobs", "crm"), for logs, metrics and limits.
  std::string endpoint;
  // The OAuth scope this call needs (connectors/scopes.hpp), named when a
  // call is refused for want of it.
  std::string scope;
  // Reads authorisation failures out of a reply that is not a 401 (null: none).
  AuthCheck auth_check = nullptr;

  std::optional<std::string_view> header(std::string_view name) const;
};

struct Response {
  int status = 0;
  std::vector<Header> headers;
  std::string body;

  // Case-insensitive lookup.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct Failure {
  TransportFailure kind = TransportFailure::connect;
  std::string message;  // what happened, naming host and endpoint
};

using Result = std::variant<Response, Failure>;

class Transport {
 public:
  virtual ~Transport() = default;
  virtual boost::asio::awaitable<Result> send(Request request) = 0;
};

// Percent-encodes a query component (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view s);
// "a=1&b=x%20y" from pairs, each value encoded.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace peoplesync::connectors
