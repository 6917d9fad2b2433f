// The whole engine (sync::Engine) with the real People and CRM clients,
// ZohoApi and TokenProvider over a scripted Zoho (support/fake_zoho.hpp), a
// manual clock, a virtual sleeper and a real state store in a temp dir:
// parking and its limit, the completed-project dead letter, reconcile of
// intents left "sent", the settled-a-minute checkpoint rule, the per-record
// results of a CRM write-back, and a job refused for good. No network, no
// wall clock, no sleeps.
#include "sync/engine.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>
#include <set>

#include "common/timefmt.hpp"
#include "config/loader.hpp"
#include "connectors/crm.hpp"
#include "connectors/oauth.hpp"
#include "connectors/people.hpp"
#include "connectors/sleeper.hpp"
#include "state/outbox_ops.hpp"
#include "state/store.hpp"
#include "support/fake_zoho.hpp"
#include "sync/intent.hpp"
#include "sync/mapper.hpp"

namespace peoplesync::sync {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using connectors::Request;
using connectors::Result;
using peoplesync::testing::FakeCrmModule;
using peoplesync::testing::FakeZoho;
using peoplesync::testing::json_reply;
using peoplesync::testing::people_error;
using peoplesync::testing::people_result;
using peoplesync::testing::request_param;

class HalfRandom final : public connectors::Random {
 public:
  double uniform() override { return 0.5; }
};

// Answers a mapping's resolvers as the test says, to compute the id-map hash
// the engine will compute for a record.
class KnownAnswers final : public Resolvers {
 public:
  std::map<std::string, std::string> refs;  // reference id -> People id
  std::optional<std::string> resolve(const std::string&, const std::string&, const std::string& ref) override {
    auto it = refs.find(ref);
    if (it == refs.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> lookup(const std::string&, const std::string&) override { return std::nullopt; }
  std::optional<std::string> project(const std::string&) override { return std::nullopt; }
};

constexpr const char* kZoho =
    "zoho:\n"
    "  accounts_url: https://accounts.example\n"
    "  crm_url: https://crm.example\n"
    "  people_url: https://people.example\n"
    "  client_id: x\n  client_secret: y\n  refresh_token: z\n"
    "people:\n  date_format: dd-MMM-yyyy\n";

// Deals -> People jobs; the project is a Zoho Projects reference People
// resolves; the assignee is an erecno (no employee lookup).
constexpr const char* kDealsStream =
    "  - name: deals\n"
    "    from: {crm: Deals}\n"
    "    to: people.job\n"
    "    map:\n"
    "      jobName: \"{Deal_Name}\"\n"
    "      projectId: {resolve: {service: Zoho Projects, entity: project, ref: \"{Project_Ref}\"}}\n"
    "      fromDate: \"{Start_Date}\"\n"
    "      toDate: \"{Closing_Date}\"\n"
    "      assignees: [{assignedTo: \"5001\", hours: \"40:00\"}]\n";

constexpr const char* kCallsStream =
    "  - name: calls\n"
    "    from: {crm: Calls}\n"
    "    to: people.timelog\n"
    "    map:\n"
    "      user: \"{Owner.email}\"\n"
    "      jobId: \"{Job}\"\n"
    "      date: \"{Day}\"\n"
    "      hours: \"{Hours}\"\n"
    "      workItem: \"{Subject}\"\n";

constexpr const char* kHoursBackStream =
    "  - name: hours_back\n"
    "    from: {people: jobs, of_stream: deals}\n"
    "    to: crm.update\n"
    "    module: Deals\n"
    "    map:\n"
    "      Hours_Logged: \"{totalhours|hours_decimal}\"\n";

constexpr const char* kGetProjects = "/people/api/timetracker/getprojects";
constexpr const char* kReferences = "/people/api/timetracker/getRecordIdsByReferenceIds";
constexpr const char* kInsertJob = "/people/api/forms/json/P_TimesheetJob/insertRecord";
constexpr const char* kGetJobs = "/people/api/timetracker/getjobs";
constexpr const char* kGetTimelogs = "/people/api/timetracker/gettimelogs";
constexpr const char* kAddTimelogs = "/people/api/timetracker/addupdatetimelogs";
constexpr const char* kDeals = "/crm/v2/Deals";
constexpr const char* kCalls = "/crm/v2/Calls";
constexpr const char* kCrmFields = "/crm/v2/settings/fields";

// A deal as CRM answers it (the members after id and Modified_Time).
std::string deal_fields(const std::string& name, const std::string& project_ref) {
  return R"("Deal_Name":")" + name + R"(","Project_Ref":")" + project_ref +
         R"(","Start_Date":"2023-11-01","Closing_Date":"2023-12-31","Stage":"Delivery")";
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-engine-unit-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = state::Store::open((dir_ / "state.db").string(), clock_);
    zoho_.on(kDeals, [this](const Request& r) { return deals_.answer(r); });
    zoho_.on(kCalls, [this](const Request& r) { return calls_.answer(r); });
    // People resolves the references the test put in `synced_`; the others
    // are absent from the result, as People answers for ids not synced yet.
    zoho_.on(kReferences, [this](const Request& r) -> Result {
      std::string result = "{";
      std::string ids = request_param(r, "referenceId") + ",";
      for (std::size_t at = 0, comma; (comma = ids.find(',', at)) != std::string::npos; at = comma + 1) {
        auto it = synced_.find(ids.substr(at, comma - at));
        if (it == synced_.end()) continue;
        result += (result.size() > 1 ? "," : "") + std::string("\"") + it->first + R"(":")" + it->second + "\"";
      }
      return people_result(result + "}");
    });
    zoho_.on(kGetProjects, [this](const Request&) -> Result { return people_result(projects_json_); });
  }

