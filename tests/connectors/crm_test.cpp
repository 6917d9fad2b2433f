#include "connectors/crm.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <set>

#include "common/timefmt.hpp"
#include "support/fake_transport.hpp"

namespace peoplesync::connectors {
namespace {

class HalfRandom final : public Random {
 public:
  double uniform() override { return 0.5; }
};

std::map<std::string, std::string> query_of(const std::string& target) {
  std::map<std::string, std::string> q;
  const auto qm = target.find('?');
  if (qm == std::string::npos) return q;
  std::string rest = target.substr(qm + 1);
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    const auto amp = rest.find('&', pos);
    const std::string kv = rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) q[kv.substr(0, eq)] = kv.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return q;
}

// A minimal CRM for the walker: records sorted by Modified_Time then id,
// If-Modified-Since strictly after, `page` capped at 2000 records (400
// DISCRETE_PAGINATION_LIMIT_EXCEEDED), 304 / 204 as documented.
struct MiniCrm {
  struct Rec {
    std::string id;
    SysTime modified;
  };
  std::vector<Rec> records;
  int calls = 0;

  Response handle(const Request& r) {
    ++calls;
    Response res;
    auto q = query_of(r.target);
    std::optional<SysTime> since;
    if (auto h = r.header("If-Modified-Since")) since = parse_iso8601(*h);
    if (records.empty()) {
      res.status = 204;
      return res;
    }
    std::vector<const Rec*> hits;
    for (const auto& rec : records)
      if (!since || rec.modified > *since) hits.push_back(&rec);
    if (hits.empty()) {
      res.status = 304;
      return res;
    }
    const int page = std::stoi(q["page"]);
    const int per = std::stoi(q["per_page"]);
    if (page * per > 2000) {
      res.status = 400;
      res.body = R"({"code":"DISCRETE_PAGINATION_LIMIT_EXCEEDED","details":{},"message":"cannot go beyond 2000","status":"error"})";
      return res;
    }
    std::string body = R"({"data":[)";
    const std::size_t from = static_cast<std::size_t>((page - 1) * per);
    for (std::size_t i = from; i < hits.size() && i < from + static_cast<std::size_t>(per); ++i) {
      if (i != from) body += ",";
      std::string t = format_utc_iso_seconds(hits[i]->modified);
      t.pop_back();
      body += R"({"id":")" + hits[i]->id + R"(","Modified_Time":")" + t + R"(+00:00","Deal_Name":"D)" + hits[i]->id +
              R"(","Owner":{"name":"A","id":"9","email":"a@x.com"}})";
    }
    const bool more = hits.size() > from + static_cast<std::size_t>(per);
    body += R"(],"info":{"per_page":)" + std::to_string(per) + R"(,"count":1,"page":)" + std::to_string(page) +
            R"(,"more_records":)" + (more ? "true" : "false") + "}}";
    res.status = 200;
    res.body = body;
    return res;
  }
};

class CrmTest : public ::testing::Test {
 protected:
  CrmTest() {
    zoho_.accounts_url = "https://accounts.zoho.com";
    fake_.on([this](const Request& r) -> Result {
      if (r.target == "/oauth/v2/token") {
        Response t;
        t.status = 200;
        t.body = R"({"access_token":"t","expires_in":3600})";
        return t;
      }
      return crm_.handle(r);
    });
  }

  // Adds n records, `per_second` of them sharing each second.
  void seed(int n, int per_second, int start_id = 0) {
    const SysTime base = *parse_iso8601("2024-01-01T00:00:00Z");
    for (int i = 0; i < n; ++i) {
      const int k = start_id + i;
      crm_.records.push_back({std::to_string(100000 + k), base + std::chrono::seconds(k / per_second)});
    }
  }

