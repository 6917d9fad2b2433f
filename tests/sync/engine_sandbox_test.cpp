// The sync engine end to end: the example config of PRODUCT.md against the
// sandbox's demo data over real TLS, with the production transport, OAuth,
// clients and state store. People's state is read back through the
// sandbox's admin API, never from the engine's own bookkeeping.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "config/example_config.hpp"
#include "config/loader.hpp"
#include "connectors/beast_transport.hpp"
#include "connectors/crm.hpp"
#include "connectors/people.hpp"
#include "net/http_server.hpp"
#include "net/tls_cert.hpp"
#include "sandbox/sandbox.hpp"
#include "state/store.hpp"
#include "sync/engine.hpp"

namespace peoplesync {
namespace {

namespace fs = std::filesystem;
using connectors::Method;
using connectors::Request;
using connectors::Response;

class FixedRandom final : public connectors::Random {
 public:
  double uniform() override { return 0.5; }
};



struct Timelog {
  std::string id, user, job_id, date, hours, work_item;
};

class EngineSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-engine-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sandbox::Behaviour b;
    b.people_limits = false;
    tweak(b);
    sb_ = std::make_unique<sandbox::Sandbox>(sb_clock_, b, 7);
    sb_->seed_demo(200);
    net::ServerOptions o;
    o.tls = net::ensure_tls_files((dir_ / "tls").string());
    server_ = std::make_unique<net::HttpServer>(server_io_, o, [this](const net::HttpRequest& r) { return sb_->handle(r); });
    server_thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(server_io_);
      server_io_.run();
    });
    base_ = server_->base_url();
    const std::string ca = (dir_ / "tls" / "ca.pem").string();
    std::ofstream(dir_ / "config.yaml") << "zoho:\n  accounts_url: " << base_ << "\n  crm_url: " << base_
                                        << "\n  people_url: " << base_
                                        << "\n  client_id: sandbox-client\n  client_secret: sandbox-secret\n"
                                           "  refresh_token: sandbox-refresh-token\n  ca_file: "
                                        << ca << "\nstate:\n  path: " << (dir_ / "state.db").string()
                                        << "\nservice:\n  listen: \"off\"\n"
                                        << config::example_streams();
    auto lr = config::load_config((dir_ / "config.yaml").string(), {});
    ASSERT_TRUE(lr.ok()) << (lr.errors.empty() ? "" : lr.errors.front().format());
    cfg_ = lr.config;
    connectors::TransportOptions t;
    t.ca_file = ca;
    t.use_system_store = false;
    t.request_timeout = Millis{10'000};
    transport_ = connectors::make_beast_transport(io_.get_executor(), t);
    tokens_ = std::make_unique<connectors::TokenProvider>(*transport_, cfg_->zoho, clock_, sleeper_, random_);
    api_ = std::make_unique<connectors::ZohoApi>(*transport_, *tokens_, clock_, sleeper_, random_);
    crm_ = std::make_unique<connectors::CrmClient>(*api_, base_);
    people_ = std::make_unique<connectors::PeopleClient>(*api_, base_);
    store_ = state::Store::open(cfg_->state.path, clock_);
  }

  void TearDown() override {
    server_io_.stop();
    if (server_thread_.joinable()) server_thread_.join();
    fs::remove_all(dir_);
  }

  sync::RunReport pass(sync::EngineOptions eo = {}) {
    sync::Engine engine(*cfg_, *store_, *crm_, *people_, clock_, eo);
    sync::RunReport out;
    boost::asio::co_spawn(
        io_, [&]() -> boost::asio::awaitable<void> { out = co_await engine.run_once(); }, boost::asio::detached);
    io_.run();
    io_.restart();
    return out;
  }

  Response admin(Method m, const std::string& target, const std::string& body = "") {
    Request r;
    r.method = m;
    r.base_url = base_;
    r.target = "/_admin" + target;
    r.body = body;
    if (!body.empty()) r.content_type = "application/json";
    Response out;
    boost::asio::co_spawn(
        io_,
        [&]() -> boost::asio::awaitable<void> {
          auto res = co_await transport_->send(r);
          if (auto* ok = std::get_if<Response>(&res)) out = *ok;
        },
        boost::asio::detached);
    io_.run();
    io_.restart();
    return out;
  }

  std::vector<Timelog> timelogs() {
    std::vector<Timelog> out;
    const Response r = admin(Method::get, "/people/timelogs");
    simdjson::dom::parser p;
    simdjson::dom::array arr;
    if (p.parse(r.body).get_array().get(arr) != simdjson::SUCCESS) ADD_FAILURE() << "timelogs: " << r.body;
    for (auto t : arr) {
      auto s = [&](const char* k) { return std::string(t[k].get_string().value()); };
      out.push_back({s("id"), s("user"), s("job_id"), s("date"), s("hours"), s("work_item")});
    }
    return out;
  }

  // name -> job count (People), plus the status of each name.
  std::map<std::string, int> job_names(std::map<std::string, std::string>* status = nullptr) {
    std::map<std::string, int> out;
    const Response r = admin(Method::get, "/people/jobs");
    simdjson::dom::parser p;
    simdjson::dom::array arr;
    if (p.parse(r.body).get_array().get(arr) != simdjson::SUCCESS) ADD_FAILURE() << "jobs: " << r.body;
    for (auto j : arr) {
      const std::string name(j["name"].get_string().value());
      ++out[name];
      if (status) (*status)[name] = std::string(j["status"].get_string().value());
    }
    return out;
  }

  std::map<std::string, std::int64_t> write_calls() {
    std::map<std::string, std::int64_t> out;
    const Response r = admin(Method::get, "/stats");
    simdjson::dom::parser p;
    simdjson::dom::object eps;
    if (p.parse(r.body)["endpoints"].get_object().get(eps) != simdjson::SUCCESS) ADD_FAILURE() << "stats: " << r.body;
    for (auto [k, v] : eps) {
      const std::string name(k);
      for (const char* w : {"insertRecord", "updateRecord", "addjob", "modifyjob", "modifyjobstatus", "deletejob",
                            "addupdatetimelogs", "deletetimelog", "/update"})
        if (name.find(w) != std::string::npos) out[name] = v["calls"].get_int64().value();
    }
    return out;
  }

  // The readings of what Zoho leaves uncertain (U) the sandbox uses; the
  // fixture keeps the sandbox's defaults.
  virtual void tweak(sandbox::Behaviour&) {}
  fs::path dir_;
  boost::asio::io_context io_, server_io_;
  std::thread server_thread_;
  sandbox::ScaledClock sb_clock_{1};
  std::unique_ptr<sandbox::Sandbox> sb_;
  std::unique_ptr<net::HttpServer> server_;
  std::string base_;
  config::ConfigPtr cfg_;
  SystemClock clock_;
  connectors::AsioSleeper sleeper_;
  FixedRandom random_;
  std::unique_ptr<connectors::Transport> transport_;
  std::unique_ptr<connectors::TokenProvider> tokens_;
  std::unique_ptr<connectors::ZohoApi> api_;
  std::unique_ptr<connectors::CrmClient> crm_;
  std::unique_ptr<connectors::PeopleClient> people_;
  std::unique_ptr<state::Store> store_;
};