  void TearDown() override {
    EXPECT_TRUE(zoho_.unrouted().empty()) << "asked for " << zoho_.unrouted().front();
    fs::remove_all(dir_);
  }

  void load(const std::string& streams) {
    config::LoadOptions lo;
    lo.require_secrets = false;
    auto lr = config::load_config_text(std::string(kZoho) + "streams:\n" + streams, "engine.yaml", lo);
    ASSERT_TRUE(lr.ok()) << (lr.errors.empty() ? "" : lr.errors.front().format());
    cfg_ = lr.config;
    tokens_ = std::make_unique<connectors::TokenProvider>(zoho_.transport, cfg_->zoho, clock_, sleeper_, random_);
    api_ = std::make_unique<connectors::ZohoApi>(zoho_.transport, *tokens_, clock_, sleeper_, random_);
    crm_ = std::make_unique<connectors::CrmClient>(*api_, cfg_->zoho.crm_url);
    people_ = std::make_unique<connectors::PeopleClient>(*api_, cfg_->zoho.people_url, cfg_->people.date_format);
  }

  RunReport pass(EngineOptions eo = {}) {
    Engine engine(*cfg_, *store_, *crm_, *people_, clock_, eo);
    RunReport out;
    boost::asio::co_spawn(
        io_, [&]() -> boost::asio::awaitable<void> { out = co_await engine.run_once(); }, boost::asio::detached);
    io_.run();
    io_.restart();
    return out;
  }

  static const StreamReport& report_of(const RunReport& r, const std::string& stream) {
    for (const auto& s : r.streams)
      if (s.stream == stream) return s;
    static const StreamReport none;
    ADD_FAILURE() << "no report for stream " << stream;
    return none;
  }

  // The id-map hash the engine computes for `record_json` (a CRM record).
  std::string hash_of(const std::string& stream, const std::string& record_json, const KnownAnswers& known) {
    const config::Stream* s = cfg_->find_stream(stream);
    TemplateContext ctx;
    ctx.timezone_offset_minutes = cfg_->service.timezone_offset_minutes;
    KnownAnswers answers = known;
    auto m = map_record(*s, connectors::value_from_json(record_json), ctx, answers);
    const auto* mapped = std::get_if<Mapped>(&m);
    if (!mapped) {
      ADD_FAILURE() << "record does not map: " << std::get<MapFailure>(m).reason;
      return "";
    }
    return mapped->hash;
  }

