#pragma once
// The real connectors (Beast/OpenSSL transport, TokenProvider, ZohoApi, CRM and
// People clients) against an in-process peoplesync-sandbox over TLS. The
// sandbox serves on its own thread and io_context; the client runs on the
// test's io_context and trusts only the sandbox's CA. Client-side waits
// (backoff, token throttling) use a VirtualSleeper on a ManualClock, so no
// test sleeps on the wall clock; the sandbox runs on a clock the test can
// scale and jump (token expiry, lock periods).
//
// Every assertion about what happened on the wire reads one of two
// independent counters: the sandbox's own admin stats (what the server saw)
// and a counting wrapper around the transport (what the client sent).
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/timefmt.hpp"
#include "connectors/beast_transport.hpp"
#include "connectors/crm.hpp"
#include "connectors/people.hpp"
#include "net/http_server.hpp"
#include "net/tls_cert.hpp"
#include "sandbox/sandbox.hpp"

namespace peoplesync::integration {

namespace fs = std::filesystem;
using namespace connectors;

// The sandbox's clock: real time since start times `scale`, plus whatever
// the test jumps forward. Read on the server thread, jumped on the test's.
class JumpClock final : public Clock {
 public:
  explicit JumpClock(double scale)
      : scale_(scale), start_(std::chrono::steady_clock::now()), epoch_(std::chrono::system_clock::now()) {}
  SysTime now() const override { return epoch_ + elapsed(); }
  std::chrono::steady_clock::time_point steady_now() const override { return start_ + elapsed(); }
  void jump(Millis d) { offset_ms_ += d.count(); }

 private:
  Millis elapsed() const {
    const auto real = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_);
    return Millis{static_cast<std::int64_t>(real.count() * scale_)} + Millis{offset_ms_.load()};
  }
  double scale_;
  std::chrono::steady_clock::time_point start_;
  SysTime epoch_;
  std::atomic<std::int64_t> offset_ms_{0};
};

class FixedRandom final : public Random {
 public:
  double uniform() override { return 0.5; }
};

// Wraps the real transport: records every request the client put on the
// wire and what came back.
class CountingTransport final : public Transport {
 public:
  struct Sent {
    Request request;
    Result result;
  };
  explicit CountingTransport(Transport& inner) : inner_(inner) {}
  boost::asio::awaitable<Result> send(Request request) override {
    Request copy = request;
    Result r = co_await inner_.send(std::move(request));
    sent_.push_back({std::move(copy), r});
    co_return r;
  }
  int count(std::string_view endpoint) const {
    int n = 0;
    for (const auto& s : sent_) n += s.request.endpoint == endpoint ? 1 : 0;
    return n;
  }
  int total() const { return static_cast<int>(sent_.size()); }
  const std::vector<Sent>& sent() const { return sent_; }

 private:
  Transport& inner_;
  std::vector<Sent> sent_;
};

// Simulated waiting: advances the client's ManualClock (VirtualSleeper,
// which records every wait) and moves the sandbox's clock as far, so both
// sides see the same time pass. Nothing sleeps on the wall clock.
class SimSleeper final : public Sleeper {
 public:
  explicit SimSleeper(ManualClock& client) : inner_(client) {}
  void follow(JumpClock& sandbox) { sandbox_ = &sandbox; }
  boost::asio::awaitable<void> sleep_for(Millis d) override {
    if (sandbox_) sandbox_->jump(d);
    co_await inner_.sleep_for(d);
  }
  const std::vector<Millis>& waits() const { return inner_.waits(); }

 private:
  VirtualSleeper inner_;
  JumpClock* sandbox_ = nullptr;
};

// Records limit signals (ZohoApi and PeopleClient report locks and 429s here).
class RecordingGate final : public CallGate {
 public:
  boost::asio::awaitable<AdmissionPtr> admit(const std::string& endpoint, int cost) override {
    admitted.emplace_back(endpoint, cost);
    co_return nullptr;
  }
  void limited(const std::string& endpoint, LimitSignal signal, std::optional<Millis>) override {
    signals.emplace_back(endpoint, signal);
  }
  std::vector<std::pair<std::string, int>> admitted;
  std::vector<std::pair<std::string, LimitSignal>> signals;
};

