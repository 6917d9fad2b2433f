// The sandbox over real TLS, driven by the production transport (plain HTTP
// requests; the assertions read the raw replies, not the client's parsers).
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <filesystem>
#include <thread>

#include "connectors/beast_transport.hpp"
#include "net/http_server.hpp"
#include "net/tls_cert.hpp"
#include "sandbox/sandbox.hpp"

namespace peoplesync {
namespace {

namespace fs = std::filesystem;
using connectors::Method;
using connectors::Request;
using connectors::Response;
using connectors::Result;

class SandboxTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-sbtls-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    server_io_.stop();  // the server itself is stopped by its destructor, after the join
    if (server_thread_.joinable()) server_thread_.join();
    fs::remove_all(dir_);
  }

  // Starts a sandbox; `tls` chooses how its certificate is made.
  void start(sandbox::Behaviour b = {}, double scale = 1, const std::string& host = "127.0.0.1", int days = 825,
             bool self_signed = false) {
    clock_ = std::make_unique<sandbox::ScaledClock>(scale);
    sb_ = std::make_unique<sandbox::Sandbox>(*clock_, b, 3);
    sb_->seed_demo(100);
    net::ServerOptions o;
    o.host = host;
    o.tls = net::ensure_tls_files((dir_ / "tls").string(), days, self_signed);
    // The server runs on its own thread and io_context; the client below on the test's.
    server_ = std::make_unique<net::HttpServer>(server_io_, o, [this](const net::HttpRequest& r) { return sb_->handle(r); });
    server_thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(server_io_);
      server_io_.run();
    });
    connectors::TransportOptions t;
    // Trust only the sandbox CA (a self-signed server certificate is not signed by it).
    t.ca_file = (dir_ / "tls" / "ca.pem").string();
    t.use_system_store = false;
    t.request_timeout = Millis{5000};
    transport_ = connectors::make_beast_transport(io_.get_executor(), t);
    base_ = "https://" + host + ":" + std::to_string(server_->port());
  }

  std::vector<Result> send(std::vector<Request> reqs) {
    std::vector<Result> out;
    boost::asio::co_spawn(
        io_,
        [&]() -> boost::asio::awaitable<void> {
          for (auto& r : reqs) out.push_back(co_await transport_->send(r));
        },
        boost::asio::detached);
    io_.run();
    io_.restart();
    return out;
  }

  Request get(const std::string& target, const std::string& token = "") {
    Request r;
    r.base_url = base_;
    r.target = target;
    if (!token.empty()) r.headers.push_back({"Authorization", "Zoho-oauthtoken " + token});
    return r;
  }

  std::string token() {
    Request r;
    r.method = Method::post;
    r.base_url = base_;
    r.target = "/oauth/v2/token";
    r.content_type = "application/x-www-form-urlencoded";
    r.body = "grant_type=refresh_token&client_id=sandbox-client&client_secret=sandbox-secret&refresh_token=sandbox-refresh-token";
    auto res = send({r});
    simdjson::dom::parser p;
    return std::string(std::string_view(p.parse(std::get<Response>(res[0]).body)["access_token"]));
  }

  fs::path dir_;
  boost::asio::io_context io_;         // the client's
  boost::asio::io_context server_io_;  // the sandbox's
  std::thread server_thread_;
  std::unique_ptr<sandbox::ScaledClock> clock_;
  std::unique_ptr<sandbox::Sandbox> sb_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<connectors::Transport> transport_;
  std::string base_;
};

TEST_F(SandboxTls, CrmOverTlsAnd304And204AndTheCap) {
  start();
  const std::string t = token();
  Request unchanged = get("/crm/v2/Deals", t);
  unchanged.headers.push_back({"If-Modified-Since", "2099-01-01T00:00:00+00:00"});
  auto res = send({get("/crm/v2/Deals?per_page=200&sort_by=Modified_Time&sort_order=asc", t), unchanged,
                   get("/crm/v2/Leads", t), get("/crm/v2/Calls?page=11", t), get("/crm/v2/Deals", "wrong")});
  ASSERT_EQ(res.size(), 5u);
  for (const auto& r : res) ASSERT_TRUE(std::holds_alternative<Response>(r)) << std::get<connectors::Failure>(r).message;
  EXPECT_EQ(std::get<Response>(res[0]).status, 200);
  EXPECT_EQ(std::get<Response>(res[1]).status, 304);
  EXPECT_TRUE(std::get<Response>(res[1]).body.empty());
  EXPECT_EQ(std::get<Response>(res[2]).status, 204);
  EXPECT_EQ(std::get<Response>(res[3]).status, 400);
  EXPECT_NE(std::get<Response>(res[3]).body.find("DISCRETE_PAGINATION_LIMIT_EXCEEDED"), std::string::npos);
  EXPECT_EQ(std::get<Response>(res[4]).status, 401);
  // Admin counts match the calls made.
  auto stats = send({get("/_admin/stats")});
  simdjson::dom::parser p;
  auto ep = p.parse(std::get<Response>(stats[0]).body)["endpoints"];
  EXPECT_EQ(int64_t(ep["crm/Deals"]["calls"]), 3);  // the one refused with 401 was a call too
  EXPECT_EQ(int64_t(ep["crm/Deals"]["errors"]["INVALID_TOKEN"]), 1);
  EXPECT_EQ(int64_t(ep["crm/Leads"]["calls"]), 1);
  EXPECT_EQ(int64_t(ep["crm/Calls"]["calls"]), 1);
  EXPECT_EQ(int64_t(ep["accounts/token"]["calls"]), 1);
}

