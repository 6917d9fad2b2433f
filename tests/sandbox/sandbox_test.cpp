// The sandbox's behaviour, request by request, in simulated time.
#include "sandbox/sandbox.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "common/timefmt.hpp"
#include "sandbox/datefmt.hpp"

namespace peoplesync::sandbox {
namespace {

using net::HttpReply;
using net::HttpRequest;

// Percent-encodes a form value (the sandbox decodes bodies as a form would).
std::string enc(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

class SandboxTest : public ::testing::Test {
 protected:
  SandboxTest() : clock_(*parse_iso8601("2024-06-15T12:00:00Z")) {}

  Sandbox& sb() {
    if (!sb_) sb_ = std::make_unique<Sandbox>(clock_, behaviour_, 7);
    return *sb_;
  }

  HttpRequest req(std::string method, std::string target, std::string body = "", bool auth = true) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = target;
    const auto qm = target.find('?');
    r.path = net::url_decode(target.substr(0, qm), false);
    if (qm != std::string::npos) r.query = net::parse_params(target.substr(qm + 1));
    r.body = std::move(body);
    if (!r.body.empty() && r.body.front() != '{') r.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    if (auth) r.headers.push_back({"Authorization", "Zoho-oauthtoken " + token()});
    r.remote_address = "127.0.0.1";
    return r;
  }

  std::string token() {
    if (!token_.empty()) return token_;
    HttpRequest r;
    r.method = "POST";
    r.path = r.target = "/oauth/v2/token";
    r.body = "grant_type=refresh_token&client_id=sandbox-client&client_secret=sandbox-secret&refresh_token=sandbox-refresh-token";
    HttpReply reply = sb().handle(r);
    simdjson::dom::parser p;
    token_ = std::string(std::string_view(p.parse(reply.body)["access_token"]));
    return token_;
  }

  HttpReply call(std::string method, std::string target, std::string body = "") {
    return sb().handle(req(std::move(method), std::move(target), std::move(body)));
  }

  simdjson::dom::element parse(const std::string& body) { return parser_.parse(body); }

  ManualClock clock_;
  Behaviour behaviour_;
  std::unique_ptr<Sandbox> sb_;
  std::string token_;
  simdjson::dom::parser parser_;
};

// ------------------------------------------------------------ OAuth

TEST_F(SandboxTest, OAuthInvalidCodeIsHttp200) {
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/oauth/v2/token";
  r.body = "grant_type=refresh_token&client_id=sandbox-client&client_secret=sandbox-secret&refresh_token=nope";
  HttpReply reply = sb().handle(r);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"error":"invalid_code"})");
}

TEST_F(SandboxTest, OAuthThrottlesAfterTenTokensInTenMinutes) {
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/oauth/v2/token";
  r.body = "grant_type=refresh_token&client_id=sandbox-client&client_secret=sandbox-secret&refresh_token=sandbox-refresh-token";
  for (int i = 0; i < 10; ++i) EXPECT_NE(sb().handle(r).body.find("access_token"), std::string::npos) << i;
  HttpReply throttled = sb().handle(r);
  EXPECT_EQ(throttled.status, 200);
  EXPECT_NE(throttled.body.find("too many requests continuously"), std::string::npos);
  clock_.advance(std::chrono::minutes(10));
  EXPECT_NE(sb().handle(r).body.find("access_token"), std::string::npos);
}

TEST_F(SandboxTest, OAuthSixteenthTokenEvictsTheOldest) {
  behaviour_.tokens_per_window = 100;
  std::vector<std::string> tokens;
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/oauth/v2/token";
  r.body = "grant_type=refresh_token&client_id=sandbox-client&client_secret=sandbox-secret&refresh_token=sandbox-refresh-token";
  for (int i = 0; i < 16; ++i) {
    simdjson::dom::parser p;
    tokens.emplace_back(std::string_view(p.parse(sb().handle(r).body)["access_token"]));
  }
  auto with = [&](const std::string& t) {
    HttpRequest a = req("GET", "/crm/v2/Deals", "", false);
    a.headers.push_back({"Authorization", "Zoho-oauthtoken " + t});
    return sb().handle(a).status;
  };
  EXPECT_EQ(with(tokens[0]), 401);
  EXPECT_EQ(with(tokens[1]), 204);
  EXPECT_EQ(with(tokens[15]), 204);
}

TEST_F(SandboxTest, OAuthMillisecondFormAndExpiry) {
  behaviour_.millisecond_expires_in = true;
  behaviour_.token_lifetime = Millis{60'000};
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/oauth/v2/token";
  r.body = "grant_type=refresh_token&client_id=sandbox-client&client_secret=sandbox-secret&refresh_token=sandbox-refresh-token";
  HttpReply reply = sb().handle(r);
  auto doc = parse(reply.body);
  EXPECT_EQ(int64_t(doc["expires_in"]), 60000);
  EXPECT_EQ(int64_t(doc["expires_in_sec"]), 60);
  token_ = std::string(std::string_view(doc["access_token"]));
  EXPECT_EQ(call("GET", "/crm/v2/Deals").status, 204);
  clock_.advance(std::chrono::seconds(61));
  HttpReply expired = call("GET", "/crm/v2/Deals");
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(expired.body.find("INVALID_TOKEN"), std::string::npos);
}

// ------------------------------------------------------------ CRM

TEST_F(SandboxTest, CrmNotModifiedAndNoContent) {
  sb().seed_demo(20);
  EXPECT_EQ(call("GET", "/crm/v2/Leads").status, 204);
  HttpRequest r = req("GET", "/crm/v2/Deals");
  r.headers.push_back({"If-Modified-Since", "2099-01-01T00:00:00+05:30"});
  HttpReply not_modified = sb().handle(r);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());
  HttpRequest rfc = req("GET", "/crm/v2/Deals");
  rfc.headers.push_back({"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"});
  EXPECT_EQ(sb().handle(rfc).status, 200);
}

TEST_F(SandboxTest, CrmPagingCapAndPageToken) {
  sb().seed_demo(2500);
  HttpReply page10 = call("GET", "/crm/v2/Calls?page=10&per_page=200&sort_by=Modified_Time&sort_order=asc");
  EXPECT_EQ(page10.status, 200);
  EXPECT_TRUE(bool(parse(page10.body)["info"]["more_records"]));
  HttpReply page11 = call("GET", "/crm/v2/Calls?page=11&per_page=200");
  EXPECT_EQ(page11.status, 400);
  EXPECT_NE(page11.body.find("DISCRETE_PAGINATION_LIMIT_EXCEEDED"), std::string::npos);
  EXPECT_EQ(call("GET", "/crm/v2/Calls?per_page=201").status, 400);
  EXPECT_EQ(call("GET", "/crm/v2/Calls?sort_by=Subject").status, 400);
}

TEST_F(SandboxTest, CrmPageTokenWalksEverything) {
  behaviour_.crm_page_token = true;
  sb().seed_demo(2500);
  std::set<std::string> ids;
  std::string target = "/crm/v2/Calls?per_page=200&sort_by=Modified_Time&sort_order=asc&page=1";
  for (int guard = 0; guard < 20; ++guard) {
    HttpReply r = call("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto doc = parse(r.body);
    for (auto rec : simdjson::dom::array(doc["data"])) ids.insert(std::string(std::string_view(rec["id"])));
    if (!bool(doc["info"]["more_records"])) break;
    target = "/crm/v2/Calls?per_page=200&sort_by=Modified_Time&sort_order=asc&page_token=" +
             std::string(std::string_view(doc["info"]["next_page_token"]));
  }
  EXPECT_EQ(ids.size(), 2500u);
  EXPECT_EQ(call("GET", "/crm/v2/Calls?page=1&page_token=x").status, 400);
}

TEST_F(SandboxTest, CrmIfModifiedSinceIsStrictUnlessSwitched) {
  sb().seed_json(R"({"crm":{"Deals":[{"id":"1","Modified_Time":"2024-06-01T10:00:00+00:00","Deal_Name":"A"}]}})");
  HttpRequest r = req("GET", "/crm/v2/Deals");
  r.headers.push_back({"If-Modified-Since", "2024-06-01T10:00:00+00:00"});
  EXPECT_EQ(sb().handle(r).status, 304);
  behaviour_.ims_inclusive = true;
  sb_.reset();
  token_.clear();
  sb().seed_json(R"({"crm":{"Deals":[{"id":"1","Modified_Time":"2024-06-01T10:00:00+00:00","Deal_Name":"A"}]}})");
  HttpRequest r2 = req("GET", "/crm/v2/Deals");
  r2.headers.push_back({"If-Modified-Since", "2024-06-01T10:00:00+00:00"});
  EXPECT_EQ(sb().handle(r2).status, 200);
}

TEST_F(SandboxTest, CrmFieldsLookupsAndUpdateWith207) {
  sb().seed_demo(10);
  HttpReply r = call("GET", "/crm/v2/Calls?fields=Subject,What_Id&per_page=1&sort_by=Modified_Time&sort_order=asc");
  auto rec = parse(r.body)["data"].at(0);
  EXPECT_TRUE(rec["What_Id"]["id"].is_string());
  EXPECT_TRUE(rec["Subject"].is_string());
  EXPECT_EQ(rec["Owner"].error(), simdjson::NO_SUCH_FIELD);
  const std::string id{std::string_view(rec["id"])};
  HttpReply put = call("PUT", "/crm/v2/Calls", R"({"data":[{"id":")" + id + R"(","Subject":"New"},{"id":"nope","Subject":"x"}]})");
  EXPECT_EQ(put.status, 207);
  auto results = parse(put.body)["data"];
  EXPECT_EQ(std::string_view(results.at(0)["code"]), "SUCCESS");
  EXPECT_EQ(std::string_view(results.at(1)["code"]), "INVALID_DATA");
  EXPECT_EQ(std::string_view(results.at(1)["status"]), "error");
  std::string many = R"({"data":[)";
  for (int i = 0; i < 101; ++i) many += std::string(i ? "," : "") + R"({"id":"x"})";
  EXPECT_EQ(call("PUT", "/crm/v2/Calls", many + "]}").status, 400);
}

TEST_F(SandboxTest, CrmDeletedRecordsAndCredits) {
  behaviour_.crm_daily_credits = 5;
  sb().seed_demo(10);
  HttpRequest del = req("DELETE", "/_admin/crm/Calls/4150868000003000001", "", false);
  EXPECT_EQ(sb().handle(del).status, 200);
  HttpReply deleted = call("GET", "/crm/v2/Calls/deleted?type=all");
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(std::string_view(parse(deleted.body)["data"].at(0)["id"]), "4150868000003000001");
  EXPECT_EQ(call("GET", "/crm/v2/Deals").status, 200);   // 2 + 1 credits
  EXPECT_EQ(call("GET", "/crm/v2/Deals").status, 200);   // 4
  EXPECT_EQ(call("GET", "/crm/v2/Deals").status, 200);   // 5
  HttpReply limited = call("GET", "/crm/v2/Deals");
  EXPECT_EQ(limited.status, 429);
  EXPECT_NE(limited.body.find("TOO_MANY_REQUESTS"), std::string::npos);
  clock_.advance(std::chrono::hours(24));
  token_.clear();  // the old token expired too
  EXPECT_EQ(call("GET", "/crm/v2/Deals").status, 200);
}

TEST_F(SandboxTest, AdminListsDeletedRecords) {
  sb().seed_demo(10);
  EXPECT_EQ(sb().handle(req("DELETE", "/_admin/crm/Deals/4150868000002000001", "", false)).status, 200);
  HttpReply list = sb().handle(req("GET", "/_admin/crm/Deals/deleted", "", false));
  ASSERT_EQ(list.status, 200);
  auto arr = parse(list.body).get_array().value();
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(std::string_view(arr.at(0)["id"]), "4150868000002000001");
  EXPECT_EQ(std::string_view(arr.at(0)["display_name"]), "Deal 2");
  EXPECT_EQ(parse(sb().handle(req("GET", "/_admin/crm/Calls/deleted", "", false)).body).get_array().value().size(), 0u);
}

// Revoking every access token: the API answers 401 INVALID_TOKEN, and the
// refresh token still grants a new one.
TEST_F(SandboxTest, AdminRevokesAccessTokensButNotTheRefreshToken) {
  sb().seed_demo(10);
  EXPECT_EQ(call("GET", "/crm/v2/Deals").status, 200);
  HttpReply revoke = sb().handle(req("POST", "/_admin/revoke?access_tokens=all", "", false));
  ASSERT_EQ(revoke.status, 200);
  EXPECT_EQ(int64_t(parse(revoke.body)["revoked"]), 1);
  HttpReply refused = call("GET", "/crm/v2/Deals");
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.body.find("INVALID_TOKEN"), std::string::npos);
  token_.clear();
  EXPECT_EQ(call("GET", "/crm/v2/Deals").status, 200);
}

