// The Beast transport against a scripted local server: keep-alive reuse,
// deadlines, the body cap, and the write-that-may-have-landed rule.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>

#include "connectors/beast_transport.hpp"
#include "support/script_server.hpp"

namespace peoplesync::connectors {
namespace {

using peoplesync::testing::Behaviour;
using peoplesync::testing::ScriptServer;
using Kind = Behaviour::Kind;

struct Harness {
  boost::asio::io_context io;
  TransportOptions options;
  std::unique_ptr<Transport> transport;

  explicit Harness(TransportOptions o = {}) : options(o) {
    transport = make_beast_transport(io.get_executor(), options);
  }

  std::vector<Result> run(std::vector<Request> requests) {
    std::vector<Result> results;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          for (auto& r : requests) results.push_back(co_await transport->send(r));
        },
        boost::asio::detached);
    io.run();
    io.restart();
    return results;
  }
};

Request get(const std::string& base, const std::string& target = "/crm/v2/Deals") {
  Request r;
  r.base_url = base;
  r.target = target;
  r.endpoint = "crm";
  return r;
}

Request post(const std::string& base) {
  Request r = get(base, "/people/api/timetracker/addupdatetimelogs");
  r.method = Method::post;
  r.idempotent = false;
  r.content_type = "application/x-www-form-urlencoded";
  r.body = "timelogs=%5B%5D";
  r.endpoint = "people/addupdatetimelogs";
  return r;
}

TEST(BeastTransport, KeepAliveConnectionIsReused) {
  ScriptServer server({{Kind::reply, ScriptServer::response(200, R"({"data":[]})"), 0}});
  Harness h;
  auto results = h.run({get(server.base_url()), get(server.base_url()), get(server.base_url())});
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    ASSERT_TRUE(std::holds_alternative<Response>(r)) << std::get<Failure>(r).message;
    EXPECT_EQ(std::get<Response>(r).status, 200);
    EXPECT_EQ(std::get<Response>(r).body, R"({"data":[]})");
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.requests(), 3);
}

TEST(BeastTransport, ServerClosingAfterReplyMeansNewConnection) {
  ScriptServer server({{Kind::reply_and_close, ScriptServer::response(200, "{}", "Connection: close\r\n"), 0}});
  Harness h;
  auto results = h.run({get(server.base_url()), get(server.base_url())});
  for (const auto& r : results) ASSERT_TRUE(std::holds_alternative<Response>(r));
  EXPECT_EQ(server.connections(), 2);
}

TEST(BeastTransport, RequestDeadlineFiresOnASilentServer) {
  ScriptServer server({{Kind::never_answer, "", 0}});
  TransportOptions o;
  o.request_timeout = Millis{300};
  Harness h(o);
  const auto start = std::chrono::steady_clock::now();
  auto results = h.run({get(server.base_url())});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(std::holds_alternative<Failure>(results[0]));
  EXPECT_EQ(std::get<Failure>(results[0]).kind, TransportFailure::read);
  EXPECT_NE(std::get<Failure>(results[0]).message.find("timed out"), std::string::npos);
  EXPECT_NE(std::get<Failure>(results[0]).message.find("crm (127.0.0.1:"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));  // bound, not a timing assertion
  server.stop();
}

TEST(BeastTransport, TrickleIsCutByTheTotalDeadline) {
  ScriptServer server({{Kind::trickle, ScriptServer::response(200, std::string(200, 'x')), 20}});
  TransportOptions o;
  o.request_timeout = Millis{300};
  o.io_timeout = Millis{10'000};  // each byte arrives in time; the total does not
  Harness h(o);
  auto results = h.run({get(server.base_url())});
  ASSERT_TRUE(std::holds_alternative<Failure>(results[0]));
  EXPECT_EQ(std::get<Failure>(results[0]).kind, TransportFailure::read);
  server.stop();
}

TEST(BeastTransport, BodyOverTheCapIsRefused) {
  ScriptServer server({{Kind::reply, ScriptServer::response(200, std::string(4096, 'x')), 0}});
  TransportOptions o;
  o.body_limit = 1024;
  Harness h(o);
  auto results = h.run({get(server.base_url())});
  ASSERT_TRUE(std::holds_alternative<Failure>(results[0]));
  EXPECT_EQ(std::get<Failure>(results[0]).kind, TransportFailure::body_too_large);
}

TEST(BeastTransport, WriteWhoseConnectionDiesAfterSendingIsNotResent) {
  ScriptServer server({{Kind::reply, ScriptServer::response(200, "{}"), 0},
                       {Kind::close_after_read, "", 0},
                       {Kind::reply, ScriptServer::response(200, "{}"), 0}});
  Harness h;
  // The first call opens a keep-alive connection; the POST goes out on it
  // and the server hangs up without answering: the write is in doubt.
  auto results = h.run({get(server.base_url()), post(server.base_url())});
  ASSERT_TRUE(std::holds_alternative<Response>(results[0]));
  ASSERT_TRUE(std::holds_alternative<Failure>(results[1]));
  const Failure& f = std::get<Failure>(results[1]);
  EXPECT_EQ(f.kind, TransportFailure::read);
  EXPECT_FALSE(may_resend(false, f.kind));
  EXPECT_EQ(server.requests(), 2);  // never sent twice
}

TEST(BeastTransport, ReadOnADeadReusedConnectionIsRepeatedOnce) {
  ScriptServer server({{Kind::reply, ScriptServer::response(200, "{}"), 0},
                       {Kind::close_after_read, "", 0},
                       {Kind::reply, ScriptServer::response(200, R"({"ok":1})"), 0}});
  Harness h;
  auto results = h.run({get(server.base_url()), get(server.base_url())});
  ASSERT_TRUE(std::holds_alternative<Response>(results[1]));
  EXPECT_EQ(std::get<Response>(results[1]).body, R"({"ok":1})");
  EXPECT_EQ(server.requests(), 3);
}

TEST(BeastTransport, ConnectionRefusedIsProvablyUnsent) {
  std::string base;
  {
    ScriptServer server({{Kind::reply, "", 0}});
    base = server.base_url();
  }  // closed: nothing listens on that port now
  Harness h;
  auto results = h.run({post(base)});
  ASSERT_TRUE(std::holds_alternative<Failure>(results[0]));
  EXPECT_EQ(std::get<Failure>(results[0]).kind, TransportFailure::connect);
  EXPECT_TRUE(may_resend(false, std::get<Failure>(results[0]).kind));
}

TEST(BeastTransport, TlsToAPlainServerFailsClosed) {
  // A plain server never answers a ClientHello: the handshake deadline fires.
  ScriptServer server({{Kind::reply, ScriptServer::response(200, "{}"), 0}});
  TransportOptions o;
  o.connect_timeout = Millis{500};
  Harness h(o);
  std::string base = server.base_url();
  base.replace(0, 4, "https");
  auto results = h.run({get(base)});
  ASSERT_TRUE(std::holds_alternative<Failure>(results[0]));
  EXPECT_EQ(std::get<Failure>(results[0]).kind, TransportFailure::tls);
  server.stop();
}

}  // namespace
}  // namespace peoplesync::connectors