TEST_F(SandboxTls, PeopleLockAfterTheThresholdInScaledTime) {
  sandbox::Behaviour b;
  b.lock_period = Millis{300'000};
  // Ten times real time: the 21 calls must reach the sandbox within six real
  // seconds, which holds under the sanitizers on a loaded machine too (at 600
  // they had to fit in 0.1 s and did not).
  start(b, 10.0);
  const std::string t = token();
  std::vector<Request> calls;
  for (int i = 0; i < 21; ++i) calls.push_back(get("/people/api/timetracker/getprojects", t));
  auto res = send(calls);
  simdjson::dom::parser p;
  int locked = 0;
  for (const auto& r : res) {
    auto env = p.parse(std::get<Response>(r).body)["response"];
    if (int64_t(env["status"]) == 1) {
      ++locked;
      EXPECT_EQ(int64_t(env["errors"].at(0)["code"]), 7209);
    }
  }
  EXPECT_GE(locked, 1);  // the 21st call within a window (the clock runs fast, so maybe more)
}

TEST_F(SandboxTls, WriteCommittedThenConnectionClosedIsInDoubt) {
  start();
  const std::string t = token();
  std::string error;
  sb_->set_faults(*sandbox::parse_faults("drop_after=1,only=addupdatetimelogs", &error));
  // Make a job through the admin-free API, then log time on it. The forms
  // API takes assignees as erecnos only (an email is refused with 7048), so
  // the erecno comes from the employee view first, as the client finds it.
  const auto found = send({get("/people/api/forms/P_EmployeeView/records?searchColumn=EMPLOYEEMAILALIAS&searchValue="
                               "ann.lee%40example.com",
                               t)});
  simdjson::dom::parser p;
  const std::string erecno{std::string_view(p.parse(std::get<Response>(found[0]).body).at(0)["recordId"])};
  ASSERT_FALSE(erecno.empty());
  Request add;
  add.method = Method::post;
  add.base_url = base_;
  add.target = "/people/api/forms/json/P_TimesheetJob/insertRecord";
  add.content_type = "application/x-www-form-urlencoded";
  add.body = "inputData=%7B%22Job_Name%22%3A%22J%22%2C%22Assignees%22%3A%22" + erecno + "%22%7D";
  add.headers.push_back({"Authorization", "Zoho-oauthtoken " + t});
  auto added = send({add});
  simdjson::dom::parser p2;
  const std::string job{std::string_view(p2.parse(std::get<Response>(added[0]).body)["response"]["result"]["pkId"])};
  Request log = add;
  log.target = "/people/api/timetracker/addupdatetimelogs";
  log.idempotent = false;
  log.body = "timelogs=%5B%7B%22user%22%3A%22ann.lee%40example.com%22%2C%22jobId%22%3A%22" + job +
             "%22%2C%22date%22%3A%222024-01-02%22%2C%22hours%22%3A%2201%3A00%22%7D%5D";
  auto res = send({log, get("/_admin/people/timelogs")});
  ASSERT_TRUE(std::holds_alternative<connectors::Failure>(res[0]));
  EXPECT_EQ(std::get<connectors::Failure>(res[0]).kind, connectors::TransportFailure::read);
  EXPECT_FALSE(connectors::may_resend(false, std::get<connectors::Failure>(res[0]).kind));
  // ...and the sandbox did commit it.
  EXPECT_NE(std::get<Response>(res[1]).body.find(job), std::string::npos);
}

TEST_F(SandboxTls, WrongHostIsRefused) {
  start({}, 1, "127.0.0.2");  // the certificate names localhost and 127.0.0.1 only
  auto res = send({get("/crm/v2/Deals")});
  ASSERT_TRUE(std::holds_alternative<connectors::Failure>(res[0]));
  EXPECT_EQ(std::get<connectors::Failure>(res[0]).kind, connectors::TransportFailure::tls);
}

TEST_F(SandboxTls, ExpiredCertificateIsRefused) {
  start({}, 1, "127.0.0.1", -1);
  auto res = send({get("/crm/v2/Deals")});
  ASSERT_TRUE(std::holds_alternative<connectors::Failure>(res[0]));
  EXPECT_EQ(std::get<connectors::Failure>(res[0]).kind, connectors::TransportFailure::tls);
  EXPECT_NE(std::get<connectors::Failure>(res[0]).message.find("expired"), std::string::npos)
      << std::get<connectors::Failure>(res[0]).message;
}

TEST_F(SandboxTls, SelfSignedCertificateIsRefused) {
  start({}, 1, "127.0.0.1", 825, true);
  auto res = send({get("/crm/v2/Deals")});
  ASSERT_TRUE(std::holds_alternative<connectors::Failure>(res[0]));
  EXPECT_EQ(std::get<connectors::Failure>(res[0]).kind, connectors::TransportFailure::tls);
}

}  // namespace
}  // namespace peoplesync