// ------------------------------------------------------------ People

TEST_F(SandboxTest, PeopleLocksAnEndpointAfterItsThreshold) {
  sb().seed_demo(10);
  for (int i = 0; i < 20; ++i) {
    HttpReply ok = call("GET", "/people/api/timetracker/getprojects");
    ASSERT_EQ(int64_t(parse(ok.body)["response"]["status"]), 0) << i;
    clock_.advance(std::chrono::seconds(2));
  }
  HttpReply locked = call("GET", "/api/timetracker/getprojects");
  auto env = parse(locked.body)["response"];
  EXPECT_EQ(int64_t(env["status"]), 1);
  EXPECT_EQ(int64_t(env["errors"].at(0)["code"]), 7209);
  // Only that endpoint is locked.
  EXPECT_EQ(int64_t(parse(call("GET", "/people/api/timetracker/getjobs?assignedTo=all").body)["response"]["status"]), 0);
  // Sliding window: 60 s after the first call is not enough; the lock lasts 5 minutes.
  clock_.advance(std::chrono::seconds(60));
  EXPECT_EQ(int64_t(parse(call("GET", "/people/api/timetracker/getprojects").body)["response"]["status"]), 1);
  clock_.advance(std::chrono::minutes(5));
  EXPECT_EQ(int64_t(parse(call("GET", "/people/api/timetracker/getprojects").body)["response"]["status"]), 0);
  HttpReply stats = sb().handle(req("GET", "/_admin/stats", "", false));
  auto st = parse(stats.body)["endpoints"]["people/getprojects"];
  EXPECT_EQ(int64_t(st["calls"]), 23);
  EXPECT_EQ(int64_t(st["lock_events"]), 1);
  EXPECT_EQ(int64_t(st["locked_replies"]), 2);
}

TEST_F(SandboxTest, PeopleErrorsArrayOrObjectAsEachPageShows) {
  sb().seed_demo(10);
  auto jobs = parse(call("GET", "/people/api/timetracker/getjobs").body)["response"];
  EXPECT_TRUE(jobs["errors"].is_array());
  EXPECT_EQ(int64_t(jobs["errors"].at(0)["code"]), 9002);
  auto status = parse(call("POST", "/people/api/timetracker/modifyjobstatus", "jobId=1&jobStatus=Done").body)["response"];
  EXPECT_TRUE(status["errors"].is_object());
  EXPECT_EQ(int64_t(status["errors"]["code"]), 8001);
  auto del = parse(call("POST", "/people/api/timetracker/deletejob", "jobId=404").body)["response"];
  EXPECT_TRUE(del["errors"].is_object());
}

TEST_F(SandboxTest, PeoplePagingHasIsNextAvailableOnlyWhenMore) {
  sb().seed_demo(100);  // 5 projects (one not yet synced)
  auto first = parse(call("GET", "/people/api/timetracker/getprojects?sIndex=0&limit=2").body)["response"];
  EXPECT_TRUE(bool(first["isNextAvailable"]));
  auto last = parse(call("GET", "/people/api/timetracker/getprojects?sIndex=2&limit=200").body)["response"];
  EXPECT_EQ(last["isNextAvailable"].error(), simdjson::NO_SUCH_FIELD);
}

TEST_F(SandboxTest, JobWritesThroughBothApis) {
  sb().seed_demo(100);
  auto projects = parse(call("GET", "/people/api/timetracker/getprojects").body)["response"]["result"];
  const std::string project{std::string_view(projects.at(0)["projectId"])};
  auto added = parse(call("POST", "/people/api/timetracker/addjob",
                          "jobName=Deal%201&projectId=" + project +
                              "&assignees=%5B%7B%22assignedTo%22%3A%22ann.lee%40example.com%22%2C%22hours%22%3A%2240%3A00%22%7D%5D")
                         .body)["response"];
  ASSERT_EQ(int64_t(added["status"]), 0);
  const std::string job{std::string_view(added["result"].at(0)["jobId"])};
  // The forms API takes erecnos: ann's comes from the employee records.
  const std::string ann{std::string_view(
      parse(call("GET", "/people/api/forms/P_EmployeeView/records?searchColumn=EMPLOYEEMAILALIAS&searchValue=ann.lee%40example.com")
                .body)
          .at(0)["recordId"])};
  auto form = parse(call("POST", "/people/api/forms/json/P_TimesheetJob/insertRecord",
                         "inputData=%7B%22Job_Name%22%3A%22Other%22%2C%22Assignees%22%3A%22" + ann + "%22%7D")
                        .body)["response"];
  ASSERT_EQ(int64_t(form["status"]), 0);
  const std::string other{std::string_view(form["result"]["pkId"])};
  EXPECT_EQ(int64_t(parse(call("POST", "/people/api/timetracker/modifyjobstatus", "jobId=" + job + "&jobStatus=Completed").body)["response"]["status"]), 0);
  EXPECT_EQ(int64_t(parse(call("POST", "/people/api/forms/json/P_TimesheetJob/updateRecord",
                               "recordId=" + other + "&inputData=%7B%22Job_Name%22%3A%22Renamed%22%7D").body)["response"]["status"]), 0);
  auto details = parse(call("GET", "/people/api/timetracker/getjobdetails?jobId=" + other).body)["response"]["result"].at(0);
  EXPECT_EQ(std::string_view(details["jobName"]), "Renamed");
  auto all = parse(call("GET", "/people/api/timetracker/getjobs?assignedTo=all&jobStatus=completed").body)["response"]["result"];
  ASSERT_EQ(simdjson::dom::array(all).size(), 1u);
  EXPECT_EQ(std::string_view(all.at(0)["jobId"]), job);
  EXPECT_EQ(int64_t(parse(call("POST", "/people/api/timetracker/deletejob", "jobId=" + job).body)["response"]["status"]), 0);
  auto missing = parse(call("POST", "/people/api/timetracker/addjob", "jobName=x").body)["response"];
  EXPECT_EQ(int64_t(missing["status"]), 1);
}

TEST_F(SandboxTest, BulkTimelogErrorLogsPerItem) {
  sb().seed_json(R"({"projects":[{"id":"P1","name":"Web","status":"In-Progress"}],
                     "jobs":[{"id":"J1","name":"Open","project_id":"P1","assignees":["a@x.com"]},
                             {"id":"J2","name":"Closed","project_id":"P1","status":"Completed","assignees":["a@x.com"]}]})");
  const std::string logs =
      "timelogs=" + std::string(
                        "%5B%7B%22user%22%3A%22a%40x.com%22%2C%22jobId%22%3A%22J1%22%2C%22date%22%3A%222024-06-10%22%2C%22hours%22%3A%2201%3A30%22%7D%2C"
                        "%7B%22user%22%3A%22a%40x.com%22%2C%22jobId%22%3A%22J2%22%2C%22date%22%3A%222024-06-10%22%2C%22hours%22%3A%2201%3A00%22%7D%2C"
                        "%7B%22user%22%3A%22a%40x.com%22%2C%22jobId%22%3A%22J9%22%2C%22date%22%3A%222024-06-10%22%2C%22hours%22%3A%2201%3A00%22%7D%2C"
                        "%7B%22user%22%3A%22a%40x.com%22%2C%22jobId%22%3A%22J1%22%2C%22date%22%3A%222024-07-01%22%2C%22hours%22%3A%2201%3A00%22%7D%2C"
                        "%7B%22user%22%3A%22a%40x.com%22%2C%22jobId%22%3A%22J1%22%2C%22date%22%3A%2210-06-2024%22%2C%22hours%22%3A%2201%3A00%22%7D%5D");
  auto env = parse(call("POST", "/people/api/timetracker/addupdatetimelogs", logs).body)["response"];
  ASSERT_EQ(int64_t(env["status"]), 0);
  EXPECT_EQ(simdjson::dom::array(env["result"]["addedTimelogIds"]).size(), 1u);
  auto errs = simdjson::dom::array(env["result"]["errorLogs"]);
  ASSERT_EQ(errs.size(), 4u);
  EXPECT_EQ(std::string_view(errs.at(0)["message"]), "Cannot log time for a completed job");
  EXPECT_EQ(std::string_view(errs.at(1)["jobId"]), "J9");
  EXPECT_EQ(std::string_view(errs.at(2)["message"]), "Cannot log time for a Future Date");
  EXPECT_EQ(int64_t(errs.at(3)["errorCode"]), 8002);
  // More than 31 consecutive days in one call: refused as a whole.
  const std::string span =
      "timelogs=%5B%7B%22user%22%3A%22a%40x.com%22%2C%22jobId%22%3A%22J1%22%2C%22date%22%3A%222024-04-01%22%2C%22hours%22%3A%2201%3A00%22%7D%2C"
      "%7B%22user%22%3A%22a%40x.com%22%2C%22jobId%22%3A%22J1%22%2C%22date%22%3A%222024-05-15%22%2C%22hours%22%3A%2201%3A00%22%7D%5D";
  EXPECT_EQ(int64_t(parse(call("POST", "/people/api/timetracker/addupdatetimelogs", span).body)["response"]["status"]), 1);
  // gettimelogs: more than a month is 9007.
  auto wide = parse(call("GET", "/people/api/timetracker/gettimelogs?fromDate=2024-01-01&toDate=2024-06-01&dateFormat=yyyy-MM-dd").body)["response"];
  EXPECT_EQ(int64_t(wide["errors"].at(0)["code"]), 9007);
  auto got = parse(call("GET", "/people/api/timetracker/gettimelogs?user=all&fromDate=01-Jun-2024&toDate=15-Jun-2024").body)["response"];
  EXPECT_EQ(simdjson::dom::array(got["result"]).size(), 1u);
  auto job = parse(call("GET", "/people/api/timetracker/getjobs?assignedTo=all&fetchLoggedHrs=true").body)["response"]["result"].at(0);
  EXPECT_EQ(std::string_view(job["totalhours"]), "01:30");
}