  Expected<CrmWalkStats> walk(CrmWatermark from, std::vector<std::string>& seen, int stop_after = -1) {
    Expected<CrmWalkStats> out;
    int batches = 0;
    boost::asio::co_spawn(
        io_,
        [&]() -> boost::asio::awaitable<void> {
          // (g++ 12: no braced lists of string literals inside co_await.)
          const std::string module = "Deals";
          const std::vector<std::string> fields{"Deal_Name", "Owner"};
          out = co_await crm_client_.read_modified(
              module, fields, from,
              [&](const std::vector<CrmRecord>& batch, const CrmWatermark&) -> boost::asio::awaitable<bool> {
                for (const auto& r : batch) seen.push_back(r.id);
                ++batches;
                co_return stop_after < 0 || batches < stop_after;
              });
        },
        boost::asio::detached);
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
  MiniCrm crm_;
  TokenProvider tokens_{fake_, zoho_, clock_, sleeper_, random_};
  ZohoApi api_{fake_, tokens_, clock_, sleeper_, random_};
  CrmClient crm_client_{api_, "https://www.zohoapis.com"};
};

void expect_each_once(const std::vector<std::string>& seen, int n) {
  std::map<std::string, int> count;
  for (const auto& id : seen) ++count[id];
  EXPECT_EQ(count.size(), static_cast<std::size_t>(n));
  for (const auto& [id, c] : count) EXPECT_EQ(c, 1) << id;
}

TEST_F(CrmTest, WalksTenThousandRecordsPastThePagingCap) {
  seed(10'000, 3);  // ties: three records per second, across page boundaries
  std::vector<std::string> seen;
  auto r = walk({}, seen);
  const auto& stats = std::get<CrmWalkStats>(r);
  expect_each_once(seen, 10'000);
  EXPECT_EQ(stats.records, 10'000);
  // 50 pages is the floor; each restart at the cap re-reads at most one
  // second of records, so a handful more at most.
  EXPECT_GE(stats.calls, 50);
  EXPECT_LE(stats.calls, 56);
  EXPECT_TRUE(stats.reached.ids_at_time.empty());
  EXPECT_EQ(stats.reached.time, "2024-01-01T00:55:33+00:00");

  // An unchanged poll from the complete watermark costs one call: a 304.
  const int before = crm_.calls;
  std::vector<std::string> again;
  auto r2 = walk(stats.reached, again);
  EXPECT_TRUE(std::get<CrmWalkStats>(r2).not_modified);
  EXPECT_EQ(crm_.calls - before, 1);
  EXPECT_TRUE(again.empty());
}

TEST_F(CrmTest, StopInsideATieResumesWithoutLossOrRepeat) {
  seed(1000, 7);  // page boundaries (every 200) split ties of seven
  std::vector<std::string> first;
  CrmWatermark stopped;
  {
    Expected<CrmWalkStats> out;
    boost::asio::co_spawn(
        io_,
        [&]() -> boost::asio::awaitable<void> {
          // (g++ 12 may destroy temporaries of a co_await expression twice.)
          const std::string module = "Deals";
          const std::vector<std::string> no_fields;
          const CrmWatermark start;
          out = co_await crm_client_.read_modified(
              module, no_fields, start,
              [&](const std::vector<CrmRecord>& batch, const CrmWatermark& at) -> boost::asio::awaitable<bool> {
                for (const auto& r : batch) first.push_back(r.id);
                stopped = at;  // what the sync layer would checkpoint
                co_return false;  // "crash" after the first page
              });
        },
        boost::asio::detached);
    io_.run();
    io_.restart();
  }
  ASSERT_EQ(first.size(), 200u);
  EXPECT_FALSE(stopped.ids_at_time.empty());  // 200 = 28*7 + 4: inside a tie
  std::vector<std::string> rest;
  auto r = walk(stopped, rest);
  ASSERT_TRUE(std::holds_alternative<CrmWalkStats>(r));
  first.insert(first.end(), rest.begin(), rest.end());
  expect_each_once(first, 1000);
}

// Records edited in CRM during a walk move to the end, deleted ones go:
// every later record moves back. The walk asks again from its watermark
// after each page, so no record is skipped at a page boundary. (The soak
// test lost calls there: `page` N+1 began past records never handed over.)
TEST_F(CrmTest, RecordsChangedDuringTheWalkMakeNoneSkipped) {
  seed(1000, 1);
  const SysTime later = *parse_iso8601("2024-01-02T00:00:00Z");
  int changed = 0;
  std::vector<std::string> seen;
  Expected<CrmWalkStats> out;
  boost::asio::co_spawn(
      io_,
      [&]() -> boost::asio::awaitable<void> {
        const std::string module = "Deals";
        const std::vector<std::string> fields{"Deal_Name", "Owner"};
        const CrmWatermark start;
        out = co_await crm_client_.read_modified(
            module, fields, start,
            [&](const std::vector<CrmRecord>& batch, const CrmWatermark&) -> boost::asio::awaitable<bool> {
              for (const auto& r : batch) seen.push_back(r.id);
              // Between two pages, five times: 5 records already read are
              // edited (to the end) and 3 are deleted.
              if (changed < 25) {
                auto& recs = crm_.records;
                for (int k = 0; k < 5; ++k) recs[static_cast<std::size_t>(k)].modified = later + std::chrono::seconds(++changed);
                recs.erase(recs.begin() + 5, recs.begin() + 8);
                std::stable_sort(recs.begin(), recs.end(),
                                 [](const MiniCrm::Rec& a, const MiniCrm::Rec& b) { return a.modified < b.modified; });
              }
              co_return true;
            });
      },
      boost::asio::detached);
  io_.run();
  io_.restart();
  ASSERT_TRUE(std::holds_alternative<CrmWalkStats>(out));
  std::set<std::string> got(seen.begin(), seen.end());
  EXPECT_EQ(crm_.records.size(), 1000u - 15u);
  for (const auto& r : crm_.records) EXPECT_TRUE(got.count(r.id)) << r.id << " was never handed over";
}

TEST_F(CrmTest, NewRecordsAfterAWalkArePickedUp) {
  seed(10, 1);
  std::vector<std::string> seen;
  auto done = std::get<CrmWalkStats>(walk({}, seen));
  seed(5, 1, 10);
  std::vector<std::string> later;
  auto r = std::get<CrmWalkStats>(walk(done.reached, later));
  EXPECT_EQ(later.size(), 5u);
  EXPECT_EQ(r.calls, 1);
}

TEST_F(CrmTest, EmptyModuleIs204AndNothing) {
  std::vector<std::string> seen;
  auto r = std::get<CrmWalkStats>(walk({}, seen));
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.records, 0);
  EXPECT_TRUE(seen.empty());
}

TEST(CrmParse, RecordsPageAndErrors) {
  auto ok = parse_records_page(
      200,
      R"({"data":[{"id":"1306462000000888026","Modified_Time":"2022-02-03T10:55:15+05:30","What_Id":{"name":"Deal","id":"77"},"Call_Duration_in_seconds":5400}],"info":{"per_page":200,"count":1,"page":1,"more_records":false}})",
      "crm Calls");
  const CrmPage& p = std::get<CrmPage>(ok);
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].fields.at({"What_Id", "id"})->text(), "77");
  EXPECT_EQ(p.records[0].fields.get("Call_Duration_in_seconds")->text(), "5400");
  auto err = parse_records_page(
      401, R"({"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"Unauthorized","status":"error"})", "crm Calls");
  EXPECT_EQ(std::get<CallError>(err).vendor_code, "OAUTH_SCOPE_MISMATCH");
  for (const char* bad : {"", "<html>", R"({"data":{}})", R"({"data":[{"Modified_Time":"x"}]})", R"({"data":[5]})"}) {
    auto b = parse_records_page(200, bad, "crm Calls");
    ASSERT_TRUE(std::holds_alternative<CallError>(b)) << bad;
    EXPECT_NE(std::get<CallError>(b).message.find("crm Calls"), std::string::npos);
  }
  EXPECT_EQ(std::get<CrmPage>(parse_records_page(304, "", "x")).status, CrmPage::Status::not_modified);
  EXPECT_EQ(std::get<CrmPage>(parse_records_page(204, "", "x")).status, CrmPage::Status::no_content);
}