const sync::StreamReport& stream(const sync::RunReport& r, const std::string& name) {
  for (const auto& s : r.streams)
    if (s.stream == name) return s;
  throw std::runtime_error("no stream " + name);
}

TEST_F(EngineSandbox, DealsBecomeJobsCallsBecomeTimeLogsHoursGoBackAndASecondPassWritesNothing) {
  const auto r1 = pass();
  ASSERT_EQ(r1.streams.size(), 3u);
  for (const auto& s : r1.streams) EXPECT_TRUE(s.completed) << s.stream << ": " << s.error;

  // Every job in People is there once, and each is the job the id map names.
  std::map<std::string, std::string> status;
  const auto jobs = job_names(&status);
  EXPECT_EQ(static_cast<std::int64_t>(jobs.size()), stream(r1, "deals").created);
  for (const auto& [name, n] : jobs) EXPECT_EQ(n, 1) << name;
  EXPECT_EQ(store_->id_map_list("deals").size(), jobs.size());
  // The where filter kept the negotiations out; completed deals are completed jobs.
  EXPECT_GT(stream(r1, "deals").filtered, 0);
  EXPECT_GT(stream(r1, "deals").status_changes, 0);
  int completed = 0;
  for (const auto& [name, st] : status) completed += st == "Completed";
  EXPECT_EQ(completed, stream(r1, "deals").status_changes);

  // Time logs: one per synced call, on the job of the call's deal, hours from the duration.
  const auto logs = timelogs();
  const auto mapped = store_->id_map_list("calls");
  EXPECT_EQ(logs.size(), mapped.size());
  EXPECT_GT(logs.size(), 50u);
  std::set<std::string> ids;
  for (const auto& t : logs) ids.insert(t.id);
  for (const auto& m : mapped) EXPECT_TRUE(ids.count(m.target_id)) << m.source_key;
  std::set<std::tuple<std::string, std::string, std::string>> unique;
  for (const auto& t : logs) unique.insert({t.user, t.date, t.work_item});
  EXPECT_EQ(unique.size(), logs.size()) << "a call was logged twice";

  // Hours went back onto every synced deal.
  EXPECT_EQ(stream(r1, "hours_back").updated, static_cast<std::int64_t>(jobs.size()));
  const Response deals = admin(Method::get, "/crm/Deals");
  EXPECT_NE(deals.body.find("Hours_Logged"), std::string::npos);

  // The second pass writes nothing at all, and the calls module answers 304.
  const auto before = write_calls();
  const auto r2 = pass();
  EXPECT_EQ(write_calls(), before);
  for (const auto& s : r2.streams) {
    EXPECT_EQ(s.created + s.updated + s.status_changes + s.deleted, 0) << s.stream;
    EXPECT_TRUE(s.completed) << s.stream;
  }
  EXPECT_TRUE(stream(r2, "calls").not_modified);
}