TEST_F(SandboxTest, ReferenceIdsAbsentUntilSyncedAndLimits) {
  sb().seed_json(R"({"projects":[{"id":"P1","name":"Web","refs":{"Zoho Projects":"R1"}}]})");
  auto r = parse(call("GET", "/people/api/timetracker/getRecordIdsByReferenceIds?service=Zoho%20Projects&entity=project&referenceId=R1,R2").body)["response"];
  EXPECT_EQ(std::string_view(r["result"]["R1"]), "P1");
  EXPECT_EQ(r["result"]["R2"].error(), simdjson::NO_SUCH_FIELD);
  auto missing = parse(call("GET", "/api/timetracker/getRecordIdsByReferenceIds?service=Zoho%20Projects").body)["response"];
  EXPECT_EQ(int64_t(missing["errors"].at(0)["code"]), 7019);
  std::string many;
  for (int i = 0; i < 201; ++i) many += (i ? "," : "") + std::to_string(i);
  auto too_many = parse(call("GET", "/people/api/timetracker/getRecordIdsByReferenceIds?service=Zoho%20CRM&entity=job&referenceId=" + many).body)["response"];
  EXPECT_EQ(int64_t(too_many["errors"].at(0)["code"]), 7214);
}

// ------------------------------------------------------------ People: employees, dates, time logs

// A seed with two employees (one made from an email), a project and two jobs.
constexpr const char* kPeopleSeed = R"({
  "employees":[{"email":"Ann.Lee@Example.com","employee_id":"EMP007","erecno":"5000001","first_name":"Ann","last_name":"Lee"}],
  "users":["bo.chen@example.com"],
  "projects":[{"id":"P1","name":"Web"},{"id":"P2","name":"Old","status":"Completed"}],
  "jobs":[{"id":"J1","name":"Open","project_id":"P1","from_date":"2024-06-01","to_date":"2024-06-30","assignees":["5000001"]},
          {"id":"J2","name":"Closed","project_id":"P1","status":"Completed","assignees":["bo.chen@example.com"]}]})";

TEST_F(SandboxTest, DatePatternsParseExactlyAndRoundTrip) {
  struct Case {
    const char *pattern, *text;
  };
  for (const Case c : {Case{"dd-MMM-yyyy", "05-Apr-2019"}, Case{"dd/MM/yyyy", "05/04/2019"}, Case{"MM/dd/yyyy", "04/05/2019"},
                       Case{"yyyy-MM-dd", "2019-04-05"}, Case{"dd-MM-yyyy", "05-04-2019"}, Case{"dd.MM.yyyy", "05.04.2019"}}) {
    const auto d = datefmt::parse(c.text, c.pattern);
    ASSERT_EQ(d.kind, datefmt::Parsed::ok) << c.pattern;
    EXPECT_EQ(d.iso, "2019-04-05") << c.pattern;
    EXPECT_EQ(datefmt::format(d.iso, c.pattern).value_or("?"), c.text) << c.pattern;
  }
  EXPECT_EQ(datefmt::parse("05-APR-2019", "dd-MMM-yyyy").iso, "2019-04-05");  // month names in any case
  EXPECT_EQ(datefmt::parse("5-Apr-2019", "dd-MMM-yyyy").kind, datefmt::Parsed::not_in_format);
  EXPECT_EQ(datefmt::parse("2019-04-05", "dd-MMM-yyyy").kind, datefmt::Parsed::not_in_format);
  EXPECT_EQ(datefmt::parse("05-Apr-2019 ", "dd-MMM-yyyy").kind, datefmt::Parsed::not_in_format);
  EXPECT_EQ(datefmt::parse("30-Feb-2024", "dd-MMM-yyyy").kind, datefmt::Parsed::no_such_date);
  EXPECT_EQ(datefmt::parse("29-Feb-2024", "dd-MMM-yyyy").iso, "2024-02-29");
  EXPECT_FALSE(datefmt::valid_pattern("dd-mm-yyyy"));
  EXPECT_FALSE(datefmt::valid_pattern("dd-MM"));
  EXPECT_FALSE(datefmt::valid_pattern("dd-MM-yy"));
}

TEST_F(SandboxTest, EmployeeRecordsByEmailOrEmployeeIdAsABareArray) {
  ASSERT_FALSE(sb().seed_json(kPeopleSeed));
  const std::string view = "/people/api/forms/P_EmployeeView/records";
  HttpReply by_mail = call("GET", view + "?searchColumn=EMPLOYEEMAILALIAS&searchValue=ann.lee%40EXAMPLE.com");
  ASSERT_EQ(by_mail.status, 200);
  auto rows = parse(by_mail.body).get_array().value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(std::string_view(rows.at(0)["recordId"]), "5000001");
  EXPECT_EQ(std::string_view(rows.at(0)["EmployeeID"]), "EMP007");
  EXPECT_EQ(std::string_view(rows.at(0)["Email ID"]), "Ann.Lee@Example.com");
  EXPECT_EQ(std::string_view(rows.at(0)["First Name"]), "Ann");
  EXPECT_EQ(std::string_view(rows.at(0)["Last Name"]), "Lee");
  auto by_id = parse(call("GET", view + "?searchColumn=EMPLOYEEID&searchValue=EMP007").body).get_array().value();
  EXPECT_EQ(std::string_view(by_id.at(0)["recordId"]), "5000001");
  // No hit: People's envelope with 7024 (errors as an object), by default.
  auto none = parse(call("GET", view + "?searchColumn=EMPLOYEEMAILALIAS&searchValue=nobody%40x.com").body)["response"];
  EXPECT_EQ(int64_t(none["status"]), 1);
  EXPECT_EQ(int64_t(none["errors"]["code"]), 7024);
  EXPECT_EQ(std::string_view(none["errors"]["message"]), "No records found");
  // Without a search: everyone, sIndex from 1, limit <= 200.
  EXPECT_EQ(parse(call("GET", view).body).get_array().value().size(), 2u);
  auto second = parse(call("GET", view + "?sIndex=2&limit=1").body).get_array().value();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(std::string_view(second.at(0)["Email ID"]), "bo.chen@example.com");
  EXPECT_EQ(std::string_view(second.at(0)["EmployeeID"]), "EMP002");
  EXPECT_EQ(int64_t(parse(call("GET", view + "?limit=201").body)["response"]["errors"]["code"]), 7021);
  EXPECT_EQ(int64_t(parse(call("GET", "/people/api/forms/P_Nope/records").body)["response"]["errors"]["code"]), 7012);
  // The bulk form API: wrapped, each record under its record id.
  auto bulk = parse(call("GET", "/people/api/forms/employee/getRecords?searchColumn=EMPLOYEEMAILALIAS&searchValue=ann.lee%40example.com")
                        .body)["response"];
  EXPECT_EQ(int64_t(bulk["status"]), 0);
  EXPECT_EQ(std::string_view(bulk["result"].at(0)["5000001"].at(0)["EmployeeID"]), "EMP007");
  EXPECT_EQ(int64_t(bulk["result"].at(0)["5000001"].at(0)["Zoho_ID"]), 5000001);
  // The switches: an empty array for no hit, another email label.
  ASSERT_FALSE(sb().seed_json(R"({"employee_no_hit":"empty_array","employee_email_label":"Email address","users":["c@x.com"]})"));
  EXPECT_EQ(call("GET", view + "?searchColumn=EMPLOYEEID&searchValue=EMP404").body, "[]");
  EXPECT_EQ(std::string_view(parse(call("GET", view).body).at(0)["Email address"]), "c@x.com");
  EXPECT_TRUE(sb().seed_json(R"({"employee_no_hit":"maybe"})"));
}

TEST_F(SandboxTest, EmployeeRecordsThresholdIsThirtyAMinute) {
  ASSERT_FALSE(sb().seed_json(kPeopleSeed));
  for (int i = 0; i < 30; ++i) ASSERT_EQ(call("GET", "/people/api/forms/P_EmployeeView/records").status, 200) << i;
  auto locked = parse(call("GET", "/people/api/forms/P_EmployeeView/records").body)["response"];
  EXPECT_EQ(int64_t(locked["errors"].at(0)["code"]), 7209);
  auto st = parse(sb().handle(req("GET", "/_admin/stats", "", false)).body)["endpoints"]["people/records"];
  EXPECT_EQ(int64_t(st["calls"]), 31);
  EXPECT_EQ(int64_t(st["lock_events"]), 1);
}