  // Modified_Time `ago` before the manual clock's now.
  std::string crm_time_ago(std::chrono::seconds ago) const { return format_utc_iso_offset(clock_.now() - ago); }

  fs::path dir_;
  boost::asio::io_context io_;
  ManualClock clock_;
  connectors::VirtualSleeper sleeper_{clock_};
  HalfRandom random_;
  FakeZoho zoho_{"https://accounts.example", "https://crm.example", "https://people.example"};
  FakeCrmModule deals_, calls_;
  std::map<std::string, std::string> synced_;  // reference id -> People project id
  std::string projects_json_ = "[]";
  config::ConfigPtr cfg_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<connectors::TokenProvider> tokens_;
  std::unique_ptr<connectors::ZohoApi> api_;
  std::unique_ptr<connectors::CrmClient> crm_;
  std::unique_ptr<connectors::PeopleClient> people_;
};

// insertRecord answers with a new pkId each time.
void accept_jobs(FakeZoho& zoho) {
  zoho.on(kInsertJob, [n = 0](const Request&) mutable -> Result {
    return json_reply(200, R"({"response":{"result":{"pkId":"46950500000027100)" + std::to_string(++n) +
                               R"(","message":"Successfully Added"},"message":"Data added successfully","uri":"/api/forms/json/P_TimesheetJob/insertRecord","status":0}})");
  });
}

// ------------------------------------------------------------------ parking

TEST_F(EngineTest, ARecordWaitingForAReferenceIsParkedEachPassThenDeadLetteredAtTheLimit) {
  load(kDealsStream);
  accept_jobs(zoho_);
  deals_.put("D1", crm_time_ago(std::chrono::hours(1)), deal_fields("Website", "PR-9"));
  EngineOptions eo;
  eo.max_park_attempts = 3;

  for (int n = 1; n <= 2; ++n) {
    const RunReport r = pass(eo);
    const StreamReport& rep = report_of(r, "deals");
    EXPECT_TRUE(rep.completed) << rep.error;
    EXPECT_EQ(rep.parked, 1) << "pass " << n;
    EXPECT_EQ(rep.dead_lettered, 0) << "pass " << n;
    EXPECT_EQ(to_string(r.outcome), "ok");
    const auto box = store_->outbox_list("deals");
    ASSERT_EQ(box.size(), 1u) << "pass " << n;
    EXPECT_EQ(box[0].op, state::op::retry);
    EXPECT_EQ(box[0].source_key, "D1");
    EXPECT_EQ(box[0].attempts, n);
    EXPECT_TRUE(store_->dead_letters().empty());
    clock_.advance(std::chrono::minutes(5));
  }
  // People was asked again on every pass (the parked copy, not a new CRM read).
  EXPECT_EQ(zoho_.count(kReferences), 2u);

  const RunReport third = pass(eo);
  const StreamReport& rep = report_of(third, "deals");
  EXPECT_TRUE(rep.completed) << rep.error;
  EXPECT_EQ(rep.parked, 0);
  EXPECT_EQ(rep.dead_lettered, 1);
  EXPECT_EQ(to_string(third.outcome), "dead_letters");
  EXPECT_EQ(zoho_.count(kReferences), 3u);
  const auto dead = store_->dead_letters("deals");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].source_key, "D1");
  EXPECT_THAT(dead[0].reason, HasSubstr("gave up after 3 passes"));
  EXPECT_THAT(dead[0].reason, HasSubstr("PR-9"));
  EXPECT_THAT(dead[0].payload, HasSubstr("Website")) << "the source record is kept for retry";
  EXPECT_TRUE(store_->outbox_list("deals").empty());
  EXPECT_EQ(zoho_.count(kInsertJob), 0u) << "nothing was written to People";
  EXPECT_FALSE(store_->id_map_get("deals", "D1"));
}