// Found by fuzz/template.cpp and fuzz/crm_records.cpp: an empty string_view
// may carry no data pointer, which simdjson copied from (undefined behaviour);
// and a Modified_Time past 2262 overflowed SysTime. Both are refused cleanly.
TEST(CrmParse, EmptyViewsAndImpossibleTimesAreRefused) {
  EXPECT_TRUE(value_from_json(std::string_view{}).is_null());
  auto empty = parse_records_page(200, std::string_view{}, "crm Calls");
  ASSERT_TRUE(std::holds_alternative<CallError>(empty));
  EXPECT_EQ(std::get<CallError>(empty).outcome, Outcome::retry);
  auto error = parse_records_page(400, std::string_view{}, "crm Calls");
  EXPECT_EQ(std::get<CallError>(error).message, "crm Calls: HTTP 400: unexpected reply");
  for (const char* t : {"9999-12-31T23:59:59+05:30", "2262-04-12T00:00:00Z", "0001-01-01T00:00:00Z"}) {
    const std::string body = std::string(R"({"data":[{"id":"1","Modified_Time":")") + t + R"("}]})";
    auto far = parse_records_page(200, body, "crm Calls");
    ASSERT_TRUE(std::holds_alternative<CallError>(far)) << t;
    EXPECT_NE(std::get<CallError>(far).message.find("Modified_Time"), std::string::npos);
  }
}

}  // namespace
}  // namespace peoplesync::connectors