TEST_F(SandboxTest, FormsJobWriteTakesErecnosAndTheCompanyDateFormat) {
  ASSERT_FALSE(sb().seed_json(kPeopleSeed));
  const std::string insert = "/people/api/forms/json/P_TimesheetJob/insertRecord";
  auto write = [&](const std::string& target, const std::string& input, const std::string& extra = "") {
    return std::string(call("POST", target, extra + "inputData=" + enc(input)).body);
  };
  const std::string ok = write(insert, R"({"Job_Name":"Deal 1","StartDate":"01-Apr-2024","EndDate":"30-Apr-2024","Project":"P1",)"
                                       R"("Assignees":"5000001","AssigneeHours":"20","AssigneeRate":"100"})");
  ASSERT_EQ(int64_t(parse(ok)["response"]["status"]), 0) << ok;
  const std::string id{std::string_view(parse(ok)["response"]["result"]["pkId"])};
  auto details = parse(call("GET", "/people/api/timetracker/getjobdetails?jobId=" + id).body)["response"]["result"].at(0);
  EXPECT_EQ(std::string_view(details["fromDate"]), "01-Apr-2024");  // the company format
  EXPECT_EQ(std::string_view(details["toDate"]), "30-Apr-2024");
  EXPECT_EQ(std::string_view(details["assignees"].at(0)["erecno"]), "5000001");
  EXPECT_EQ(std::string_view(details["assignees"].at(0)["hours"]), "20:00");
  EXPECT_EQ(std::string_view(details["assignees"].at(0)["name"]), "Ann Lee");
  EXPECT_EQ(int64_t(details["assignees"].at(0)["rate"]), 100);
  auto iso = parse(call("GET", "/people/api/timetracker/getjobdetails?dateFormat=yyyy-MM-dd&jobId=" + id).body)["response"]["result"].at(0);
  EXPECT_EQ(std::string_view(iso["fromDate"]), "2024-04-01");
  // Refusals, each in People's forms envelope (errors as an object).
  auto refused = [&](const std::string& input, const std::string& target = "", const std::string& extra = "") {
    auto env = parse(write(target.empty() ? insert : target, input, extra))["response"];
    EXPECT_EQ(int64_t(env["status"]), 1) << input;
    EXPECT_TRUE(env["errors"].is_object()) << input;
    return std::pair<int64_t, std::string>(int64_t(env["errors"]["code"]), std::string(std::string_view(env["errors"]["message"])));
  };
  auto bad_date = refused(R"({"Job_Name":"x","StartDate":"2024-04-01","Assignees":"5000001"})");
  EXPECT_EQ(bad_date.first, 7055);
  EXPECT_NE(bad_date.second.find("'dd-MMM-yyyy'"), std::string::npos) << bad_date.second;
  EXPECT_EQ(refused(R"({"Job_Name":"x","EndDate":"31-Feb-2024","Assignees":"5000001"})").first, 7054);
  for (const char* who : {"ann.lee@example.com", "EMP007", "999"}) {
    auto r = refused(std::string(R"({"Job_Name":"x","Assignees":")") + who + "\"}");
    EXPECT_EQ(r.first, 7048) << who;
    EXPECT_NE(r.second.find(who), std::string::npos) << r.second;
  }
  auto label = refused(R"({"Job_Name":"x","Assignees":"5000001","Description":"CRM deal 1"})");
  EXPECT_EQ(label.first, 7013);
  EXPECT_NE(label.second.find("Description"), std::string::npos);
  EXPECT_EQ(refused(R"({"Assignees":"5000001"})").first, 7052);
  EXPECT_EQ(refused(R"({"Job_Name":"x","Assignees":"5000001","Project":"P2"})").first, 7050);
  EXPECT_EQ(refused(R"({"Job_Name":"x","Assignees":"5000001"})", "/people/api/forms/json/P_Other/insertRecord").first, 7011);
  const std::string update = "/people/api/forms/json/P_TimesheetJob/updateRecord";
  EXPECT_EQ(refused(R"({"Job_Name":"y"})", update).first, 7019);
  EXPECT_EQ(refused(R"({"Job_Name":"y"})", update, "recordId=404&").first, 7049);
  // Assignees "All": every employee; an update keeps what it does not name.
  const std::string all = write(update, R"({"Assignees":"All","EndDate":"31-May-2024"})", "recordId=" + id + "&");
  ASSERT_EQ(int64_t(parse(all)["response"]["status"]), 0) << all;
  auto jobs = parse(sb().handle(req("GET", "/_admin/people/jobs", "", false)).body).get_array().value();
  for (auto j : jobs) {
    if (std::string_view(j["id"]) != id) continue;
    EXPECT_EQ(std::string_view(j["name"]), "Deal 1");
    EXPECT_EQ(std::string_view(j["from_date"]), "2024-04-01");
    EXPECT_EQ(std::string_view(j["to_date"]), "2024-05-31");
    ASSERT_EQ(j["assignees"].get_array().value().size(), 2u);
    EXPECT_EQ(std::string_view(j["assignees"].at(0)["who"]), "Ann.Lee@Example.com");
    EXPECT_EQ(std::string_view(j["assignees"].at(0)["erecno"]), "5000001");
  }
  // Another company format: only it is accepted.
  ASSERT_FALSE(sb().seed_json(std::string(kPeopleSeed).insert(1, R"("date_format":"dd/MM/yyyy",)")));
  EXPECT_EQ(int64_t(parse(write(insert, R"({"Job_Name":"x","StartDate":"01/04/2024","Assignees":"5000001"})"))["response"]["status"]), 0);
  EXPECT_EQ(refused(R"({"Job_Name":"x","StartDate":"01-Apr-2024","Assignees":"5000001"})").first, 7055);
  EXPECT_TRUE(sb().seed_json(R"({"date_format":"dd-mm-yy"})"));
}

TEST_F(SandboxTest, JobAndTimelogReadsUseDateFormatOrTheCompanyFormat) {
  ASSERT_FALSE(sb().seed_json(kPeopleSeed));
  auto job = parse(call("GET", "/people/api/timetracker/getjobs?assignedTo=ann.lee%40example.com").body)["response"]["result"];
  ASSERT_EQ(job.get_array().value().size(), 1u);
  EXPECT_EQ(std::string_view(job.at(0)["fromDate"]), "01-Jun-2024");
  auto us = parse(call("GET", "/people/api/timetracker/getjobs?assignedTo=EMP007&dateFormat=MM/dd/yyyy").body)["response"]["result"];
  EXPECT_EQ(std::string_view(us.at(0)["toDate"]), "06/30/2024");
  EXPECT_EQ(int64_t(parse(call("GET", "/people/api/timetracker/getjobs?assignedTo=all&dateFormat=dd-mm-yyyy").body)["response"]["errors"].at(0)["code"]), 9003);
  EXPECT_EQ(int64_t(parse(call("GET", "/people/api/timetracker/getjobs?assignedTo=zed%40x.com").body)["response"]["errors"].at(0)["code"]), 9003);
  const std::string log = R"([{"user":"5000001","jobId":"J1","date":"2024-06-10","hours":"02:00"}])";
  ASSERT_EQ(int64_t(parse(call("POST", "/people/api/timetracker/addupdatetimelogs", "timelogs=" + enc(log)).body)["response"]["status"]), 0);
  const std::string logs = "/people/api/timetracker/gettimelogs?user=all";
  auto company = parse(call("GET", logs + "&fromDate=01-Jun-2024&toDate=15-Jun-2024").body)["response"]["result"];
  EXPECT_EQ(std::string_view(company.at(0)["workDate"]), "10-Jun-2024");
  // Dates not in the format read: 9004.
  EXPECT_EQ(int64_t(parse(call("GET", logs + "&fromDate=2024-06-01&toDate=2024-06-15").body)["response"]["errors"].at(0)["code"]), 9004);
  auto asked = parse(call("GET", logs + "&fromDate=2024-06-01&toDate=2024-06-15&dateFormat=yyyy-MM-dd").body)["response"]["result"];
  EXPECT_EQ(std::string_view(asked.at(0)["workDate"]), "2024-06-10");
  EXPECT_EQ(int64_t(parse(call("GET", logs + "&fromDate=15-Jun-2024&toDate=01-Jun-2024").body)["response"]["errors"].at(0)["code"]), 9006);
}

