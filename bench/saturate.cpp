#include "bench/saturate.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <variant>

#include "config/catalog.hpp"
#include "connectors/beast_transport.hpp"
#include "connectors/people.hpp"
#include "net/http_server.hpp"
#include "net/tls_cert.hpp"
#include "sandbox/sandbox.hpp"
#include "state/store.hpp"
#include "sync/scheduler.hpp"

namespace peoplesync::bench {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using Steady = std::chrono::steady_clock::time_point;
using AdmissionLog = std::map<std::string, std::vector<Steady>>;

constexpr const char* kTimelogs = "people/addupdatetimelogs";
constexpr const char* kRefs = "people/getRecordIdsByReferenceIds";

// Built outside coroutine bodies: g++ 12 miscompiles initialiser lists of
// string literals there.
const std::string kService = "Zoho Projects";
const std::string kEntity = "project";
std::vector<std::string> reference_ids() { return {"PRJ-1", "PRJ-2", "PRJ-3"}; }

class HalfRandom final : public connectors::Random {
 public:
  double uniform() override { return 0.5; }
};

// Forwards to the scheduler and notes when each call was admitted.
class RecordingGate final : public connectors::CallGate {
 public:
  RecordingGate(connectors::CallGate& inner, const Clock& clock, AdmissionLog& log)
      : inner_(inner), clock_(clock), log_(log) {}
  asio::awaitable<connectors::AdmissionPtr> admit(const std::string& endpoint, int cost) override {
    connectors::AdmissionPtr a = co_await inner_.admit(endpoint, cost);
    log_[endpoint].push_back(clock_.steady_now());
    co_return a;
  }
  void limited(const std::string& endpoint, connectors::LimitSignal signal, std::optional<Millis> after) override {
    inner_.limited(endpoint, signal, after);
  }

 private:
  connectors::CallGate& inner_;
  const Clock& clock_;
  AdmissionLog& log_;
};

// The sandbox on its own thread and io_context, over TLS.
class Server {
 public:
  Server(const Clock& clock, const std::string& tls_dir, std::uint64_t seed) {
    sandbox::Behaviour b;  // sliding 60 s window, 5-minute locks, documented thresholds
    sandbox_ = std::make_unique<sandbox::Sandbox>(clock, b, seed);
    sandbox_->seed_demo(50);
    net::ServerOptions o;
    o.tls = net::ensure_tls_files(tls_dir);
    http_ = std::make_unique<net::HttpServer>(io_, o, [this](const net::HttpRequest& r) { return sandbox_->handle(r); });
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~Server() {
    io_.stop();
    thread_.join();
  }
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(http_->port()); }

 private:
  asio::io_context io_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<net::HttpServer> http_;
  std::thread thread_;
};

struct Counts {
  std::int64_t ok = 0, locked = 0, other = 0;
};

// One client process: everything the daemon would build, on its own
// io_context (declared first: destroyed last, after the objects whose
// coroutine frames it may still hold when the process is "killed").
class Process {
 public:
  Process(const Clock& clock, connectors::Sleeper& sleeper, const std::string& base_url, const std::string& ca_file,
          const std::string& state_path, const SaturateOptions& o, AdmissionLog& log)
      : transport_(connectors::make_beast_transport(io_.get_executor(), transport_options(ca_file))),
        zoho_(zoho(base_url)),
        tokens_(*transport_, zoho_, clock, sleeper, random_),
        api_(*transport_, tokens_, clock, sleeper, random_),
        people_(api_, base_url),
        store_(state_path.empty() ? nullptr : state::Store::open(state_path, clock)),
        scheduler_(limits(o.limit_factor), store_.get(), clock, sleeper, scheduler_options(o)),
        gate_(scheduler_, clock, log),
        clock_(clock),
        sleeper_(sleeper) {
    api_.set_gate(gate_);
  }

  // Saturates until `end` (sandbox time), then stops everything at once:
  // calls in flight and callers waiting for admission are abandoned, as
  // when the process is killed.
  void run_until(Steady end, const std::vector<std::string>& endpoints, int workers, std::map<std::string, Counts>& counts) {
    asio::co_spawn(io_, start(end, endpoints, workers, counts), asio::detached);
    asio::co_spawn(io_, stop_at(end), asio::detached);
    io_.run();
  }