TEST_F(EngineSandbox, AChangedCallEditsItsTimeLogInPlaceAndADeletedCallDeletesIt) {
  pass();
  const auto mapped = store_->id_map_list("calls");
  ASSERT_GE(mapped.size(), 2u);
  const std::string changed = mapped[0].source_key, gone = mapped[1].source_key;
  const std::string changed_log = mapped[0].target_id, gone_log = mapped[1].target_id;
  const auto before = timelogs();

  // 2 h 30 min on the first call; delete the second in CRM.
  ASSERT_EQ(admin(Method::post, "/crm/Calls", R"({"id":")" + changed + R"(","Call_Duration_in_seconds":9000})").status,
            200);
  ASSERT_EQ(admin(Method::del, "/crm/Calls/" + gone).status, 200);
  const auto r = pass();
  EXPECT_EQ(stream(r, "calls").updated, 1);
  EXPECT_EQ(stream(r, "calls").created, 0);
  EXPECT_EQ(stream(r, "calls").deleted, 1);

  const auto after = timelogs();
  EXPECT_EQ(after.size(), before.size() - 1);
  bool edited = false;
  for (const auto& t : after) {
    EXPECT_NE(t.id, gone_log);
    if (t.id == changed_log) {
      edited = true;
      EXPECT_EQ(t.hours, "02:30");
    }
  }
  EXPECT_TRUE(edited) << "the changed call's time log kept its id";
  EXPECT_EQ(store_->id_map_get("calls", changed)->target_id, changed_log);
  EXPECT_FALSE(store_->id_map_get("calls", gone).has_value());
}