TEST_F(SandboxTest, TimelogsTakeEmailErecnoOrEmployeeIdAndReplyWithRealKeys) {
  ASSERT_FALSE(sb().seed_json(kPeopleSeed));
  const std::string items = R"([{"user":"ANN.LEE@example.com","jobId":"J1","date":"2024-06-10","hours":"01:00","workItem":"Call 1"},
                                {"user":"5000001","jobId":"J1","date":"2024-06-11","hours":"1:30","workItem":"Call 2"},
                                {"user":"EMP007","jobId":"J1","date":"2024-06-12","hours":"02:00","workItem":"Call 3"},
                                {"user":"zed@x.com","jobId":"J1","date":"2024-06-12","hours":"02:00","workItem":"Call 4"}])";
  auto env = parse(call("POST", "/people/api/timetracker/addupdatetimelogs", "timelogs=" + enc(items)).body)["response"];
  ASSERT_EQ(int64_t(env["status"]), 0);
  EXPECT_EQ(env["result"]["addedTimelogIds"].get_array().value().size(), 3u);
  auto err = env["result"]["errorLogs"].at(0);
  EXPECT_EQ(int64_t(err["errorCode"]), 8001);
  EXPECT_EQ(std::string_view(err["message"]), "Wrong value for user parameter");
  EXPECT_EQ(std::string_view(err["user"]), "zed@x.com");  // unknown: as sent
  EXPECT_EQ(std::string_view(err["jobId"]), "Open");      // normalised: the job's name
  const std::string range = "&fromDate=01-Jun-2024&toDate=15-Jun-2024";
  auto rows = parse(call("GET", "/people/api/timetracker/gettimelogs?user=EMP007" + range).body)["response"]["result"];
  ASSERT_EQ(rows.get_array().value().size(), 3u);
  auto row = rows.at(1);
  EXPECT_EQ(std::string_view(row["erecno"]), "5000001");
  EXPECT_EQ(std::string_view(row["employeeMailId"]), "Ann.Lee@Example.com");
  EXPECT_EQ(std::string_view(row["jobId"]), "J1");
  EXPECT_EQ(std::string_view(row["jobName"]), "Open");
  EXPECT_EQ(std::string_view(row["workDate"]), "11-Jun-2024");
  EXPECT_EQ(std::string_view(row["hours"]), "01:30");
  EXPECT_TRUE(row["timelogId"].is_string());
  EXPECT_TRUE(row["billingStatus"].is_string());
  EXPECT_TRUE(row["approvalStatus"].is_string());
  EXPECT_EQ(row["workItem"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(parse(call("GET", "/people/api/timetracker/gettimelogs?user=ann.lee%40example.com" + range).body)["response"]["result"]
                .get_array().value().size(), 3u);
  EXPECT_EQ(int64_t(parse(call("GET", "/people/api/timetracker/gettimelogs?user=zed%40x.com" + range).body)["response"]["errors"].at(0)["code"]), 9003);
  // Admin: the user's email (as the e2e checkers compare) and its erecno.
  auto admin = parse(sb().handle(req("GET", "/_admin/people/timelogs", "", false)).body).at(0);
  EXPECT_EQ(std::string_view(admin["user"]), "Ann.Lee@Example.com");
  EXPECT_EQ(std::string_view(admin["erecno"]), "5000001");
  EXPECT_EQ(std::string_view(admin["date"]), "2024-06-10");
  EXPECT_EQ(std::string_view(admin["work_item"]), "Call 1");
  // The switch: rows with workItem.
  ASSERT_FALSE(sb().seed_json(std::string(kPeopleSeed).insert(1, R"("timelog_work_item":true,)")));
  call("POST", "/people/api/timetracker/addupdatetimelogs", "timelogs=" + enc(items));
  auto with = parse(call("GET", "/people/api/timetracker/gettimelogs?user=all" + range).body)["response"]["result"].at(0);
  EXPECT_EQ(std::string_view(with["workItem"]), "Call 1");
}

TEST_F(SandboxTest, TimelogErrorLogsEchoNormalisedOrVerbatim) {
  const std::string item = R"([{"user":"ANN.LEE@example.com","jobId":"J2","date":"2024-06-10","hours":"1:00"},)"
                           R"({"user":"5000001","jobId":"J1","date":"2024-06-10","hours":"01:00"}])";
  ASSERT_FALSE(sb().seed_json(kPeopleSeed));
  auto normalised = parse(call("POST", "/people/api/timetracker/addupdatetimelogs", "timelogs=" + enc(item)).body)["response"]["result"]["errorLogs"].at(0);
  EXPECT_EQ(int64_t(normalised["errorCode"]), 9025);
  EXPECT_EQ(std::string_view(normalised["user"]), "5000001");
  EXPECT_EQ(std::string_view(normalised["jobId"]), "Closed");
  EXPECT_EQ(std::string_view(normalised["hours"]), "01:00");
  EXPECT_EQ(std::string_view(normalised["date"]), "10-Jun-2024");
  ASSERT_FALSE(sb().seed_json(std::string(kPeopleSeed).insert(1, R"("timelog_echo":"verbatim",)")));
  auto verbatim = parse(call("POST", "/people/api/timetracker/addupdatetimelogs", "timelogs=" + enc(item)).body)["response"]["result"]["errorLogs"].at(0);
  EXPECT_EQ(std::string_view(verbatim["user"]), "ANN.LEE@example.com");
  EXPECT_EQ(std::string_view(verbatim["jobId"]), "J2");
  EXPECT_EQ(std::string_view(verbatim["hours"]), "1:00");
  EXPECT_EQ(std::string_view(verbatim["date"]), "2024-06-10");
  EXPECT_TRUE(sb().seed_json(R"({"timelog_echo":"loud"})"));
}

TEST_F(SandboxTest, EmptyListsHaveNoResultKeyOrAnEmptyArray) {
  ASSERT_FALSE(sb().seed_json("{}"));
  for (const char* target : {"/people/api/timetracker/getprojects", "/people/api/timetracker/getclients",
                             "/people/api/timetracker/getjobs?assignedTo=all", "/people/api/timetracker/gettimelogs"}) {
    auto env = parse(call("GET", target).body)["response"];
    EXPECT_EQ(int64_t(env["status"]), 0) << target;
    EXPECT_EQ(env["result"].error(), simdjson::NO_SUCH_FIELD) << target;
    EXPECT_EQ(std::string_view(env["message"]), "No records found") << target;
  }
  ASSERT_FALSE(sb().seed_json(R"({"people_empty_list":"empty_array"})"));
  for (const char* target : {"/people/api/timetracker/getprojects", "/people/api/timetracker/getclients",
                             "/people/api/timetracker/getjobs?assignedTo=all", "/people/api/timetracker/gettimelogs"}) {
    auto env = parse(call("GET", target).body)["response"];
    EXPECT_EQ(int64_t(env["status"]), 0) << target;
    EXPECT_EQ(env["result"].get_array().value().size(), 0u) << target;
  }
}

TEST_F(SandboxTest, DemoSeedHasOneEmployeePerUserAndAdminAddsMore) {
  sb().seed_demo(10);
  auto list = parse(sb().handle(req("GET", "/_admin/people/employees", "", false)).body).get_array().value();
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(std::string_view(list.at(0)["email"]), "ann.lee@example.com");
  EXPECT_EQ(std::string_view(list.at(0)["employee_id"]), "EMP001");
  EXPECT_EQ(std::string_view(list.at(0)["first_name"]), "Ann");
  EXPECT_EQ(std::string_view(list.at(0)["last_name"]), "Lee");
  EXPECT_GE(std::string_view(list.at(0)["erecno"]).size(), 15u);
  HttpReply added = sb().handle(req("POST", "/_admin/people/employees", R"({"email":"new.hire@example.com"})", false));
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(std::string_view(parse(added.body)["employee_id"]), "EMP006");
  EXPECT_EQ(sb().handle(req("POST", "/_admin/people/employees", R"({"email":"new.hire@example.com"})", false)).status, 400);
  auto found = parse(call("GET", "/people/api/forms/P_EmployeeView/records?searchColumn=EMPLOYEEID&searchValue=EMP006").body);
  EXPECT_EQ(std::string_view(found.at(0)["Email ID"]), "new.hire@example.com");
}

// ------------------------------------------------------------ faults and admin

TEST_F(SandboxTest, FaultsAreDeterministicForASeed) {
  std::string error;
  auto f = parse_faults("error_rate=0.3,drop_after=0.3,garbage=0.1", &error);
  ASSERT_TRUE(f) << error;
  EXPECT_FALSE(parse_faults("error_rate=2", &error));
  EXPECT_FALSE(parse_faults("explode=1", &error));
  auto run = [&] {
    sb_.reset();
    token_.clear();
    sb().seed_demo(10);
    sb().set_faults(*f);
    std::string trace;
    for (int i = 0; i < 50; ++i) {
      HttpReply r = call("GET", "/crm/v2/Deals?per_page=1");
      trace += std::to_string(r.status) + (r.fault == net::Fault::close_without_reply ? "x" : "") +
               (r.body.rfind("<html>", 0) == 0 ? "g" : "") + ",";
    }
    return trace;
  };
  const std::string a = run();
  EXPECT_EQ(a, run());
  EXPECT_NE(a.find("50"), std::string::npos);  // some 5xx
  EXPECT_NE(a.find('x'), std::string::npos) << a;   // some dropped after commit
}

TEST_F(SandboxTest, AdminIsLoopbackOnly) {
  HttpRequest r = req("GET", "/_admin/stats", "", false);
  r.remote_address = "10.1.2.3";
  EXPECT_EQ(sb().handle(r).status, 403);
}


// ------------------------------------------------------------ OAuth scopes, People auth, code grant
// (sandbox/auth.cpp; evidence in /tmp/evidence-crm.md)

namespace {

HttpRequest token_request(const std::string& body) {
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/oauth/v2/token";
  r.body = body;
  r.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  return r;
}

}  // namespace

class SandboxAuthTest : public SandboxTest {
 protected:
  std::string token_for(const std::string& refresh) {
    HttpReply reply = sb().handle(token_request(
        "grant_type=refresh_token&client_id=sandbox-client&client_secret=sandbox-secret&refresh_token=" + refresh));
    simdjson::dom::parser p;
    std::string_view t;
    if (p.parse(reply.body)["access_token"].get_string().get(t) != simdjson::SUCCESS) return "";
    return std::string(t);
  }
  HttpReply call_as(const std::string& access, std::string method, std::string target, std::string body = "") {
    HttpRequest r = req(std::move(method), std::move(target), std::move(body), false);
    if (!access.empty()) r.headers.push_back({"Authorization", "Zoho-oauthtoken " + access});
    return sb().handle(r);
  }
  HttpReply admin(std::string method, std::string target, std::string body = "") {
    return sb().handle(req(std::move(method), std::move(target), std::move(body), false));
  }
  // The default refresh token limited to `scopes`, and a fresh access token for it.
  std::string restricted(const std::string& scopes) {
    EXPECT_EQ(admin("POST", "/_admin/scopes?refresh_token=sandbox-refresh-token&scopes=" + scopes).status, 200);
    return token_for("sandbox-refresh-token");
  }
};

TEST_F(SandboxAuthTest, ScopeMismatchCrmIs401AndPeopleIs7218) {
  sb().seed_demo(10);
  const std::string t = restricted("ZOHOPEOPLE.timetracker.READ");
  HttpReply crm = call_as(t, "GET", "/crm/v2/Deals");
  EXPECT_EQ(crm.status, 401);
  EXPECT_EQ(crm.body,
            R"({"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"})");
  HttpReply read = call_as(t, "GET", "/people/api/timetracker/getprojects");
  EXPECT_EQ(int64_t(parse(read.body)["response"]["status"]), 0) << read.body;
  HttpReply write = call_as(t, "POST", "/people/api/forms/json/P_TimesheetJob/insertRecord", "inputData=%7B%7D");
  EXPECT_EQ(write.status, 200);  // people_http_error_status
  EXPECT_EQ(write.body,
            R"({"response":{"message":"Error","uri":"/api/forms/json/P_TimesheetJob/insertRecord","errors":{"code":7218,"message":"Invalid OAuth Scope"},"status":1}})");
  EXPECT_NE(call_as(t, "POST", "/people/api/timetracker/addupdatetimelogs", "timelogs=%5B%5D").body.find("7218"),
            std::string::npos);
  auto stats = parse(admin("GET", "/_admin/stats").body);
  EXPECT_EQ(int64_t(stats["scope_mismatches"]), 3);
  EXPECT_EQ(int64_t(stats["endpoints"]["crm/Deals"]["errors"]["OAUTH_SCOPE_MISMATCH"]), 1);
  EXPECT_EQ(int64_t(stats["endpoints"]["people/insertRecord"]["errors"]["7218"]), 1);
  // Behaviour.people_http_error_status applies to 7218 too.
  behaviour_.people_http_error_status = "400";
  sb_.reset();
  const std::string t2 = restricted("ZOHOPEOPLE.timetracker.READ");
  EXPECT_EQ(call_as(t2, "POST", "/people/api/forms/json/P_TimesheetJob/updateRecord", "inputData=%7B%7D").status, 400);
}

TEST_F(SandboxAuthTest, ScopeTableAnyOneSufficesCaseInsensitive) {
  sb().seed_demo(10);
  std::string t = restricted("zohocrm.modules.deals.read,ZohoCRM.settings.fields.READ");
  EXPECT_EQ(call_as(t, "GET", "/crm/v2/Deals").status, 200);
  EXPECT_EQ(call_as(t, "GET", "/crm/v2/Deals/deleted").status, 204);
  EXPECT_EQ(call_as(t, "GET", "/crm/v2/Calls").status, 401);
  EXPECT_EQ(call_as(t, "PUT", "/crm/v2/Deals", R"({"data":[]})").status, 401);
  EXPECT_EQ(call_as(t, "GET", "/crm/v2/settings/fields?module=Deals").status, 200);
  EXPECT_EQ(call_as(t, "POST", "/crm/v2/coql", R"({"select_query":"select id from Deals"})").status, 401);
  t = restricted("ZohoCRM.modules.UPDATE,ZohoCRM.coql.READ,ZohoCRM.modules.calls.ALL");
  EXPECT_EQ(call_as(t, "PUT", "/crm/v2/Deals", R"({"data":[{"id":"4150868000002000001","Deal_Name":"X"}]})").status, 200);
  EXPECT_EQ(call_as(t, "GET", "/crm/v2/Deals").status, 401);
  EXPECT_EQ(call_as(t, "GET", "/crm/v2/settings/fields?module=Deals").status, 401);
  // COQL needs coql.READ and read on the module of the query.
  EXPECT_EQ(call_as(t, "POST", "/crm/v2/coql", R"({"select_query":"select id from Calls limit 1"})").status, 200);
  EXPECT_EQ(call_as(t, "POST", "/crm/v2/coql", R"({"select_query":"select id from Deals limit 1"})").status, 401);
  // Employee records: forms READ/ALL or employee.ALL; the time tracker scope is not enough.
  t = restricted("ZOHOPEOPLE.timetracker.ALL");
  EXPECT_NE(call_as(t, "GET", "/people/api/forms/P_EmployeeView/records").body.find("7218"), std::string::npos);
  EXPECT_EQ(call_as(t, "POST", "/people/api/timetracker/deletetimelog?timeLogId=1").body.find("7218"), std::string::npos);
  t = restricted("ZOHOPEOPLE.employee.ALL");
  EXPECT_EQ(call_as(t, "GET", "/people/api/forms/P_EmployeeView/records").body.find("7218"), std::string::npos);
  // "all" gives every scope back; tokens issued before keep their own list.
  const std::string old = t;
  EXPECT_EQ(admin("POST", "/_admin/scopes?refresh_token=sandbox-refresh-token&scopes=all").status, 200);
  EXPECT_EQ(call_as(token_for("sandbox-refresh-token"), "GET", "/crm/v2/Deals").status, 200);
  EXPECT_EQ(call_as(old, "GET", "/crm/v2/Deals").status, 401);
}

TEST_F(SandboxAuthTest, ScopesAndGrantCodesFromTheJsonSeed) {
  ASSERT_EQ(sb().seed_json(R"({"scopes":{"crm-only":["ZohoCRM.modules.ALL"]},"grant_codes":{"1000.code":["ZOHOPEOPLE.timetracker.ALL"]},
                               "crm":{"Deals":[{"id":"1","Deal_Name":"A"}]}})"),
            std::nullopt);
  const std::string t = token_for("crm-only");
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(call_as(t, "GET", "/crm/v2/Deals").status, 200);
  EXPECT_NE(call_as(t, "GET", "/people/api/timetracker/getjobs").body.find("7218"), std::string::npos);
  HttpReply grant = sb().handle(
      token_request("grant_type=authorization_code&client_id=sandbox-client&client_secret=sandbox-secret&code=1000.code"));
  const std::string access{std::string_view(parse(grant.body)["access_token"])};
  EXPECT_EQ(call_as(access, "GET", "/crm/v2/Deals").status, 401);
  EXPECT_EQ(sb().seed_json(R"({"scopes":{"x":"ZohoCRM.modules.ALL"}})").value_or(""), "scopes: a scope list must be an array of strings");
}

