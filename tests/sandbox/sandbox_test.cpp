// The sandbox's behaviour, request by request, in simulated time.
#include "sandbox/sandbox.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "common/timefmt.hpp"

namespace peoplesync::sandbox {
namespace {

using net::HttpReply;
using net::HttpRequest;

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
  auto form = parse(call("POST", "/people/api/forms/json/P_TimesheetJob/insertRecord",
                         "inputData=%7B%22Job_Name%22%3A%22Other%22%2C%22Assignees%22%3A%22ann.lee%40example.com%22%7D")
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
  auto wide = parse(call("GET", "/people/api/timetracker/gettimelogs?fromDate=2024-01-01&toDate=2024-06-01").body)["response"];
  EXPECT_EQ(int64_t(wide["errors"].at(0)["code"]), 9007);
  auto got = parse(call("GET", "/people/api/timetracker/gettimelogs?user=all&fromDate=2024-06-01&toDate=2024-06-15").body)["response"];
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

}  // namespace
}  // namespace peoplesync::sandbox