// -------------------------------------------------------- completed project

TEST_F(EngineTest, AJobInACompletedProjectIsDeadLetteredNamingTheProjectAndNeverSent) {
  load(kDealsStream);
  accept_jobs(zoho_);
  synced_ = {{"PR-1", "617735000000229087"}, {"PR-2", "617735000000229099"}};
  projects_json_ =
      R"([{"projectName":"Web","projectId":"617735000000229087","projectCost":34590,"clientId":"61","clientName":"N","projectStatus":"Completed"},)"
      R"({"projectName":"App","projectId":"617735000000229099","clientId":"61","clientName":"N","projectStatus":"In-Progress"}])";
  deals_.put("D1", crm_time_ago(std::chrono::hours(2)), deal_fields("Website relaunch", "PR-1"));
  deals_.put("D2", crm_time_ago(std::chrono::hours(1)), deal_fields("Mobile app", "PR-2"));

  const RunReport r = pass();
  const StreamReport& rep = report_of(r, "deals");
  EXPECT_TRUE(rep.completed) << rep.error;
  EXPECT_EQ(rep.dead_lettered, 1);
  EXPECT_EQ(rep.created, 1);
  EXPECT_EQ(to_string(r.outcome), "dead_letters");
  const auto dead = store_->dead_letters("deals");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].source_key, "D1");
  EXPECT_THAT(dead[0].reason, HasSubstr("617735000000229087"));
  EXPECT_THAT(dead[0].reason, HasSubstr("completed"));
  // Only the job of the open project went to People.
  const auto sent = zoho_.calls(kInsertJob);
  ASSERT_EQ(sent.size(), 1u);
  const std::string data = request_param(sent[0], "inputData");
  EXPECT_THAT(data, HasSubstr("Mobile app"));
  EXPECT_THAT(data, Not(HasSubstr("617735000000229087")));
  EXPECT_FALSE(store_->id_map_get("deals", "D1"));
  EXPECT_TRUE(store_->id_map_get("deals", "D2"));
  EXPECT_TRUE(store_->outbox_list("deals").empty());
}

// ---------------------------------------------------------------- reconcile