// A deal deleted in CRM completes its job (on_delete: complete); the
// write-back then leaves that job alone: there is no deal to write the hours
// to. (The soak test found every pass sending the update again and
// dead-lettering it with INVALID_DATA.) Nor is the job completed again by
// later passes, which read the last second's deletions again.
TEST_F(EngineSandbox, ADeletedDealCompletesItsJobAndTheWriteBackLeavesItAlone) {
  pass();
  const auto deals = store_->id_map_list("deals");
  ASSERT_FALSE(deals.empty());
  const std::string deal = deals.front().source_key;
  ASSERT_EQ(admin(Method::del, "/crm/Deals/" + deal).status, 200);
  const auto r = pass();
  EXPECT_EQ(stream(r, "deals").deleted, 1);
  EXPECT_EQ(stream(r, "hours_back").dead_lettered, 0);
  EXPECT_TRUE(store_->dead_letters("hours_back").empty());
  const auto before = write_calls();
  const auto again = pass();
  EXPECT_EQ(write_calls(), before);
  for (const auto& s : again.streams) EXPECT_EQ(s.dead_lettered + s.updated + s.created + s.deleted, 0) << s.stream;
  EXPECT_TRUE(store_->dead_letters("hours_back").empty());
}

// When the deals stream stops early (here: every status change fails), the
// calls stream waits for the next pass instead of logging time on jobs whose
// deal is completed but whose status change has not gone out: People must
// end up as if nothing had failed (the soak test found time logs on the
// job of a completed deal after such a pass).
TEST_F(EngineSandbox, AStreamWaitsWhenTheStreamItLooksUpStoppedEarly) {
  ASSERT_EQ(admin(Method::post, "/faults", "error_rate=1,only=modifyjobstatus").status, 200);
  const auto r1 = pass();
  EXPECT_FALSE(stream(r1, "deals").completed);
  EXPECT_GT(stream(r1, "deals").read, 0);
  EXPECT_EQ(r1.outcome, sync::RunOutcome::temporary);
  EXPECT_FALSE(stream(r1, "calls").completed);
  EXPECT_EQ(stream(r1, "calls").read, 0);
  EXPECT_NE(stream(r1, "calls").error.find("not run"), std::string::npos) << stream(r1, "calls").error;
  EXPECT_TRUE(timelogs().empty());
  ASSERT_EQ(admin(Method::post, "/faults", "").status, 200);
  const auto r2 = pass();
  for (const auto& s : r2.streams) EXPECT_TRUE(s.completed) << s.stream << ": " << s.error;
  const Response jobs = admin(Method::get, "/people/jobs");
  simdjson::dom::parser p;
  simdjson::dom::array arr;
  ASSERT_EQ(p.parse(jobs.body).get_array().get(arr), simdjson::SUCCESS) << jobs.body;
  std::set<std::string> completed_jobs;
  for (auto j : arr)
    if (std::string_view(j["status"].get_string().value()) == "Completed")
      completed_jobs.insert(std::string(j["id"].get_string().value()));
  ASSERT_FALSE(completed_jobs.empty());
  const auto logs = timelogs();
  EXPECT_FALSE(logs.empty());
  for (const auto& t : logs) EXPECT_FALSE(completed_jobs.count(t.job_id)) << "time log " << t.id << " on a completed job";
}

TEST_F(EngineSandbox, ADryRunPlansAndTouchesNothing) {
  sync::EngineOptions eo;
  eo.dry_run = true;
  const auto r = pass(eo);
  EXPECT_GT(stream(r, "deals").created, 0);
  EXPECT_GT(stream(r, "calls").created, 0);
  EXPECT_FALSE(stream(r, "deals").plan.empty());
  EXPECT_TRUE(job_names().empty());
  EXPECT_TRUE(timelogs().empty());
  EXPECT_TRUE(store_->id_map_list("deals").empty());
  EXPECT_TRUE(store_->checkpoints().empty());
  EXPECT_TRUE(store_->outbox_list().empty());
  EXPECT_TRUE(store_->dead_letters().empty());
  // What the dry run planned is what the real pass does.
  const auto real = pass();
  EXPECT_EQ(stream(real, "deals").created, stream(r, "deals").created);
  EXPECT_EQ(stream(real, "deals").status_changes, stream(r, "deals").status_changes);
}