TEST_F(SandboxAuthTest, PeopleAuthFailuresAnswerInPeoplesEnvelope) {
  sb().seed_demo(10);
  HttpReply bad = call_as("1000.nope", "GET", "/people/api/timetracker/getjobs");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body,
            R"({"response":{"message":"Error","uri":"/api/timetracker/getjobs","errors":{"code":7202,"message":"Invalid OAuth token"},"status":1}})");
  EXPECT_EQ(call_as("", "GET", "/people/api/forms/P_EmployeeView/records").status, 400);
  HttpReply crm = call_as("1000.nope", "GET", "/crm/v2/Deals");
  EXPECT_EQ(crm.status, 401);
  EXPECT_NE(crm.body.find("INVALID_TOKEN"), std::string::npos);
  // Expired: same reply.
  const std::string t = token_for("sandbox-refresh-token");
  clock_.advance(std::chrono::hours(2));
  EXPECT_NE(call_as(t, "GET", "/people/api/timetracker/getprojects").body.find("7202"), std::string::npos);
  auto stats = parse(admin("GET", "/_admin/stats").body);
  EXPECT_EQ(int64_t(stats["endpoints"]["people/getjobs"]["errors"]["7202"]), 1);
  // The switches: 7213, HTTP 200.
  behaviour_.people_auth_code = "7213";
  behaviour_.people_auth_http_status = "200";
  sb_.reset();
  HttpReply switched = call_as("1000.nope", "POST", "/people/api/timetracker/addupdatetimelogs", "timelogs=%5B%5D");
  EXPECT_EQ(switched.status, 200);
  EXPECT_EQ(int64_t(parse(switched.body)["response"]["errors"]["code"]), 7213);
}

TEST_F(SandboxAuthTest, AuthorizationCodeGrantIsSingleUseAndExpires) {
  sb().seed_demo(10);
  HttpReply made = admin("POST", "/_admin/grant_code?code=1000.abc&scopes=ZohoCRM.modules.ALL,ZOHOPEOPLE.timetracker.READ");
  ASSERT_EQ(made.status, 200);
  EXPECT_EQ(int64_t(parse(made.body)["expires_in_sec"]), 180);
  const std::string exchange =
      "grant_type=authorization_code&client_id=sandbox-client&client_secret=sandbox-secret&redirect_uri=http%3A%2F%2Flocalhost&code=";
  HttpReply reply = sb().handle(token_request(exchange + "1000.abc"));
  ASSERT_EQ(reply.status, 200);
  auto doc = parse(reply.body);
  const std::string access{std::string_view(doc["access_token"])};
  const std::string refresh{std::string_view(doc["refresh_token"])};
  EXPECT_EQ(std::string_view(doc["api_domain"]), "https://www.zohoapis.com");
  EXPECT_EQ(std::string_view(doc["token_type"]), "Bearer");
  EXPECT_EQ(int64_t(doc["expires_in"]), 3600);
  EXPECT_NE(refresh, "sandbox-refresh-token");
  EXPECT_EQ(call_as(access, "GET", "/crm/v2/Deals").status, 200);
  EXPECT_NE(call_as(access, "POST", "/people/api/timetracker/addupdatetimelogs", "timelogs=%5B%5D").body.find("7218"),
            std::string::npos);
  // The new refresh token works, with the code's scopes.
  const std::string again = token_for(refresh);
  EXPECT_EQ(call_as(again, "GET", "/crm/v2/Deals").status, 200);
  EXPECT_NE(call_as(again, "GET", "/crm/v2/settings/fields?module=Deals").body.find("OAUTH_SCOPE_MISMATCH"), std::string::npos);
  // Used once: invalid_code, HTTP 200. Unknown: the same.
  HttpReply used = sb().handle(token_request(exchange + "1000.abc"));
  EXPECT_EQ(used.status, 200);
  EXPECT_EQ(used.body, R"({"error":"invalid_code"})");
  EXPECT_EQ(sb().handle(token_request(exchange + "1000.never")).body, R"({"error":"invalid_code"})");
  // Expired after grant_code_lifetime (default 3 minutes).
  admin("POST", "/_admin/grant_code?code=1000.late");
  clock_.advance(std::chrono::seconds(181));
  EXPECT_EQ(sb().handle(token_request(exchange + "1000.late")).body, R"({"error":"invalid_code"})");
  // A code without scopes grants every scope; a wrong client is invalid_client.
  admin("POST", "/_admin/grant_code?code=1000.all");
  EXPECT_EQ(sb().handle(token_request("grant_type=authorization_code&client_id=x&client_secret=y&code=1000.all")).body,
            R"({"error":"invalid_client"})");
  HttpReply all = sb().handle(token_request(exchange + "1000.all"));
  EXPECT_EQ(call_as(std::string(std::string_view(parse(all.body)["access_token"])), "GET", "/crm/v2/settings/fields?module=Deals").status, 200);
  EXPECT_EQ(int64_t(parse(admin("GET", "/_admin/stats").body)["endpoints"]["accounts/token"]["errors"]["invalid_code"]), 3);
}

// ------------------------------------------------------------ CRM metadata, typed PUT, ids, IMS

TEST_F(SandboxTest, CrmFieldMetadata) {
  behaviour_.crm_daily_credits = 2;
  sb().seed_demo(10);
  HttpReply r = call("GET", "/crm/v2/settings/fields?module=Deals");
  ASSERT_EQ(r.status, 200);
  std::map<std::string, simdjson::dom::element> by_name;
  simdjson::dom::array fields = parse(r.body)["fields"];
  for (auto f : fields) by_name[std::string(std::string_view(f["api_name"]))] = f;
  ASSERT_TRUE(by_name.count("Hours_Logged"));
  EXPECT_EQ(std::string_view(by_name["Hours_Logged"]["data_type"]), "double");
  EXPECT_EQ(std::string_view(by_name["Hours_Logged"]["json_type"]), "double");
  EXPECT_FALSE(bool(by_name["Hours_Logged"]["read_only"]));
  EXPECT_TRUE(by_name["Hours_Logged"]["id"].is_string());
  EXPECT_EQ(std::string_view(by_name["Hours_Logged"]["field_label"]), "Hours Logged");
  EXPECT_TRUE(bool(by_name["Modified_Time"]["read_only"]));
  EXPECT_TRUE(bool(by_name["Modified_Time"]["field_read_only"]));
  EXPECT_EQ(std::string_view(by_name["Owner"]["json_type"]), "jsonobject");
  EXPECT_EQ(std::string_view(by_name["Closing_Date"]["data_type"]), "date");
  EXPECT_EQ(std::string_view(by_name["Stage"]["pick_list_values"].at(2)["actual_value"]), "Closed Won");
  HttpReply unknown = call("GET", "/crm/v2/settings/fields?module=Nope");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body,
            R"({"code":"INVALID_MODULE","details":{},"message":"the module name given seems to be invalid","status":"error"})");
  EXPECT_EQ(call("GET", "/crm/v2/settings/fields?module=Calls").status, 429);  // 1 credit per call
}