TEST_F(EngineTest, AJobAddLeftSentIsFoundInPeopleAndMappedWhileAnUnmatchedOneIsWrittenAgain) {
  load(kDealsStream);
  accept_jobs(zoho_);
  synced_ = {{"PR-2", "617735000000229099"}};
  projects_json_ =
      R"([{"projectName":"App","projectId":"617735000000229099","clientId":"61","clientName":"N","projectStatus":"In-Progress"}])";
  const std::string t1 = crm_time_ago(std::chrono::hours(2)), t2 = crm_time_ago(std::chrono::hours(1));
  deals_.put("D1", t1, deal_fields("Mobile app", "PR-2"));
  deals_.put("D2", t2, deal_fields("Backend", "PR-2"));
  KnownAnswers known;
  known.refs = synced_;
  // The job hash keeps fields and status apart ("fields:status"); no status mapping here.
  const std::string h1 = hash_of("deals", R"({"id":"D1",)" + deal_fields("Mobile app", "PR-2") + "}", known) + ":";
  const std::string h2 = hash_of("deals", R"({"id":"D2",)" + deal_fields("Backend", "PR-2") + "}", known) + ":";
  // A crash after both insertRecord requests went out: D1's reached People, D2's did not.
  store_->outbox_add_many(
      {{0, "deals", "D1", std::string(state::op::job_add),
        encode(JobIntent{h1, "Mobile app", "617735000000229099", "2023-11-01", "2023-12-31"}), state::OutboxState::sent,
        1, 0, 0},
       {0, "deals", "D2", std::string(state::op::job_add),
        encode(JobIntent{h2, "Backend", "617735000000229099", "2023-11-01", "2023-12-31"}), state::OutboxState::sent, 1,
        0, 0}});
  // People holds D1's job, and two jobs named like D2's of the same project,
  // each with one date that differs from D2's: neither is D2's.
  zoho_.on_reply(kGetJobs,
                 people_result(
                     R"([{"jobName":"Mobile app","jobStatus":"In-Progress","jobId":"469505000000268001","projectId":"617735000000229099","projectName":"App","fromDate":"2023-11-01","toDate":"2023-12-31","totalhours":"00:00"},)"
                     R"({"jobName":"Backend","jobStatus":"In-Progress","jobId":"469505000000268002","projectId":"617735000000229099","projectName":"App","fromDate":"2023-10-01","toDate":"2023-12-31","totalhours":"00:00"},)"
                     R"({"jobName":"Backend","jobStatus":"In-Progress","jobId":"469505000000268003","projectId":"617735000000229099","projectName":"App","fromDate":"2023-11-01","toDate":"2024-01-31","totalhours":"00:00"}])"));

  const RunReport r = pass();
  const StreamReport& rep = report_of(r, "deals");
  EXPECT_TRUE(rep.completed) << rep.error;
  EXPECT_EQ(rep.reconciled, 1);
  EXPECT_EQ(rep.created, 2) << "D1 found by reading back, D2 written";
  EXPECT_EQ(zoho_.count(kGetJobs), 1u);
  const auto d1 = store_->id_map_get("deals", "D1");
  ASSERT_TRUE(d1);
  EXPECT_EQ(d1->target_id, "469505000000268001");
  EXPECT_EQ(d1->hash, h1);
  const auto sent = zoho_.calls(kInsertJob);
  ASSERT_EQ(sent.size(), 1u) << "D1 is not sent a second time";
  EXPECT_THAT(request_param(sent[0], "inputData"), HasSubstr("Backend"));
  const auto d2 = store_->id_map_get("deals", "D2");
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->target_id, "469505000000271001");
  EXPECT_TRUE(store_->outbox_list("deals").empty());
}

TEST_F(EngineTest, ATimelogAddLeftSentMatchesPeoplesEchoAndAnUnmatchedOneIsWrittenAgain) {
  load(kCallsStream);
  const auto call = [](const std::string& subject, const std::string& day, const std::string& hours) {
    return R"("Subject":")" + subject + R"(","Owner":{"name":"Ann","id":"9","email":"Ann@Example.com"},"Job":"469505000000268001","Day":")" +
           day + R"(","Hours":")" + hours + "\"";
  };
  calls_.put("C1", crm_time_ago(std::chrono::hours(2)), call("Kick-off", "2023-11-02", "1:00"));
  calls_.put("C2", crm_time_ago(std::chrono::hours(1)), call("Review", "2023-11-03", "2:00"));
  const std::string h1 = hash_of("calls", "{" + call("Kick-off", "2023-11-02", "1:00") + "}", {});
  const std::string h2 = hash_of("calls", "{" + call("Review", "2023-11-03", "2:00") + "}", {});
  store_->outbox_add_many(
      {{0, "calls", "C1", std::string(state::op::timelog_add),
        encode(TimelogIntent{h1, "Ann@Example.com", "469505000000268001", "2023-11-02", "1:00", "Kick-off"}),
        state::OutboxState::sent, 1, 0, 0},
       {0, "calls", "C2", std::string(state::op::timelog_add),
        encode(TimelogIntent{h2, "Ann@Example.com", "469505000000268001", "2023-11-03", "2:00", "Review"}),
        state::OutboxState::sent, 1, 0, 0}});
  // As real replies carry them: no workItem, the email lowercased, hours
  // zero-padded. C2's day holds a log of other hours only.
  zoho_.on_reply(
      kGetTimelogs,
      people_result(
          R"([{"timelogId":"T1","employeeMailId":"ann@example.com","erecno":"5001","jobId":"469505000000268001","jobName":"Website","workDate":"2023-11-02","hours":"01:00","billingStatus":"billable","approvalStatus":"notsubmitted"},)"
          R"({"timelogId":"T9","employeeMailId":"ann@example.com","erecno":"5001","jobId":"469505000000268001","jobName":"Website","workDate":"2023-11-03","hours":"02:30","billingStatus":"billable","approvalStatus":"notsubmitted"}])"));
  // Every item sent is added: T2, T3, ...
  zoho_.on(kAddTimelogs, [n = 1](const Request& r) mutable -> Result {
    const std::string logs = request_param(r, "timelogs");
    std::string ids;
    for (std::size_t at = logs.find("\"user\""); at != std::string::npos; at = logs.find("\"user\"", at + 1))
      ids += (ids.empty() ? "\"T" : ",\"T") + std::to_string(++n) + "\"";
    return json_reply(200, R"({"response":{"result":{"addedTimelogIds":[)" + ids +
                               R"(]},"message":"Data updated successfully","uri":"/api/timetracker/addupdatetimelogs","status":0}})");
  });

  const RunReport r = pass();
  const StreamReport& rep = report_of(r, "calls");
  EXPECT_TRUE(rep.completed) << rep.error;
  EXPECT_EQ(rep.reconciled, 1);
  EXPECT_EQ(rep.created, 2);
  const auto asked = zoho_.calls(kGetTimelogs);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(request_param(asked[0], "fromDate"), "2023-11-02");
  EXPECT_EQ(request_param(asked[0], "toDate"), "2023-11-03");
  const auto c1 = store_->id_map_get("calls", "C1");
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->target_id, "T1");
  EXPECT_EQ(c1->hash, h1);
  // One write, of C2 only (the log of other hours on its day is not it).
  const auto sent = zoho_.calls(kAddTimelogs);
  ASSERT_EQ(sent.size(), 1u);
  const std::string logs = request_param(sent[0], "timelogs");
  EXPECT_THAT(logs, HasSubstr("Review"));
  EXPECT_THAT(logs, Not(HasSubstr("Kick-off")));
  const auto c2 = store_->id_map_get("calls", "C2");
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->target_id, "T2");
  EXPECT_TRUE(store_->outbox_list("calls").empty());
}

