// What the clients do with Zoho as its other pages and real clients describe
// it (issue "First contact"): People's auth errors in its envelope, empty
// lists without "result", the forms API's company dates and erecnos, bulk
// results matched on normalised values, typed CRM values, the scope table.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <deque>

#include "config/loader.hpp"
#include "connectors/crm.hpp"
#include "connectors/people.hpp"
#include "connectors/scopes.hpp"
#include "config/example_config.hpp"
#include "support/fake_transport.hpp"

namespace peoplesync::connectors {
namespace {

class HalfRandom final : public Random {
 public:
  double uniform() override { return 0.5; }
};

Response reply(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The value of `key` in a form body, percent-decoded.
std::string form_value(const std::string& body, const std::string& key) {
  const std::string prefix = key + "=";
  std::size_t at = body.rfind('&' + prefix) != std::string::npos ? body.rfind('&' + prefix) + 1 : std::string::npos;
  if (body.rfind(prefix, 0) == 0) at = 0;
  if (at == std::string::npos) return "";
  const std::size_t end = std::min(body.find('&', at), body.size());
  std::string out;
  for (std::size_t i = at + prefix.size(); i < end; ++i) {
    if (body[i] == '%' && i + 2 < end + 1) {
      out.push_back(static_cast<char>(std::stoi(body.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(body[i] == '+' ? ' ' : body[i]);
    }
  }
  return out;
}

class FirstContact : public ::testing::Test {
 protected:
  FirstContact() {
    zoho_.accounts_url = "https://accounts.zoho.com";
    fake_.on([this](const Request& r) -> Result {
      if (r.target == "/oauth/v2/token") {
        ++grants_;
        return reply(200, R"({"access_token":"t)" + std::to_string(grants_) + R"(","expires_in":3600})");
      }
      calls_.push_back(r);
      if (script_.empty()) return Failure{TransportFailure::protocol, "no script"};
      Result next = script_.front();
      script_.pop_front();
      return next;
    });
  }

  template <class T>
  T run(boost::asio::awaitable<T> a) {
    T out{};
    boost::asio::co_spawn(
        io_, [&]() -> boost::asio::awaitable<void> { out = co_await std::move(a); }, boost::asio::detached);
    io_.run();
    io_.restart();
    return out;
  }

  boost::asio::io_context io_;
  config::Zoho zoho_;
  ManualClock clock_;
  VirtualSleeper sleeper_{clock_};
  HalfRandom random_;
  peoplesync::testing::FakeTransport fake_;
  TokenProvider tokens_{fake_, zoho_, clock_, sleeper_, random_};
  ZohoApi api_{fake_, tokens_, clock_, sleeper_, random_, BackoffPolicy{Millis{10}, Millis{100}, 3}};
  PeopleClient people_{api_, "https://people.zoho.com", "dd-MMM-yyyy"};
  CrmClient crm_{api_, "https://www.zohoapis.com"};
  std::deque<Result> script_;
  std::vector<Request> calls_;
  int grants_ = 0;
};

// ------------------------------------------------------------ auth errors

TEST_F(FirstContact, People7202RefreshesOnceAndRepeatsTheCall) {
  ASSERT_TRUE(std::holds_alternative<std::string>(run(tokens_.access_token())));
  for (int http : {400, 200}) {
    calls_.clear();
    script_ = {reply(http, R"({"response":{"message":"Error","uri":"/api/timetracker/getjobs","errors":{"code":7202,"message":"Invalid OAuth token"},"status":1}})"),
               reply(200, R"({"response":{"result":[],"message":"Data fetched successfully","status":0}})")};
    const int before = grants_;
    auto page = run(people_.get_jobs(JobQuery{}));
    ASSERT_TRUE(std::holds_alternative<Page<PeopleJob>>(page)) << std::get<CallError>(page).message;
    EXPECT_EQ(calls_.size(), 2u);
    EXPECT_EQ(grants_, before + 1) << "one refresh";
  }
}

TEST_F(FirstContact, People7213TwiceIsAnAuthorisationErrorNotADeadLetter) {
  const std::string refused =
      R"({"response":{"message":"Error","errors":[{"code":7213,"message":"Invalid OAuth token"}],"status":1}})";
  script_ = {reply(400, refused), reply(400, refused)};
  auto r = run(people_.get_projects(0));
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  const CallError& e = std::get<CallError>(r);
  EXPECT_EQ(e.outcome, Outcome::auth);
  EXPECT_NE(e.message.find("people/getprojects"), std::string::npos) << e.message;
  EXPECT_EQ(calls_.size(), 2u) << "refreshed once, then refused";
}

TEST_F(FirstContact, People7218NamesTheEndpointAndTheMissingScope) {
  script_ = {reply(200, R"({"response":{"message":"Error occurred","uri":"/api/forms/json/P_TimesheetJob/insertRecord","errors":{"code":7218,"message":"Invalid OAuth Scope"},"status":1}})")};
  JobInput in;
  in.name = "Deal 1";
  in.assignees = {{"617735000000001009", "40:00", ""}};
  auto r = run(people_.insert_job_record(in));
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  const CallError& e = std::get<CallError>(r);
  EXPECT_EQ(e.outcome, Outcome::auth);
  EXPECT_NE(e.message.find("people/insertRecord"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("ZOHOPEOPLE.forms.CREATE"), std::string::npos) << e.message;
  EXPECT_EQ(calls_.size(), 1u) << "a scope refusal is not retried";
}

TEST_F(FirstContact, CrmScopeMismatchNamesTheModuleScope) {
  script_ = {reply(401, R"({"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"})")};
  CrmQuery q;
  q.module = "Calls";
  auto r = run(crm_.get_page(q));
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  EXPECT_EQ(std::get<CallError>(r).outcome, Outcome::auth);
  EXPECT_NE(std::get<CallError>(r).message.find("ZohoCRM.modules.calls.READ"), std::string::npos);
}

// ---------------------------------------------------------- empty lists

TEST_F(FirstContact, StatusZeroWithoutResultAndCode7024AreEmptyPages) {
  script_ = {reply(200, R"({"response":{"message":"No records found","uri":"/api/timetracker/getjobs","status":0}})"),
             reply(200, R"({"response":{"message":"Error","errors":{"code":7024,"message":"No records found"},"status":1}})")};
  auto a = run(people_.get_jobs(JobQuery{}));
  ASSERT_TRUE(std::holds_alternative<Page<PeopleJob>>(a));
  EXPECT_TRUE(std::get<Page<PeopleJob>>(a).items.empty());
  EXPECT_FALSE(std::get<Page<PeopleJob>>(a).more);
  auto b = run(people_.get_projects(0));
  ASSERT_TRUE(std::holds_alternative<Page<PeopleProject>>(b)) << std::get<CallError>(b).message;
  EXPECT_TRUE(std::get<Page<PeopleProject>>(b).items.empty());
}

TEST_F(FirstContact, TimelogsWithoutWorkItemAreRead) {
  script_ = {reply(200, R"({"response":{"result":[{"timelogId":"T1","employeeMailId":"Ann@Example.com","erecno":"5001","jobId":"J1","jobName":"Deal 1","workDate":"2024-05-01","hours":"01:30","billingStatus":"billable","approvalStatus":"notsubmitted"}],"status":0}})")};
  auto r = run(people_.get_timelogs(TimelogQuery{}));
  ASSERT_TRUE(std::holds_alternative<Page<PeopleTimelog>>(r));
  const auto& t = std::get<Page<PeopleTimelog>>(r).items.at(0);
  EXPECT_EQ(t.erecno, "5001");
  EXPECT_EQ(t.job_name, "Deal 1");
  EXPECT_EQ(t.work_item, "");
}

// ------------------------------------------------------------ forms API

TEST_F(FirstContact, JobsGoThroughTheFormWithCompanyDatesAndOnlyItsLabels) {
  script_ = {reply(200, R"({"response":{"result":{"pkId":"J9","message":"Successfully Added"},"message":"Data added successfully","status":0}})")};
  JobInput in;
  in.name = "Deal 1";
  in.from_date = "2024-05-01";
  in.to_date = "2024-12-31";
  in.description = "goes nowhere in the form";
  in.rate_per_hour = "100";
  in.assignees = {{"617735000000001009", "40:00", ""}, {"617735000000002018", "10:00", "80"}};
  auto r = run(people_.insert_job_record(in));
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  const std::string data = form_value(calls_.at(0).body, "inputData");
  EXPECT_EQ(data,
            R"({"Job_Name":"Deal 1","StartDate":"01-May-2024","EndDate":"31-Dec-2024",)"
            R"("Assignees":"617735000000001009;617735000000002018","AssigneeHours":"40:00;10:00","AssigneeRate":"100;80"})");
  EXPECT_EQ(calls_.at(0).scope, "ZOHOPEOPLE.forms.CREATE");
  EXPECT_EQ(form_value(calls_.at(0).body, "dateFormat"), "") << "the forms API has no dateFormat parameter";
}

TEST_F(FirstContact, AJobDateThatIsNotADateIsRefusedBeforeSending) {
  JobInput in;
  in.name = "Deal 1";
  in.from_date = "05/01/2024";
  auto r = run(people_.insert_job_record(in));
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  EXPECT_EQ(std::get<CallError>(r).outcome, Outcome::permanent);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(FirstContact, EmployeesAreFoundInTheViewsBareListByAnyEmailColumn) {
  script_ = {reply(200, R"([{"Email address":"ann@example.com","recordId":"5001","EmployeeID":"E1"}])"),
             reply(200, R"([])"),
             reply(200, R"({"response":{"message":"Error","errors":{"code":7024,"message":"No records found"},"status":1}})"),
             reply(200, R"([{"Email ID":"annette@example.com","recordId":"5002"}])")};
  auto a = run(people_.find_employee("Ann@Example.com"));
  ASSERT_TRUE(std::holds_alternative<std::optional<PeopleEmployee>>(a));
  ASSERT_TRUE(std::get<std::optional<PeopleEmployee>>(a).has_value());
  EXPECT_EQ(std::get<std::optional<PeopleEmployee>>(a)->erecno, "5001");
  EXPECT_NE(calls_.at(0).target.find("/people/api/forms/P_EmployeeView/records?"), std::string::npos);
  EXPECT_NE(calls_.at(0).target.find("searchColumn=EMPLOYEEMAILALIAS"), std::string::npos);
  EXPECT_EQ(calls_.at(0).scope, "ZOHOPEOPLE.forms.READ");
  for (int i = 0; i < 3; ++i) {  // [], 7024, and a row of another person
    auto none = run(people_.find_employee("ann@example.com"));
    ASSERT_TRUE(std::holds_alternative<std::optional<PeopleEmployee>>(none));
    EXPECT_FALSE(std::get<std::optional<PeopleEmployee>>(none).has_value());
  }
}

// ---------------------------------------------------- bulk time-log results

TimelogInput item(std::string user, std::string job, std::string date, std::string hours) {
  TimelogInput t;
  t.user = std::move(user);
  t.job_id = std::move(job);
  t.date = std::move(date);
  t.hours = std::move(hours);
  return t;
}

TEST(BulkMatch, ErrorsEchoedAsPeopleStoredThemAreMatchedOnNormalisedValues) {
  const std::vector<TimelogInput> items{item("ann@example.com", "J1", "2024-05-01", "1:00"),
                                        item("bob@example.com", "J2", "2024-05-02", "2:00"),
                                        item("ann@example.com", "J1", "2024-05-03", "1:00")};
  // Ann's second log failed; People echoes her erecno, the job's name,
  // "01:00" and the date in the company format.
  const std::vector<EchoedError> errors{{"5001", "03-May-2024", "Deal 1", "01:00", "8008", "holiday"}};
  const auto r = match_bulk_result(items, errors, {"T1", "T2"}, {}, "dd-MMM-yyyy");
  EXPECT_EQ(r.items[2].kind, TimelogItemResult::Kind::failed);
  EXPECT_EQ(r.items[2].error_code, "8008");
  EXPECT_EQ(r.items[2].outcome, Outcome::permanent);
  EXPECT_EQ(r.items[0].kind, TimelogItemResult::Kind::added);
  EXPECT_EQ(r.items[0].timelog_id, "T1");
  EXPECT_EQ(r.items[1].timelog_id, "T2");
}

TEST(BulkMatch, EmailCaseDoesNotMatter) {
  const std::vector<TimelogInput> items{item("Ann@Example.com", "J1", "2024-05-01", "01:30")};
  const auto r = match_bulk_result(items, {{"ann@example.com", "2024-05-01", "J1", "1:30", "8001", "x"}}, {}, {},
                                   "dd-MMM-yyyy");
  EXPECT_EQ(r.items[0].kind, TimelogItemResult::Kind::failed);
  EXPECT_EQ(r.items[0].outcome, Outcome::permanent);
}

TEST(BulkMatch, AnErrorThatFitsTwoItemsLeavesTheAddsInDoubt) {
  // Two logs alike but for the user; the echo gives an erecno, which cannot
  // be told apart from either email here.
  const std::vector<TimelogInput> items{item("ann@example.com", "J1", "2024-05-01", "01:00"),
                                        item("bob@example.com", "J1", "2024-05-01", "01:00")};
  const auto r = match_bulk_result(items, {{"5001", "2024-05-01", "J1", "01:00", "8008", "leave"}}, {"T9"}, {},
                                   "dd-MMM-yyyy");
  for (const auto& i : r.items) {
    EXPECT_EQ(i.kind, TimelogItemResult::Kind::failed);
    EXPECT_EQ(i.outcome, Outcome::in_doubt) << "never hand T9 out by position";
  }
}

TEST(BulkMatch, EveryItemRefusedAlikeFailsEvenWhenEachErrorFitsSeveral) {
  // Two calls of one length on one day, on two completed jobs: People refuses
  // both (9025), echoing erecnos and job names, so each error fits either
  // item. Nothing was added and there are as many errors as items, all the
  // same: both failed (before, they stayed in doubt however often they were
  // read back and sent again, and the stream stopped).
  const std::vector<TimelogInput> items{item("ann@example.com", "J1", "2024-05-01", "01:00"),
                                        item("bob@example.com", "J2", "2024-05-01", "01:00")};
  const std::vector<EchoedError> refused{{"5001", "01-May-2024", "Deal 1", "01:00", "9025", "Cannot log time for a completed job"},
                                         {"5002", "01-May-2024", "Deal 2", "01:00", "9025", "Cannot log time for a completed job"}};
  const auto r = match_bulk_result(items, refused, {}, {}, "dd-MMM-yyyy");
  for (const auto& i : r.items) {
    EXPECT_EQ(i.kind, TimelogItemResult::Kind::failed);
    EXPECT_EQ(i.error_code, "9025");
    EXPECT_EQ(i.outcome, Outcome::permanent);
  }
  // Errors that differ: both items failed for sure (nothing was added), only
  // which error is whose is unknown: each gets both as its reason.
  auto mixed = refused;
  mixed[1].code = "8008";
  mixed[1].message = "leave";
  for (const auto& i : match_bulk_result(items, mixed, {}, {}, "dd-MMM-yyyy").items) {
    EXPECT_EQ(i.outcome, Outcome::permanent);
    EXPECT_NE(i.message.find("refused with one of: 8008 leave; or 9025"), std::string::npos) << i.message;
  }
  // One of them temporary (a lock): nothing of them is in People, so they are sent again, not dead-lettered.
  mixed[1].code = "7209";
  mixed[1].message = "API access blocked since threshold limit exceeded";
  for (const auto& i : match_bulk_result(items, mixed, {}, {}, "dd-MMM-yyyy").items)
    EXPECT_EQ(i.outcome, Outcome::retry);
  // Fewer errors than items and no added id: not every item failed for sure.
  for (const auto& i : match_bulk_result(items, {refused[0]}, {}, {}, "dd-MMM-yyyy").items)
    EXPECT_EQ(i.outcome, Outcome::in_doubt);
}

TEST(BulkMatch, MoreOrFewerAddedIdsThanAddsAreInDoubt) {
  const std::vector<TimelogInput> items{item("a@x.com", "J1", "2024-05-01", "01:00"),
                                        item("b@x.com", "J1", "2024-05-01", "01:00")};
  const auto r = match_bulk_result(items, {}, {"T1"}, {}, "dd-MMM-yyyy");
  EXPECT_EQ(r.items[0].outcome, Outcome::in_doubt);
  EXPECT_EQ(r.items[1].outcome, Outcome::in_doubt);
  const auto exact = match_bulk_result(items, {}, {"T1", "T2"}, {}, "dd-MMM-yyyy");
  EXPECT_EQ(exact.items[0].timelog_id, "T1");
  EXPECT_EQ(exact.items[1].timelog_id, "T2");
  EXPECT_TRUE(exact.matched_by_order);
}

TEST(BulkMatch, EditsAreConfirmedByTheirOwnIds) {
  std::vector<TimelogInput> items{item("a@x.com", "J1", "2024-05-01", "01:00"),
                                  item("b@x.com", "J1", "2024-05-01", "01:00")};
  items[0].timelog_id = "T1";
  items[1].timelog_id = "T2";
  const auto r = match_bulk_result(items, {}, {}, {"T2"}, "dd-MMM-yyyy");
  EXPECT_EQ(r.items[0].outcome, Outcome::in_doubt);
  EXPECT_EQ(r.items[1].kind, TimelogItemResult::Kind::edited);
}

TEST(BulkMatch, TheOrderOfErrorLogsDoesNotDecide) {
  // The first error fits items 0 and 1, the second only item 1: item 0 is the first's.
  const std::vector<TimelogInput> items{item("a@x.com", "J1", "2024-05-01", "01:00"),
                                        item("a@x.com", "J1", "2024-05-01", "02:00")};
  const std::vector<EchoedError> errors{{"a@x.com", "2024-05-01", "J1", "", "8001", "first"},
                                        {"a@x.com", "2024-05-01", "J1", "2:00", "8002", "second"}};
  const auto r = match_bulk_result(items, errors, {}, {}, "dd-MMM-yyyy");
  EXPECT_EQ(r.items[0].error_code, "8001");
  EXPECT_EQ(r.items[1].error_code, "8002");
}

// ----------------------------------------------------------- CRM values

TEST(CrmTypes, TemplateTextBecomesTheFieldsJsonType) {
  auto v = [](const char* type, const char* text) { return crm_typed_value(CrmField{"F", "", type, "", false}, text); };
  auto ok = [](const std::variant<Value, std::string>& r) -> const Value& { return std::get<Value>(r); };
  EXPECT_EQ(ok(v("double", "12.5")).kind(), Value::Kind::number);
  EXPECT_EQ(ok(v("currency", "12.5")).text(), "12.5");
  EXPECT_EQ(ok(v("integer", "12")).text(), "12");
  EXPECT_EQ(ok(v("integer", "12.0")).text(), "12");
  EXPECT_EQ(ok(v("boolean", "Yes")).text(), "true");
  EXPECT_EQ(ok(v("date", "2024-05-01T10:00:00Z")).text(), "2024-05-01");
  EXPECT_EQ(ok(v("datetime", "2024-05-01T10:00:00Z")).text(), "2024-05-01T10:00:00+00:00");
  EXPECT_EQ(ok(v("picklist", "Completed")).kind(), Value::Kind::string);
  for (auto [type, text] : {std::pair{"double", "1:30"}, std::pair{"integer", "1.5"}, std::pair{"boolean", "maybe"},
                            std::pair{"date", "May 1"}, std::pair{"lookup", "x"}}) {
    auto r = v(type, text);
    ASSERT_TRUE(std::holds_alternative<std::string>(r)) << type;
    const std::string& why = std::get<std::string>(r);
    EXPECT_NE(why.find("F"), std::string::npos);
    EXPECT_NE(why.find(type), std::string::npos);
    EXPECT_NE(why.find(text), std::string::npos);
  }
  auto ro = crm_typed_value(CrmField{"Created_Time", "", "datetime", "", true}, "2024-05-01T10:00:00Z");
  EXPECT_NE(std::get<std::string>(ro).find("read-only"), std::string::npos);
}

TEST_F(FirstContact, UpdatesSendNumbersAsNumbers) {
  script_ = {reply(200, R"({"data":[{"code":"SUCCESS","details":{"id":"1"},"message":"record updated","status":"success"}]})")};
  CrmUpdate u;
  u.id = "1";
  u.fields = {{"Hours_Logged", Value::number("12.5")}, {"Job_Status", Value::string("Completed")},
              {"Billable", Value::boolean(true)}};
  auto r = run(crm_.update("Deals", {u}));
  ASSERT_TRUE(std::holds_alternative<std::vector<CrmUpdateResult>>(r));
  EXPECT_EQ(calls_.at(0).body, R"({"data":[{"id":"1","Hours_Logged":12.5,"Job_Status":"Completed","Billable":true}]})");
  EXPECT_EQ(calls_.at(0).scope, "ZohoCRM.modules.deals.UPDATE");
}

TEST(CrmTime, IfModifiedSinceIsAlwaysInTheOffsetForm) {
  EXPECT_EQ(crm_if_modified_since("2024-05-01T10:00:00Z"), "2024-05-01T10:00:00+00:00");
  EXPECT_EQ(crm_if_modified_since("2024-05-01T15:30:00+05:30"), "2024-05-01T10:00:00+00:00");
}

TEST_F(FirstContact, DeletedRecordsAskWithTheOffsetForm) {
  script_ = {reply(204, "")};
  auto r = run(crm_.get_deleted("Calls", std::string("2024-05-01T10:00:00Z"), 1));
  ASSERT_TRUE(std::holds_alternative<Page<CrmDeleted>>(r));
  EXPECT_EQ(calls_.at(0).header("If-Modified-Since").value_or(""), "2024-05-01T10:00:00+00:00");
}

// ---------------------------------------------------------------- scopes

TEST(Scopes, TheExampleConfigNeedsExactlyTheseScopes) {
  config::LoadOptions lo;
  lo.require_secrets = false;
  lo.getenv = [](const std::string&) -> std::optional<std::string> { return "x"; };
  auto r = config::load_config_text(config::kExampleConfig, "example.yaml", lo);
  ASSERT_TRUE(r.ok()) << r.errors.at(0).format();
  EXPECT_EQ(scopes::joined(scopes::needed(*r.config)),
            "ZOHOPEOPLE.forms.CREATE,ZOHOPEOPLE.forms.UPDATE,ZOHOPEOPLE.forms.READ,ZOHOPEOPLE.timetracker.ALL,"
            "ZohoCRM.modules.deals.READ,ZohoCRM.settings.fields.READ,ZohoCRM.coql.READ,ZohoCRM.modules.calls.READ,"
            "ZohoCRM.modules.deals.UPDATE");
}

TEST(Scopes, EveryPeopleEndpointTheClientCallsHasOne) {
  for (const char* ep : {"getprojects", "getjobs", "gettimelogs", "getRecordIdsByReferenceIds", "addupdatetimelogs",
                         "deletetimelog", "modifyjobstatus", "deletejob", "insertRecord", "updateRecord", "records"})
    EXPECT_FALSE(scopes::people(ep).empty()) << ep;
  EXPECT_EQ(scopes::crm_module("Deals", false), "ZohoCRM.modules.deals.READ");
  EXPECT_EQ(scopes::crm_module("Invoices_Custom", true), "ZohoCRM.modules.custom.UPDATE");
}

}  // namespace
}  // namespace peoplesync::connectors