TEST_F(SandboxTest, CrmFieldMetadataFromTheSeed) {
  ASSERT_EQ(sb().seed_json(R"({"fields":{"Deals":[{"api_name":"Hours_Logged","data_type":"double"},
                                                  {"api_name":"Flag","data_type":"boolean","read_only":true}]},
                               "crm":{"Calls":[{"id":"1","Subject":"S","Call_Duration_in_seconds":60}]}})"),
            std::nullopt);
  auto fields = parse(call("GET", "/crm/v2/settings/fields?module=Deals").body)["fields"].get_array().value();
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(std::string_view(fields.at(1)["json_type"]), "boolean");
  EXPECT_TRUE(bool(fields.at(1)["read_only"]));
  // No definitions: system fields plus what the records hold (no typed PUT then).
  const std::string calls = call("GET", "/crm/v2/settings/fields?module=Calls").body;
  EXPECT_NE(calls.find(R"("api_name":"Call_Duration_in_seconds","field_label":"Call Duration in seconds","display_label":"Call Duration in seconds","data_type":"integer")"),
            std::string::npos)
      << calls;
  EXPECT_EQ(call("PUT", "/crm/v2/Calls", R"({"data":[{"id":"1","Call_Duration_in_seconds":"x","Other":1}]})").status, 200);
}

TEST_F(SandboxTest, CrmTypedPutAnswersInvalidDataPerRecord) {
  sb().seed_demo(10);
  const std::string a = "4150868000002000000", b = "4150868000002000001";
  HttpReply wrong = call("PUT", "/crm/v2/Deals", R"({"data":[{"id":")" + a + R"(","Hours_Logged":"12.5"}]})");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.body,
            R"({"data":[{"code":"INVALID_DATA","details":{"expected_data_type":"double","api_name":"Hours_Logged"},"message":"invalid data","status":"error"}]})");
  HttpReply mixed = call("PUT", "/crm/v2/Deals",
                         R"({"data":[{"id":")" + a + R"(","Hours_Logged":12.5,"Job_Status":"In-Progress"},{"id":")" + b +
                             R"(","Hours_Logged":3,"Closing_Date":"01-May-2024"}]})");
  EXPECT_EQ(mixed.status, 207);
  auto res = parse(mixed.body)["data"];
  EXPECT_EQ(std::string_view(res.at(0)["code"]), "SUCCESS");
  EXPECT_EQ(std::string_view(res.at(1)["details"]["expected_data_type"]), "date");
  EXPECT_EQ(std::string_view(res.at(1)["details"]["api_name"]), "Closing_Date");
  // The refused record changed nothing; the other one did.
  const std::string stored = sb().handle(req("GET", "/_admin/crm/Deals", "", false)).body;
  EXPECT_NE(stored.find(R"("Hours_Logged":12.5)"), std::string::npos);
  EXPECT_EQ(stored.find(R"("Hours_Logged":3)"), std::string::npos);
  auto one = [&](const std::string& field_and_value) {
    return parse(call("PUT", "/crm/v2/Deals", R"({"data":[{"id":")" + b + R"(",)" + field_and_value + "}]}").body)["data"].at(0);
  };
  EXPECT_EQ(std::string_view(one(R"("Hours_Logged":null)")["code"]), "SUCCESS");
  EXPECT_EQ(std::string_view(one(R"("Amount":"100")")["details"]["expected_data_type"]), "currency");
  EXPECT_EQ(std::string_view(one(R"("Deal_Name":5)")["details"]["expected_data_type"]), "text");
  EXPECT_EQ(std::string_view(one(R"("Account_Name":{"id":"4150868000000100000"})")["code"]), "SUCCESS");
  EXPECT_EQ(std::string_view(one(R"("Account_Name":5)")["details"]["expected_data_type"]), "lookup");
  // Read-only and unknown fields: INVALID_DATA naming the field.
  auto ro = one(R"("Modified_Time":"2024-05-01T10:00:00+00:00")");
  EXPECT_EQ(std::string_view(ro["code"]), "INVALID_DATA");
  EXPECT_EQ(std::string_view(ro["details"]["api_name"]), "Modified_Time");
  EXPECT_EQ(ro["details"]["expected_data_type"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(std::string_view(one(R"("Nope":"x")")["details"]["api_name"]), "Nope");
  // Calls: integer and datetime (numeric offset only).
  const std::string c = "4150868000003000000";
  auto put_call = [&](const std::string& fv) {
    return std::string(std::string_view(parse(call("PUT", "/crm/v2/Calls", R"({"data":[{"id":")" + c + R"(",)" + fv + "}]}").body)["data"].at(0)["code"]));
  };
  EXPECT_EQ(put_call(R"("Call_Duration_in_seconds":600)"), "SUCCESS");
  EXPECT_EQ(put_call(R"("Call_Duration_in_seconds":600.5)"), "INVALID_DATA");
  EXPECT_EQ(put_call(R"("Call_Start_Time":"2024-05-01T10:00:00+05:30")"), "SUCCESS");
  EXPECT_EQ(put_call(R"("Call_Start_Time":"2024-05-01T10:00:00Z")"), "INVALID_DATA");
  EXPECT_EQ(put_call(R"("Call_Start_Time":"2024-05-01")"), "INVALID_DATA");
}

TEST_F(SandboxTest, CrmPutIgnoresReadOnlyAndUnknownWhenSwitched) {
  behaviour_.crm_refuse_read_only = false;
  behaviour_.crm_refuse_unknown_fields = false;
  sb().seed_demo(10);
  HttpReply r = call("PUT", "/crm/v2/Deals",
                     R"({"data":[{"id":"4150868000002000000","Modified_Time":"2020-01-01T00:00:00+00:00","Nope":1,"Deal_Name":"Z"}]})");
  EXPECT_EQ(r.status, 200);
  const std::string stored = sb().handle(req("GET", "/_admin/crm/Deals", "", false)).body;
  EXPECT_EQ(stored.find("Nope"), std::string::npos);
  EXPECT_EQ(stored.find("2020-01-01"), std::string::npos);
  EXPECT_NE(stored.find(R"("Deal_Name":"Z")"), std::string::npos);
  // The type check stays.
  EXPECT_EQ(call("PUT", "/crm/v2/Deals", R"({"data":[{"id":"4150868000002000000","Hours_Logged":"1"}]})").status, 400);
}

TEST_F(SandboxTest, CrmIfModifiedSinceRefusesBareZ) {
  sb().seed_demo(10);
  auto get = [&](const std::string& target, const std::string& ims) {
    HttpRequest r = req("GET", target);
    r.headers.push_back({"If-Modified-Since", ims});
    return sb().handle(r);
  };
  HttpReply z = get("/crm/v2/Deals", "2024-05-01T10:00:00Z");
  EXPECT_EQ(z.status, 400);
  EXPECT_EQ(z.body, R"({"code":"INVALID_DATA","details":{"header":"If-Modified-Since"},"message":"invalid data","status":"error"})");
  EXPECT_EQ(get("/crm/v2/Calls/deleted", "2024-05-01T10:00:00Z").status, 400);
  EXPECT_EQ(get("/crm/v2/Deals", "2024-04-01T10:00:00+00:00").status, 200);
  EXPECT_EQ(get("/crm/v2/Deals", "2024-04-01T15:30:00+05:30").status, 200);
  EXPECT_EQ(get("/crm/v2/Deals", "Mon, 01 Apr 2024 10:00:00 GMT").status, 200);
  EXPECT_EQ(get("/crm/v2/Deals", "yesterday").status, 400);
  EXPECT_EQ(get("/crm/v2/Calls/deleted", "yesterday").status, 400);
  EXPECT_EQ(int64_t(parse(sb().handle(req("GET", "/_admin/stats", "", false)).body)["endpoints"]["crm/Deals"]["errors"]["INVALID_DATA"]), 2);
  behaviour_.crm_ims_refuse_z = false;
  sb_.reset();
  token_.clear();
  sb().seed_demo(10);
  EXPECT_EQ(get("/crm/v2/Deals", "2024-04-01T10:00:00Z").status, 200);
}

TEST_F(SandboxTest, CrmGetByIds) {
  sb().seed_demo(10);
  HttpReply r = call("GET", "/crm/v2/Deals?ids=4150868000002000001,999,4150868000002000000&fields=Deal_Name");
  ASSERT_EQ(r.status, 200);
  auto doc = parse(r.body);
  ASSERT_EQ(doc["data"].get_array().value().size(), 2u);
  EXPECT_EQ(std::string_view(doc["data"].at(0)["id"]), "4150868000002000001");
  EXPECT_EQ(std::string_view(doc["data"].at(0)["Deal_Name"]), "Deal 2");
  EXPECT_EQ(doc["data"].at(0)["Stage"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(int64_t(doc["info"]["count"]), 2);
  EXPECT_FALSE(bool(doc["info"]["more_records"]));
  EXPECT_EQ(call("GET", "/crm/v2/Deals?ids=1,2").status, 204);
  std::string many;
  for (int i = 0; i < 101; ++i) many += (i ? "," : "") + std::to_string(1000 + i);
  HttpReply over = call("GET", "/crm/v2/Deals?ids=" + many);
  EXPECT_EQ(over.status, 400);
  EXPECT_NE(over.body.find("LIMIT_EXCEEDED"), std::string::npos);
}

// ------------------------------------------------------------ COQL

class SandboxCoqlTest : public SandboxTest {
 protected:
  void SetUp() override {
    // Four calls: 1 and 2 share a Modified_Time second; 4 has no Subject.
    ASSERT_EQ(sb().seed_json(R"({"fields":{"Calls":[
        {"api_name":"Subject","data_type":"text"},{"api_name":"Call_Start_Time","data_type":"datetime"},
        {"api_name":"Call_Duration_in_seconds","data_type":"integer"},{"api_name":"Owner","data_type":"ownerlookup"},
        {"api_name":"What_Id","data_type":"lookup"}]},
      "crm":{"Calls":[
        {"id":"100","Modified_Time":"2024-05-01T10:00:00+00:00","Subject":"a","Call_Duration_in_seconds":60,
         "Owner":{"name":"Ann","id":"9","email":"ann@x.com"},"What_Id":{"name":"Deal 1","id":"77"}},
        {"id":"101","Modified_Time":"2024-05-01T10:00:00+00:00","Subject":"b","Call_Duration_in_seconds":120},
        {"id":"99","Modified_Time":"2024-05-01T09:00:00+00:00","Subject":"c","Call_Duration_in_seconds":30},
        {"id":"1000","Modified_Time":"2024-05-02T00:00:00+00:00","Call_Duration_in_seconds":10}]}})"),
              std::nullopt);
  }
  HttpReply coql(const std::string& q) { return call("POST", "/crm/v2/coql", R"({"select_query":")" + q + R"("})"); }
  std::vector<std::string> ids(const HttpReply& r) {
    std::vector<std::string> out;
    if (r.status != 200) return out;
    simdjson::dom::array data = parse(r.body)["data"];
    for (auto rec : data) out.emplace_back(std::string_view(rec["id"]));
    return out;
  }
  using V = std::vector<std::string>;
};