// ------------------------------------------------- settled-a-minute checkpoint

TEST_F(EngineTest, AWatermarkLessThanAMinuteOldKeepsItsIdsUntilItHasSettled) {
  load(kDealsStream);
  accept_jobs(zoho_);
  synced_ = {{"PR-2", "617735000000229099"}};
  projects_json_ =
      R"([{"projectName":"App","projectId":"617735000000229099","clientId":"61","clientName":"N","projectStatus":"In-Progress"}])";
  const std::string newest = crm_time_ago(std::chrono::seconds(20));
  deals_.put("D1", crm_time_ago(std::chrono::hours(1)), deal_fields("Backend", "PR-2"));
  deals_.put("D2", newest, deal_fields("Mobile app", "PR-2"));

  const RunReport first = pass();
  EXPECT_TRUE(report_of(first, "deals").completed) << report_of(first, "deals").error;
  EXPECT_EQ(report_of(first, "deals").created, 2);
  auto cp = store_->checkpoint("deals");
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->watermark, newest);
  EXPECT_EQ(cp->ids_at_watermark, std::vector<std::string>{"D2"}) << "20 s old: not settled, the ids stay";

  // Still inside the minute: a pass changes nothing.
  clock_.advance(std::chrono::seconds(30));
  pass();
  cp = store_->checkpoint("deals");
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->ids_at_watermark, std::vector<std::string>{"D2"}) << "50 s old: not settled yet";

  clock_.advance(std::chrono::seconds(20));
  const RunReport settled = pass();
  EXPECT_TRUE(report_of(settled, "deals").completed);
  EXPECT_EQ(report_of(settled, "deals").created, 0);
  cp = store_->checkpoint("deals");
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->watermark, newest);
  EXPECT_TRUE(cp->ids_at_watermark.empty()) << "70 s old: the complete watermark is stored";
  EXPECT_EQ(zoho_.count(kInsertJob), 2u) << "nothing was written twice";

  // A complete watermark asks from its own time: an unchanged module is one 304.
  const RunReport quiet = pass();
  EXPECT_TRUE(report_of(quiet, "deals").not_modified);
  const auto reads = zoho_.calls(kDeals);
  ASSERT_EQ(reads.size(), 4u);
  // Until then each read asked from a second earlier, skipping the ids kept.
  EXPECT_EQ(reads[2].header("If-Modified-Since").value_or(""),
            format_utc_iso_offset(*parse_iso8601(newest) - std::chrono::seconds(1)));
  EXPECT_EQ(reads[3].header("If-Modified-Since").value_or(""), newest);
}