 private:
  static connectors::TransportOptions transport_options(const std::string& ca_file) {
    connectors::TransportOptions t;
    t.ca_file = ca_file;
    t.use_system_store = false;
    t.request_timeout = Millis{10'000};
    return t;
  }
  static config::Zoho zoho(const std::string& base_url) {
    config::Zoho z;
    z.accounts_url = base_url;
    z.crm_url = base_url;
    z.people_url = base_url;
    z.client_id = "sandbox-client";
    z.client_secret.value = "sandbox-secret";
    z.refresh_token.value = "sandbox-refresh-token";
    return z;
  }
  static std::map<std::string, config::Limit> limits(double factor) {
    std::map<std::string, config::Limit> out;
    for (const auto& e : config::endpoint_defaults()) {
      config::Limit l = e.limit;
      l.per_minute = static_cast<int>(l.per_minute * factor);
      out.emplace(std::string(e.name), l);
    }
    return out;
  }
  static sync::SchedulerOptions scheduler_options(const SaturateOptions& o) {
    sync::SchedulerOptions s;
    s.margin = o.margin;
    return s;
  }

  // Finds a job to log time against (one getjobs call per process), then starts the workers.
  asio::awaitable<void> start(Steady end, std::vector<std::string> endpoints, int workers,
                              std::map<std::string, Counts>& counts) {
    connectors::JobQuery q;
    q.limit = 1;
    auto jobs = co_await people_.get_jobs(q);
    if (auto* page = std::get_if<connectors::Page<connectors::PeopleJob>>(&jobs); page && !page->items.empty())
      job_id_ = page->items.front().id;
    for (const auto& ep : endpoints)
      for (int w = 0; w < workers; ++w) asio::co_spawn(io_, worker(ep, end, counts[ep]), asio::detached);
  }

  asio::awaitable<void> worker(std::string endpoint, Steady end, Counts& counts) {
    while (clock_.steady_now() < end) {
      std::optional<connectors::CallError> error;
      if (endpoint == kTimelogs) {
        connectors::TimelogInput t;
        t.user = "ann.lee@example.com";
        t.job_id = job_id_;
        t.timelog_id = timelog_id_;  // after the first: edits, so the job's hours stay put
        t.date = "2024-01-02";
        t.hours = "01:00";
        const std::vector<connectors::TimelogInput> items{t};
        auto r = co_await people_.add_update_timelogs(items);
        if (auto* e = std::get_if<connectors::CallError>(&r)) error = *e;
        else if (auto& done = std::get<connectors::BulkTimelogResult>(r).items; !done.empty() && timelog_id_.empty())
          timelog_id_ = done.front().timelog_id;
      } else {
        auto r = co_await people_.record_ids_by_reference(kService, kEntity, reference_ids());
        if (auto* e = std::get_if<connectors::CallError>(&r)) error = *e;
      }
      if (!error) ++counts.ok;
      else if (error->outcome == connectors::Outcome::locked) ++counts.locked;
      else ++counts.other;
    }
  }

  asio::awaitable<void> stop_at(Steady end) {
    const Steady now = clock_.steady_now();
    if (end > now) co_await sleeper_.sleep_for(std::chrono::ceil<Millis>(end - now));
    io_.stop();
  }

  asio::io_context io_;
  std::unique_ptr<connectors::Transport> transport_;
  config::Zoho zoho_;
  HalfRandom random_;
  connectors::TokenProvider tokens_;
  connectors::ZohoApi api_;
  connectors::PeopleClient people_;
  std::unique_ptr<state::Store> store_;
  sync::Scheduler scheduler_;
  RecordingGate gate_;
  const Clock& clock_;
  connectors::Sleeper& sleeper_;
  std::string job_id_ = "0";
  std::string timelog_id_;
};

// What the sandbox counted, read over its admin API on a connection of its own.
std::string fetch_stats(const std::string& base_url, const std::string& ca_file) {
  asio::io_context io;
  connectors::TransportOptions t;
  t.ca_file = ca_file;
  t.use_system_store = false;
  auto transport = connectors::make_beast_transport(io.get_executor(), t);
  std::string out;
  auto get = [&]() -> asio::awaitable<void> {
    connectors::Request r;
    r.base_url = base_url;
    r.target = "/_admin/stats";
    r.endpoint = "admin";
    connectors::Result res = co_await transport->send(r);
    if (auto* ok = std::get_if<connectors::Response>(&res)) out = ok->body;
  };
  asio::co_spawn(io, get(), asio::detached);
  io.run();
  return out;
}

std::map<std::string, std::array<std::int64_t, 3>> parse_stats(const std::string& json) {
  std::map<std::string, std::array<std::int64_t, 3>> out;
  if (json.empty()) return out;
  simdjson::dom::parser parser;
  simdjson::dom::object endpoints;
  if (parser.parse(json)["endpoints"].get_object().get(endpoints) != simdjson::SUCCESS) return out;
  for (auto [name, v] : endpoints) {
    auto number = [&](const char* key) {
      std::int64_t n = 0;
      return v[key].get_int64().get(n) == simdjson::SUCCESS ? n : std::int64_t{0};
    };
    out[std::string(name)] = {number("calls"), number("lock_events"), number("locked_replies")};
  }
  return out;
}

}  // namespace

asio::awaitable<void> ScaledSleeper::sleep_for(Millis d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto real = std::chrono::nanoseconds{
      static_cast<std::int64_t>(std::ceil(static_cast<double>(d.count()) * 1e6 / scale_))};
  timer.expires_after(real);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

int max_in_window(std::vector<Steady> times, Millis length) {
  std::sort(times.begin(), times.end());
  int best = 0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    j = std::max(j, i);
    while (j < times.size() && times[j] <= times[i] + length) ++j;
    best = std::max(best, static_cast<int>(j - i));
  }
  return best;
}

SaturateResult saturate(const SaturateOptions& o) {
  if (o.time_scale <= 0) throw std::runtime_error("time scale must be positive");
  fs::create_directories(o.work_dir);
  const std::string state_path = (fs::path(o.work_dir) / "state.db").string();
  fs::remove(state_path);
  fs::remove(state_path + "-wal");
  fs::remove(state_path + "-shm");

  const auto wall_start = std::chrono::steady_clock::now();
  sandbox::ScaledClock clock(o.time_scale);
  ScaledSleeper sleeper(o.time_scale);
  Server server(clock, (fs::path(o.work_dir) / "tls").string(), o.seed);
  const std::string ca = (fs::path(o.work_dir) / "tls" / "ca.pem").string();

  AdmissionLog log;
  std::map<std::string, Counts> counts;
  const Steady start = clock.steady_now();
  const Steady end = start + o.duration;
  const int processes = std::max(0, o.restarts) + 1;
  for (int p = 0; p < processes; ++p) {
    // Kill points at equal shares of the run (mid-window for the defaults).
    const Steady segment_end = p + 1 == processes ? end : start + o.duration * (p + 1) / processes;
    Process proc(clock, sleeper, server.base_url(), ca, o.persist ? state_path : std::string{}, o, log);
    proc.run_until(segment_end, o.endpoints, o.workers_per_endpoint, counts);
  }
  const auto server_stats = parse_stats(fetch_stats(server.base_url(), ca));

  SaturateResult result;
  result.processes = processes;
  for (const auto& ep : o.endpoints) {
    EndpointOutcome r;
    r.endpoint = ep;
    const auto* def = config::find_endpoint(ep);
    r.per_minute = def ? def->limit.per_minute : 0;
    auto& times = log[ep];
    std::sort(times.begin(), times.end());
    r.admitted = static_cast<std::int64_t>(times.size());
    r.ok = counts[ep].ok;
    r.locked_replies = counts[ep].locked;
    r.other_errors = counts[ep].other;
    if (auto it = server_stats.find(ep); it != server_stats.end()) {
      r.server_calls = it->second[0];
      r.server_lock_events = it->second[1];
      r.server_locked_replies = it->second[2];
    }
    r.max_in_60s = max_in_window(times, Millis{60'000});
    const auto n = static_cast<std::size_t>(r.per_minute);
    if (n > 0 && times.size() > n) {
      double spans = 0;
      for (std::size_t i = 0; i + n < times.size(); ++i)
        spans += std::chrono::duration<double>(times[i + n] - times[i]).count();
      r.steady_share = 60.0 * static_cast<double>(times.size() - n) / spans;
      r.run_share = static_cast<double>(times.size()) /
                        (r.per_minute * std::chrono::duration<double>(o.duration).count() / 60.0);
    }
    result.endpoints.push_back(r);
  }
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

}  // namespace peoplesync::bench