TEST_F(EngineSandbox, WritesCutOffAfterTheyLandedAreReconciledNotDoubled) {
  // Half of the write calls are committed by the sandbox and then the
  // connection is closed: every one is in doubt for the engine.
  ASSERT_EQ(admin(Method::post, "/faults", "drop_after=0.5,only=addupdatetimelogs").status, 200);
  int passes = 0;
  std::int64_t reconciled = 0;
  for (; passes < 20; ++passes) {
    const auto r = pass();
    reconciled += stream(r, "calls").reconciled;
    if (stream(r, "calls").completed && stream(r, "calls").parked == 0 && stream(r, "calls").error.empty()) break;
    bool all_done = true;
    for (const auto& s : r.streams) all_done &= s.completed;
    if (all_done) break;
  }
  ASSERT_EQ(admin(Method::post, "/faults", "").status, 200);
  reconciled += stream(pass(), "calls").reconciled;
  EXPECT_GT(reconciled, 0) << "no write was in doubt: the fault did not bite";
  const auto logs = timelogs();
  std::map<std::tuple<std::string, std::string, std::string>, int> seen;
  for (const auto& t : logs) ++seen[{t.user, t.date, t.work_item}];
  for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << std::get<2>(k) << " logged " << n << " times";
  EXPECT_EQ(logs.size(), store_->id_map_list("calls").size());
  EXPECT_TRUE(store_->outbox_list().empty() || [&] {
    for (const auto& e : store_->outbox_list())
      if (e.op != "retry") return false;
    return true;
  }());
}

// Issue "first contact", item 9: with 5 % of calls answered 500, 502 or
// 503 (reads, writes and token grants alike), one pass still ends the
// backfill: an in-doubt add is read back where it happened and the batch goes
// on. A second pass without faults then has nothing left to write, and
// nothing is doubled.
TEST_F(EngineSandbox, ScatteredServerErrorsDoNotEndABackfill) {
  ASSERT_EQ(admin(Method::post, "/faults", "error_rate=0.05").status, 200);
  const auto r1 = pass();
  ASSERT_EQ(admin(Method::post, "/faults", "").status, 200);
  for (const auto& s : r1.streams) EXPECT_TRUE(s.completed) << s.stream << ": " << s.error;
  EXPECT_NE(r1.outcome, sync::RunOutcome::temporary);
  const Response stats = admin(Method::get, "/stats");
  EXPECT_NE(stats.body.find(R"("error":)"), std::string::npos) << "no fault was injected: " << stats.body;
  const auto r2 = pass();
  for (const auto& s : r2.streams) {
    EXPECT_TRUE(s.completed) << s.stream;
    EXPECT_EQ(s.created + s.status_changes + s.deleted, 0) << s.stream << " had work left after the faulty pass";
  }
  for (const auto& [name, n] : job_names()) EXPECT_EQ(n, 1) << name;
  std::map<std::tuple<std::string, std::string, std::string>, int> seen;
  const auto logs = timelogs();
  for (const auto& t : logs) ++seen[{t.user, t.date, t.work_item}];
  for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << std::get<2>(k) << " logged " << n << " times";
  EXPECT_EQ(logs.size(), store_->id_map_list("calls").size());
}