// ---------------------------------------------------- write-back item results

TEST_F(EngineTest, AWriteBackMapsOnlyItsSuccessesDeadLettersThePermanentRefusalAndSendsTheRestAgain) {
  load(std::string(kDealsStream) + kHoursBackStream);
  // The deals stream wrote three jobs.
  state::Commit seed;
  for (auto [deal, job] : {std::pair{"D1", "J1"}, std::pair{"D2", "J2"}, std::pair{"D3", "J3"}})
    seed.id_map_upserts.push_back({"deals", deal, job, "h:", 0});
  store_->commit(seed);
  zoho_.on_reply(kGetJobs,
                 people_result(
                     R"([{"jobName":"A","jobStatus":"In-Progress","jobId":"J1","projectId":"P","fromDate":"2023-11-01","toDate":"2023-12-31","totalhours":"10:30"},)"
                     R"({"jobName":"B","jobStatus":"In-Progress","jobId":"J2","projectId":"P","fromDate":"2023-11-01","toDate":"2023-12-31","totalhours":"02:00"},)"
                     R"({"jobName":"C","jobStatus":"In-Progress","jobId":"J3","projectId":"P","fromDate":"2023-11-01","toDate":"2023-12-31","totalhours":"04:15"}])"));
  zoho_.on_reply(kCrmFields,
                 json_reply(200, R"({"fields":[{"api_name":"Hours_Logged","field_label":"Hours Logged","data_type":"double","json_type":"double","read_only":false}]})"));
  int puts = 0;
  zoho_.on(kDeals, [&puts](const Request& r) -> Result {
    if (r.method != connectors::Method::put) return json_reply(304, "");
    if (++puts == 1)
      return json_reply(
          200,
          R"({"data":[{"code":"SUCCESS","details":{"Modified_Time":"2023-11-14T22:13:20+00:00","Modified_By":{"name":"A","id":"9"},"Created_Time":"2023-11-01T10:00:00+00:00","id":"D1","Created_By":{"name":"A","id":"9"}},"message":"record updated","status":"success"},)"
          R"({"code":"INVALID_DATA","details":{"expected_data_type":"double","api_name":"Hours_Logged"},"message":"invalid data","status":"error"},)"
          R"({"code":"RECORD_LOCKED","details":{"id":"D3"},"message":"the record is being edited","status":"error"}]})");
    return json_reply(
        200,
        R"({"data":[{"code":"INVALID_DATA","details":{"expected_data_type":"double","api_name":"Hours_Logged"},"message":"invalid data","status":"error"},)"
        R"({"code":"SUCCESS","details":{"Modified_Time":"2023-11-14T22:15:20+00:00","id":"D3"},"message":"record updated","status":"success"}]})");
  });
  EngineOptions eo;
  eo.streams = {"hours_back"};

  const RunReport r = pass(eo);
  const StreamReport& rep = report_of(r, "hours_back");
  EXPECT_TRUE(rep.completed) << rep.error;
  EXPECT_EQ(rep.read, 3);
  EXPECT_EQ(rep.updated, 1);
  EXPECT_EQ(rep.dead_lettered, 1);
  EXPECT_EQ(to_string(r.outcome), "dead_letters");
  const auto first_put = zoho_.calls(kDeals);
  ASSERT_EQ(first_put.size(), 1u);
  EXPECT_THAT(first_put[0].body, HasSubstr(R"("id":"D1","Hours_Logged":10.5)"));
  const auto j1 = store_->id_map_get("hours_back", "J1");
  ASSERT_TRUE(j1);
  EXPECT_EQ(j1->target_id, "D1");
  EXPECT_FALSE(store_->id_map_get("hours_back", "J2"));
  EXPECT_FALSE(store_->id_map_get("hours_back", "J3"));
  const auto dead = store_->dead_letters("hours_back");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].source_key, "J2");
  EXPECT_EQ(dead[0].vendor_code, "INVALID_DATA");
  EXPECT_THAT(dead[0].reason, HasSubstr("invalid data"));
  EXPECT_TRUE(store_->outbox_list("hours_back").empty());

  // The next pass sends what was not done (and J2 again: an update is
  // idempotent), never the confirmed J1.
  clock_.advance(std::chrono::minutes(5));
  const RunReport again = pass(eo);
  EXPECT_TRUE(report_of(again, "hours_back").completed);
  const auto puts_now = zoho_.calls(kDeals);
  ASSERT_EQ(puts_now.size(), 2u);
  const std::string& body = puts_now[1].body;
  EXPECT_THAT(body, Not(HasSubstr(R"("id":"D1")")));
  EXPECT_THAT(body, HasSubstr(R"("id":"D3","Hours_Logged":4.25)"));
  EXPECT_THAT(body, HasSubstr(R"("id":"D2")"));
  const auto j3 = store_->id_map_get("hours_back", "J3");
  ASSERT_TRUE(j3);
  EXPECT_EQ(j3->target_id, "D3");
  EXPECT_FALSE(store_->id_map_get("hours_back", "J2"));
  EXPECT_EQ(store_->dead_letters("hours_back").size(), 1u);
}