// What the sandbox counted for one endpoint ("crm/Calls", "people/getjobs",
// "accounts/token", ...).
struct EndpointCount {
  std::int64_t calls = 0;
  std::int64_t lock_events = 0;
  std::map<std::string, std::int64_t> errors;
};

struct SandboxOptions {
  sandbox::Behaviour behaviour;
  double time_scale = 1;
  std::string host = "127.0.0.1";
  int cert_days = 825;       // < 0: an expired server certificate
  bool self_signed = false;  // the server certificate signs itself
  std::string seed_json;     // empty: seed_demo(20)
};

// "2024-05-01T10:00:00+00:00", as CRM writes times.
inline std::string crm_time(SysTime t) {
  std::string s = format_utc_iso_seconds(t);
  s.pop_back();
  return s + "+00:00";
}
// "yyyy-MM-dd" of the sandbox's today plus `days`.
inline std::string day(const Clock& clock, int days) {
  return format_utc_iso_seconds(clock.now() + std::chrono::hours(24 * days)).substr(0, 10);
}

class SandboxFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-integ-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    server_io_.stop();
    if (server_thread_.joinable()) server_thread_.join();
    fs::remove_all(dir_);
  }

  void start(SandboxOptions o = {}, BackoffPolicy backoff = BackoffPolicy{Millis{100}, Millis{1000}, 4}) {
    sandbox_clock_ = std::make_unique<JumpClock>(o.time_scale);
    sleeper_.follow(*sandbox_clock_);
    sb_ = std::make_unique<sandbox::Sandbox>(*sandbox_clock_, o.behaviour, 11);
    if (o.seed_json.empty()) {
      sb_->seed_demo(20);
    } else if (auto err = sb_->seed_json(o.seed_json)) {
      FAIL() << "seed: " << *err;
    }
    net::ServerOptions so;
    so.host = o.host;
    so.tls = net::ensure_tls_files((dir_ / "tls").string(), o.cert_days, o.self_signed);
    server_ = std::make_unique<net::HttpServer>(server_io_, so, [this](const net::HttpRequest& r) { return sb_->handle(r); });
    server_thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(server_io_);
      server_io_.run();
    });
    base_ = "https://" + o.host + ":" + std::to_string(server_->port());

    TransportOptions t;
    t.ca_file = (dir_ / "tls" / "ca.pem").string();  // trust only the sandbox's CA
    t.use_system_store = false;
    t.connect_timeout = Millis{3000};
    t.request_timeout = Millis{10'000};
    t.io_timeout = Millis{5000};
    wire_ = make_beast_transport(io_.get_executor(), t);
    transport_ = std::make_unique<CountingTransport>(*wire_);

    zoho_.accounts_url = zoho_.crm_url = zoho_.people_url = base_;
    zoho_.client_id = o.behaviour.client_id;
    zoho_.client_secret = {o.behaviour.client_secret, "test client_secret"};
    zoho_.refresh_token = {o.behaviour.refresh_tokens.front(), "test refresh_token"};
    tokens_ = std::make_unique<TokenProvider>(*transport_, zoho_, client_clock_, sleeper_, random_);
    api_ = std::make_unique<ZohoApi>(*transport_, *tokens_, client_clock_, sleeper_, random_, backoff);
    api_->set_gate(gate_);
    crm_ = std::make_unique<CrmClient>(*api_, zoho_.crm_url);
    people_ = std::make_unique<PeopleClient>(*api_, zoho_.people_url);
  }

  // Runs one client coroutine to completion on the test's io_context.
  template <class T>
  T run(boost::asio::awaitable<T> a) {
    std::optional<T> out;
    std::exception_ptr error;
    boost::asio::co_spawn(io_, std::move(a), [&](std::exception_ptr e, T v) {
      error = e;
      if (!e) out.emplace(std::move(v));
    });
    io_.run();
    io_.restart();
    if (error) std::rethrow_exception(error);
    return std::move(*out);
  }

  // The admin API, called on the sandbox's own thread (no socket: it is not
  // a client call and changes no count).
  net::HttpReply admin(std::string method, std::string target, std::string body = "") {
    net::HttpRequest r;
    r.method = std::move(method);
    r.target = target;
    const auto qm = target.find('?');
    r.path = net::url_decode(target.substr(0, qm), false);
    if (qm != std::string::npos) r.query = net::parse_params(target.substr(qm + 1));
    r.body = std::move(body);
    r.remote_address = "127.0.0.1";
    std::promise<net::HttpReply> done;
    boost::asio::post(server_io_, [&] { done.set_value(sb_->handle(r)); });
    return done.get_future().get();
  }

  void set_faults(const std::string& spec) {
    ASSERT_EQ(admin("POST", "/_admin/faults?spec=" + connectors::url_encode(spec)).status, 200) << spec;
  }

  std::map<std::string, EndpointCount> stats() {
    const net::HttpReply reply = admin("GET", "/_admin/stats");
    std::map<std::string, EndpointCount> out;
    simdjson::dom::parser p;
    simdjson::dom::object eps;
    if (p.parse(reply.body)["endpoints"].get_object().get(eps) != simdjson::SUCCESS) {
      ADD_FAILURE() << "admin stats: " << reply.body;
      return out;
    }
    for (auto [name, v] : eps) {
      EndpointCount c;
      c.calls = std::int64_t(v["calls"]);
      c.lock_events = std::int64_t(v["lock_events"]);
      for (auto [code, n] : simdjson::dom::object(v["errors"])) c.errors[std::string(code)] = std::int64_t(n);
      out[std::string(name)] = c;
    }
    return out;
  }
  std::int64_t calls(const std::string& endpoint) {
    auto s = stats();
    auto it = s.find(endpoint);
    return it == s.end() ? 0 : it->second.calls;
  }
  // Total calls the sandbox counted, over every endpoint.
  std::int64_t all_calls() {
    std::int64_t n = 0;
    for (const auto& [k, v] : stats()) n += v.calls;
    return n;
  }

  // One admin list ("jobs", "timelogs", "projects", "clients") as JSON text.
  std::string people_admin(const std::string& what) { return admin("GET", "/_admin/people/" + what).body; }

  CrmClient& crm() { return *crm_; }
  PeopleClient& people() { return *people_; }

  fs::path dir_;
  boost::asio::io_context io_;         // the client's
  boost::asio::io_context server_io_;  // the sandbox's
  std::thread server_thread_;
  std::unique_ptr<JumpClock> sandbox_clock_;
  std::unique_ptr<sandbox::Sandbox> sb_;
  std::unique_ptr<net::HttpServer> server_;
  std::string base_;

  std::unique_ptr<Transport> wire_;
  std::unique_ptr<CountingTransport> transport_;
  config::Zoho zoho_;
  ManualClock client_clock_;
  SimSleeper sleeper_{client_clock_};
  FixedRandom random_;
  RecordingGate gate_;
  std::unique_ptr<TokenProvider> tokens_;
  std::unique_ptr<ZohoApi> api_;
  std::unique_ptr<CrmClient> crm_;
  std::unique_ptr<PeopleClient> people_;
};

// The error of an Expected, or a failure naming what came back instead.
template <class T>
CallError error_of(const Expected<T>& e) {
  if (auto* err = std::get_if<CallError>(&e)) return *err;
  ADD_FAILURE() << "expected an error, got a result";
  return {};
}

#define ASSERT_OK(expected)                                                                      \
  ASSERT_TRUE(std::holds_alternative<std::decay_t<decltype(std::get<0>(expected))>>(expected)) \
      << std::get<CallError>(expected).message

}  // namespace peoplesync::integration