TEST_F(SandboxCoqlTest, SelectWhereOrderLimit) {
  HttpReply r = coql("select Subject, Call_Duration_in_seconds from Calls where (Modified_Time = '2024-05-01T15:30:00+05:30' "
                     "and id > '99') order by id asc limit 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"data":[{"Subject":"a","Call_Duration_in_seconds":60,"id":"100"}],"info":{"count":1,"more_records":true}})");
  // The next page, both LIMIT forms.
  EXPECT_EQ(ids(coql("select id from Calls where Modified_Time = '2024-05-01T10:00:00+00:00' limit 1 offset 1")), V{"101"});
  EXPECT_EQ(ids(coql("select id from Calls where Modified_Time = '2024-05-01T10:00:00+00:00' limit 1, 1")), V{"101"});
  // Default order: id ascending (numerically); desc on a datetime with an id tiebreak.
  EXPECT_EQ(ids(coql("select id from Calls")), (V{"99", "100", "101", "1000"}));
  EXPECT_EQ(ids(coql("select id from Calls order by Modified_Time desc")), (V{"1000", "100", "101", "99"}));
  EXPECT_EQ(ids(coql("SELECT id FROM Calls WHERE Modified_Time >= '2024-05-01T10:00:00+00:00' ORDER BY Modified_Time ASC, id DESC")),
            (V{"101", "100", "1000"}));
  // Numbers, null, in, between, like, or, nested brackets.
  EXPECT_EQ(ids(coql("select id from Calls where Call_Duration_in_seconds > 59")), (V{"100", "101"}));
  EXPECT_EQ(ids(coql("select id from Calls where Subject is null")), V{"1000"});
  EXPECT_EQ(ids(coql("select id from Calls where Subject in ('a', 'c')")), (V{"99", "100"}));
  EXPECT_EQ(ids(coql("select id from Calls where Call_Duration_in_seconds between 30 and 60")), (V{"99", "100"}));
  EXPECT_EQ(ids(coql("select id from Calls where Subject like 'B%'")), V{"101"});
  EXPECT_EQ(ids(coql("select id from Calls where ((Subject = 'a' or Subject = 'b') and id != '100')")), V{"101"});
  EXPECT_EQ(ids(coql("select id from Calls where What_Id = '77'")), V{"100"});
  // 204 when nothing matches, or past the end.
  EXPECT_EQ(coql("select id from Calls where Subject = 'zzz'").status, 204);
  EXPECT_EQ(coql("select id from Calls limit 10 offset 4").status, 204);
  EXPECT_EQ(int64_t(parse(sb().handle(req("GET", "/_admin/stats", "", false)).body)["endpoints"]["crm/coql"]["calls"]), 15);
}

TEST_F(SandboxCoqlTest, LookupsComeBackAsIdsAndDottedColumns) {
  HttpReply r = coql("select Owner, What_Id, Owner.email, Call_Start_Time from Calls where id = 100");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            R"({"data":[{"Owner":{"id":"9"},"What_Id":{"id":"77"},"Owner.email":"ann@x.com","Call_Start_Time":null,"id":"100"}],"info":{"count":1,"more_records":false}})");
  behaviour_.coql_lookup_id_only = false;
  sb_.reset();
  token_.clear();
  SetUp();
  EXPECT_NE(coql("select What_Id from Calls where id = 100").body.find(R"("name":"Deal 1")"), std::string::npos);
}

TEST_F(SandboxCoqlTest, ErrorsAndLimits) {
  auto code = [&](const std::string& q) {
    HttpReply r = coql(q);
    if (r.status != 400) return std::to_string(r.status);
    return std::string(std::string_view(parse(r.body)["code"]));
  };
  // C: more than two criteria must be bracketed in pairs.
  EXPECT_EQ(code("select id from Calls where Subject = 'a' and id > 1 and id < 5"), "SYNTAX_ERROR");
  EXPECT_EQ(code("select id from Calls where (Subject = 'a' and id > 1) and id < 5"), "204");
  EXPECT_EQ(code("select * from Calls"), "SYNTAX_ERROR");
  EXPECT_EQ(code("select id Calls"), "SYNTAX_ERROR");
  EXPECT_EQ(code("select id from Calls where"), "SYNTAX_ERROR");
  EXPECT_EQ(code("select id from Calls where Subject = 'a"), "SYNTAX_ERROR");
  EXPECT_EQ(code("select id from Calls limit 0"), "SYNTAX_ERROR");
  HttpReply syntax = coql("select id from Calls where Subject = 'a' and id > 1 and id < 5");
  EXPECT_EQ(syntax.body,
            R"({"code":"SYNTAX_ERROR","details":{"clause":"where","near":"and"},"message":"error occurred while parsing the query","status":"error"})");
  EXPECT_EQ(code("select id from Calls limit 200"), "200");
  EXPECT_EQ(code("select id from Calls limit 201"), "LIMIT_EXCEEDED");
  EXPECT_EQ(code("select id from Calls limit 200 offset 9800"), "204");
  EXPECT_EQ(code("select id from Calls limit 200 offset 9801"), "LIMIT_EXCEEDED");
  EXPECT_EQ(code("select Nope from Calls"), "INVALID_QUERY");
  EXPECT_EQ(code("select id from Calls where Nope = 1"), "INVALID_QUERY");
  EXPECT_EQ(code("select id from Calls order by Nope"), "INVALID_QUERY");
  EXPECT_EQ(code("select id from Leads"), "INVALID_QUERY");
  EXPECT_EQ(code("select id from Calls where Modified_Time > '2024-05-01T10:00:00Z'"), "INVALID_QUERY");
  EXPECT_EQ(code("select id from Calls where Modified_Time > '2024-05-01'"), "INVALID_QUERY");
  EXPECT_EQ(code("select id from Calls where id > 'abc'"), "INVALID_QUERY");
  HttpReply bad_time = coql("select id from Calls where Modified_Time > '2024-05-01T10:00:00Z'");
  EXPECT_EQ(bad_time.body,
            R"({"code":"INVALID_QUERY","details":{"reason":"invalid datetime value","api_name":"Modified_Time"},"message":"invalid query formed","status":"error"})");
  EXPECT_EQ(call("POST", "/crm/v2/coql", R"({"query":"x"})").status, 400);
  EXPECT_EQ(call("GET", "/crm/v2/coql").status, 400);
  auto stats = parse(sb().handle(req("GET", "/_admin/stats", "", false)).body)["endpoints"]["crm/coql"]["errors"];
  EXPECT_EQ(int64_t(stats["SYNTAX_ERROR"]), 7);
  EXPECT_EQ(int64_t(stats["LIMIT_EXCEEDED"]), 2);
}

TEST_F(SandboxCoqlTest, CreditsPerCall) {
  behaviour_.crm_daily_credits = 2;
  sb_.reset();
  token_.clear();
  SetUp();
  EXPECT_EQ(coql("select id from Calls").status, 200);
  EXPECT_EQ(coql("select id from Calls").status, 200);
  EXPECT_EQ(coql("select id from Calls").status, 429);
}

// ------------------------------------------------------------ mass update (a crowded second)

TEST_F(SandboxTest, AdminMassUpdateStampsOneSecond) {
  sb().seed_demo(10);
  clock_.advance(std::chrono::milliseconds(1500));
  HttpReply r = sb().handle(req("POST", "/_admin/crm/Calls/mass_update?count=250&touch=3",
                                R"({"Subject":"Bulk {n}","Call_Duration_in_seconds":60})", false));
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = parse(r.body);
  const std::string stamp{std::string_view(doc["modified_time"])};
  EXPECT_EQ(stamp, "2024-06-15T12:00:01+00:00");
  EXPECT_EQ(doc["ids"].get_array().value().size(), 250u);
  EXPECT_EQ(int64_t(doc["touched"]), 3);
  // 253 records in that second: a strict If-Modified-Since of the second before sees them all.
  HttpRequest get = req("GET", "/crm/v2/Calls?per_page=200&sort_by=Modified_Time&sort_order=asc");
  get.headers.push_back({"If-Modified-Since", "2024-06-15T12:00:00+00:00"});
  HttpReply page = sb().handle(get);
  ASSERT_EQ(page.status, 200);
  auto p = parse(page.body);
  EXPECT_TRUE(bool(p["info"]["more_records"]));
  simdjson::dom::array data = p["data"];
  for (auto rec : data) EXPECT_EQ(std::string_view(rec["Modified_Time"]), stamp);
  HttpReply crowd = call("POST", "/crm/v2/coql",
                         R"({"select_query":"select Subject from Calls where Modified_Time = '2024-06-15T17:30:01+05:30' limit 200, 200"})");
  ASSERT_EQ(crowd.status, 200);
  EXPECT_EQ(int64_t(parse(crowd.body)["info"]["count"]), 53);
  EXPECT_NE(crowd.body.find(R"("Subject":"Bulk 250")"), std::string::npos);
  // `at`: a chosen second.
  HttpReply at = sb().handle(req("POST", "/_admin/crm/Deals/mass_update?count=2&at=2024-06-01T08:00:00.900Z", "", false));
  EXPECT_EQ(std::string_view(parse(at.body)["modified_time"]), "2024-06-01T08:00:00+00:00");
  EXPECT_EQ(sb().handle(req("POST", "/_admin/crm/Deals/mass_update?count=x", "", false)).status, 400);
}

}  // namespace
}  // namespace peoplesync::sandbox