// ------------------------------------------------ a job refused for good

TEST_F(EngineTest, AJobRefusedPermanentlyIsDeadLetteredOnceAndTheStreamCompletes) {
  load(kDealsStream);
  synced_ = {{"PR-2", "617735000000229099"}};
  projects_json_ =
      R"([{"projectName":"App","projectId":"617735000000229099","clientId":"61","clientName":"N","projectStatus":"In-Progress"}])";
  deals_.put("D1", crm_time_ago(std::chrono::hours(2)), deal_fields("Mobile app", "PR-2"));
  // Not an assignee error: the record itself is refused (the sandbox's reply
  // for a date People will not take).
  zoho_.on_reply(kInsertJob, people_error("7054", "Invalid date field value: StartDate"));

  const RunReport r = pass();
  const StreamReport& rep = report_of(r, "deals");
  EXPECT_TRUE(rep.completed) << rep.error;
  EXPECT_TRUE(rep.error.empty()) << rep.error;
  EXPECT_EQ(rep.dead_lettered, 1);
  EXPECT_EQ(rep.created, 0);
  EXPECT_EQ(to_string(r.outcome), "dead_letters");
  EXPECT_EQ(zoho_.count(kInsertJob), 1u) << "sent once, never again as if in doubt";
  EXPECT_EQ(zoho_.count(kGetJobs), 0u) << "nothing to read back";
  const auto dead = store_->dead_letters("deals");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].source_key, "D1");
  EXPECT_EQ(dead[0].vendor_code, "7054");
  EXPECT_THAT(dead[0].reason, HasSubstr("people/insertRecord"));
  EXPECT_TRUE(store_->outbox_list("deals").empty()) << "no intent left to reconcile";
  EXPECT_FALSE(store_->id_map_get("deals", "D1"));
  ASSERT_TRUE(store_->checkpoint("deals"));

  // The checkpoint passed it: the next pass writes nothing.
  clock_.advance(std::chrono::minutes(5));
  const RunReport next = pass();
  EXPECT_TRUE(report_of(next, "deals").completed);
  EXPECT_EQ(zoho_.count(kInsertJob), 1u);
  EXPECT_EQ(store_->dead_letters("deals").size(), 1u);
}

}  // namespace
}  // namespace peoplesync::sync