// Item 10: an admin's mass update stamps 5,000 calls with one Modified_Time
// second; with CRM v2's 2,000-record `page` cap and no page_token the walk
// gets past that second by id (COQL), and every call arrives once.
TEST_F(EngineSandbox, AMassUpdatedSecondPastThePagingCapArrivesOnce) {
  pass();
  const auto mapped = store_->id_map_list("calls");
  ASSERT_FALSE(mapped.empty());
  // A call that got a time log: its deal has an open job.
  const Response calls = admin(Method::get, "/crm/Calls");
  simdjson::dom::parser p;
  simdjson::dom::array arr;
  ASSERT_EQ(p.parse(calls.body).get_array().get(arr), simdjson::SUCCESS) << calls.body;
  std::string body;
  for (auto c : arr) {
    if (std::string(c["id"].get_string().value()) != mapped.front().source_key) continue;
    body = R"({"Subject":"Mass {n}","Call_Duration_in_seconds":600,"What_Id":)" + simdjson::minify(c["What_Id"]) +
           R"(,"Owner":)" + simdjson::minify(c["Owner"]) + R"(,"Call_Start_Time":)" +
           simdjson::minify(c["Call_Start_Time"]) + "}";
  }
  ASSERT_FALSE(body.empty());
  ASSERT_EQ(admin(Method::post, "/crm/Calls/mass_update?count=5000", body).status, 200);

  const auto r = pass();
  EXPECT_TRUE(stream(r, "calls").completed) << stream(r, "calls").error;
  EXPECT_EQ(stream(r, "calls").created, 5000);
  const Response stats = admin(Method::get, "/stats");
  EXPECT_NE(stats.body.find("crm/coql"), std::string::npos) << "the crowded second was not walked by id";
  std::map<std::string, int> mass;
  for (const auto& t : timelogs())
    if (t.work_item.rfind("Mass ", 0) == 0) ++mass[t.work_item];
  EXPECT_EQ(mass.size(), 5000u);
  for (const auto& [k, n] : mass) EXPECT_EQ(n, 1) << k;
  // The next pass finds nothing new in that second.
  const auto again = pass();
  EXPECT_EQ(stream(again, "calls").created + stream(again, "calls").updated, 0);
  EXPECT_TRUE(stream(again, "calls").completed) << stream(again, "calls").error;
}

// Item 2: a revoked access token (People answers 7202 in its own envelope,
// CRM 401 INVALID_TOKEN) is refreshed once and the call repeated: a
// revocation costs a refresh, not a record.
TEST_F(EngineSandbox, RevokedAccessTokensCostARefreshNotARecord) {
  pass();
  const auto dead_before = store_->dead_letters().size();
  ASSERT_EQ(admin(Method::post, "/crm/Calls",
                  R"({"id":")" + store_->id_map_list("calls").front().source_key + R"(","Call_Duration_in_seconds":7200})")
                .status,
            200);
  const int grants_before = tokens_->refreshes();
  ASSERT_EQ(admin(Method::post, "/revoke?access_tokens=all").status, 200);
  const auto r = pass();
  for (const auto& s : r.streams) EXPECT_TRUE(s.completed) << s.stream << ": " << s.error;
  EXPECT_EQ(stream(r, "calls").updated, 1);
  EXPECT_EQ(tokens_->refreshes(), grants_before + 1);
  EXPECT_EQ(store_->dead_letters().size(), dead_before);
  // The pass's first call (CRM's, 401 INVALID_TOKEN, or People's, 7202)
  // met the revocation; connectors_test covers People's 7202 call by call.
  const std::string stats = admin(Method::get, "/stats").body;
  EXPECT_TRUE(stats.find("INVALID_TOKEN") != std::string::npos || stats.find("7202") != std::string::npos) << stats;
}

// The same sync against the other reading of every uncertain fact: bulk
// items echoed as sent, empty lists as [] with "result", workItem in
// gettimelogs, People errors and auth failures with HTTP 200, an employee
// search without a hit answered [] (the fixture runs the defaults).
class EngineSandboxOtherReadings : public EngineSandbox {
 protected:
  void tweak(sandbox::Behaviour& b) override {
    b.timelog_echo = "verbatim";
    b.people_empty_list = "empty_array";
    b.timelog_work_item = true;
    b.people_http_error_status = "200";
    b.people_auth_http_status = "200";
    b.employee_no_hit = "empty_array";
  }
};

TEST_F(EngineSandboxOtherReadings, TheBackfillIsTheSame) {
  const auto r1 = pass();
  for (const auto& s : r1.streams) EXPECT_TRUE(s.completed) << s.stream << ": " << s.error;
  const auto logs = timelogs();
  EXPECT_EQ(logs.size(), store_->id_map_list("calls").size());
  EXPECT_GT(logs.size(), 50u);
  // The refused calls (their jobs are completed) are dead letters with 9025.
  bool refused = false;
  for (const auto& d : store_->dead_letters()) refused |= d.vendor_code == "9025";
  EXPECT_TRUE(refused);
  const auto r2 = pass();
  for (const auto& s : r2.streams) EXPECT_EQ(s.created + s.updated, 0) << s.stream;
}

}  // namespace
}  // namespace peoplesync
