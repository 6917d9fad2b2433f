// The CRM client against the sandbox over TLS: the walk past the 2000-record
// paging cap with the fewest calls, the unchanged poll as one 304, ties at
// equal Modified_Time across pages, the cap and runs, the deleted-records
// reader and the batch update with mixed (207) results.
#include <algorithm>
#include <set>

#include "tests/integration/fixture.hpp"

namespace peoplesync::integration {
namespace {

// `n` Calls records, `per_second` of them sharing each Modified_Time second,
// the oldest a day ago. Ids ascend with Modified_Time.
std::string calls_seed(int n, int per_second, SysTime base) {
  std::string s = R"({"crm":{"Calls":[)";
  for (int i = 0; i < n; ++i) {
    const SysTime t = base + std::chrono::seconds(i / per_second);
    if (i) s += ',';
    s += R"({"id":")" + std::to_string(4150868000005000000ULL + static_cast<unsigned>(i)) + R"(","Created_Time":")" +
         crm_time(t - std::chrono::minutes(1)) + R"(","Modified_Time":")" + crm_time(t) + R"(","Subject":"Call )" +
         std::to_string(i + 1) + R"(","Call_Duration_in_seconds":)" + std::to_string(60 * (i % 30 + 1)) + "}";
  }
  return s + "]}}";
}

SysTime a_day_ago() { return std::chrono::system_clock::now() - std::chrono::hours(24); }

struct Walk {
  std::vector<std::string> ids;  // in the order handed over
  std::vector<std::string> times;
  int batches = 0;
};

class CrmSandbox : public SandboxFixture {
 protected:
  // Walks Calls from `from`; `stop_after` batches (0: all). Fields as the
  // deals/calls streams ask for them.
  std::pair<Expected<CrmWalkStats>, Walk> walk(const CrmWatermark& from, int stop_after = 0) {
    Walk w;
    auto sink = [&](const std::vector<CrmRecord>& batch, const CrmWatermark&) -> boost::asio::awaitable<bool> {
      for (const auto& r : batch) {
        w.ids.push_back(r.id);
        w.times.push_back(r.modified_time);
      }
      ++w.batches;
      co_return stop_after == 0 || w.batches < stop_after;
    };
    auto stats = run(crm().read_modified("Calls", {"Subject", "Call_Duration_in_seconds"}, from, sink));
    return {std::move(stats), std::move(w)};
  }

  static void expect_each_once_in_order(const Walk& w, int n) {
    EXPECT_EQ(static_cast<int>(w.ids.size()), n);
    EXPECT_EQ(static_cast<int>(std::set<std::string>(w.ids.begin(), w.ids.end()).size()), n) << "a record twice";
    for (std::size_t i = 1; i < w.times.size(); ++i)
      ASSERT_LE(*parse_iso8601(w.times[i - 1]), *parse_iso8601(w.times[i])) << "not ascending at " << i;
  }
};

// Issue 4: 10,000 records with the minimum number of calls, 50 pages + the
// token, when the server offers page_token (v3 behaviour: `page` stops at
// 2000, the token goes on).
TEST_F(CrmSandbox, TenThousandRecordsInFiftyPagesAndOneTokenWithPageTokens) {
  SandboxOptions o;
  o.behaviour.crm_page_token = true;
  o.seed_json = calls_seed(10'000, 1, a_day_ago());
  start(o);
  auto [result, w] = walk({});
  ASSERT_OK(result);
  const CrmWalkStats& st = std::get<CrmWalkStats>(result);
  expect_each_once_in_order(w, 10'000);
  EXPECT_EQ(st.calls, 50);
  EXPECT_EQ(st.records, 10'000);
  EXPECT_TRUE(st.reached.ids_at_time.empty()) << "a finished walk is complete";
  // What the client sent and what the server counted agree.
  EXPECT_EQ(transport_->count("crm"), 50);
  EXPECT_EQ(transport_->count("accounts/token"), 1);
  EXPECT_EQ(transport_->total(), 51);
  EXPECT_EQ(calls("crm/Calls"), 50);
  EXPECT_EQ(calls("accounts/token"), 1);
  EXPECT_EQ(all_calls(), 51);
  EXPECT_EQ(tokens_->refreshes(), 1);

  // Issue 4: an unchanged poll costs exactly one call, a 304.
  auto [again, none] = walk(st.reached);
  ASSERT_OK(again);
  EXPECT_EQ(std::get<CrmWalkStats>(again).calls, 1);
  EXPECT_TRUE(std::get<CrmWalkStats>(again).not_modified);
  EXPECT_TRUE(none.ids.empty());
  EXPECT_EQ(calls("crm/Calls"), 51);
  EXPECT_EQ(all_calls(), 52);
  ASSERT_EQ(transport_->total(), 52);
  EXPECT_EQ(std::get<Response>(transport_->sent().back().result).status, 304);
}

// The v2 default: `page` capped at 2000 records and no page_token. The walk
// asks again from its watermark after every page (records changed during the
// walk would shift later ones past a `page` boundary) and never asks for
// page 11. Each ask must start at the last Modified_Time again (records
// sharing it may not all have been seen), so it re-reads the one record at
// that time: 10,000 records need 51 pages (200, then 199 new a page).
TEST_F(CrmSandbox, TenThousandRecordsPastTheCapWithoutPageTokens) {
  SandboxOptions o;
  o.seed_json = calls_seed(10'000, 1, a_day_ago());
  start(o);
  auto [result, w] = walk({});
  ASSERT_OK(result);
  const CrmWalkStats& st = std::get<CrmWalkStats>(result);
  expect_each_once_in_order(w, 10'000);
  EXPECT_EQ(st.calls, 51);
  EXPECT_EQ(calls("crm/Calls"), 51);
  EXPECT_EQ(calls("accounts/token"), 1);
  EXPECT_EQ(all_calls(), 52);
  EXPECT_EQ(stats()["crm/Calls"].errors.count("DISCRETE_PAGINATION_LIMIT_EXCEEDED"), 0u)
      << "the walker asked past the cap";
  // Every page after the first asked from one second before the watermark,
  // never from the beginning.
  int restarts = 0;
  for (const auto& s : transport_->sent()) {
    if (s.request.endpoint != "crm") continue;
    EXPECT_EQ(s.request.target.find("page=11"), std::string::npos);
    if (s.request.target.find("page=1&") != std::string::npos || s.request.target.ends_with("page=1"))
      restarts += s.request.header("If-Modified-Since") ? 1 : 0;
  }
  EXPECT_EQ(restarts, 50);

  auto [again, none] = walk(st.reached);
  ASSERT_OK(again);
  EXPECT_TRUE(std::get<CrmWalkStats>(again).not_modified);
  EXPECT_EQ(std::get<CrmWalkStats>(again).calls, 1);
  EXPECT_TRUE(none.ids.empty());
  EXPECT_EQ(all_calls(), 53);
}

// Seven records share each second, so ties straddle page boundaries and the
// 2000-record cap; the walk is also cut after three batches and resumed from
// the watermark it reached. Both readings of If-Modified-Since (> and >=).
class CrmTies : public CrmSandbox, public ::testing::WithParamInterface<bool> {};

TEST_P(CrmTies, EqualModifiedTimesAcrossPagesTheCapAndRunsAreNeitherLostNorRepeated) {
  SandboxOptions o;
  o.behaviour.ims_inclusive = GetParam();
  o.seed_json = calls_seed(2'600, 7, a_day_ago());
  start(o);
  auto [first, a] = walk({}, 3);
  ASSERT_OK(first);
  const CrmWatermark cut = std::get<CrmWalkStats>(first).reached;
  // Three pages: 200 records, then each page asks from the watermark's
  // second again and hands over only what it had not (ties are read again).
  EXPECT_GT(a.ids.size(), 550u);
  EXPECT_LE(a.ids.size(), 600u);
  EXPECT_FALSE(cut.ids_at_time.empty()) << "stopped inside a second: the watermark is partial";
  auto [rest, b] = walk(cut);
  ASSERT_OK(rest);
  Walk all = a;
  all.ids.insert(all.ids.end(), b.ids.begin(), b.ids.end());
  all.times.insert(all.times.end(), b.times.begin(), b.times.end());
  expect_each_once_in_order(all, 2'600);
  EXPECT_TRUE(std::get<CrmWalkStats>(rest).reached.ids_at_time.empty());

  auto [again, none] = walk(std::get<CrmWalkStats>(rest).reached);
  ASSERT_OK(again);
  EXPECT_TRUE(none.ids.empty());
  EXPECT_EQ(std::get<CrmWalkStats>(again).calls, 1);
}

INSTANTIATE_TEST_SUITE_P(ImsReadings, CrmTies, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Inclusive" : "Strict"; });

// Records changed now (a batch update, an edit in CRM) are read once by the
// next poll, and the poll after that is one 304 again: CRM times have whole
// seconds, so the watermark's own second is not answered twice.
TEST_F(CrmSandbox, ChangedRecordsAreReadOnceThenThePollIs304Again) {
  SandboxOptions o;
  o.seed_json = calls_seed(5, 1, a_day_ago());
  start(o);
  auto [first, all] = walk({});
  ASSERT_OK(first);
  ASSERT_EQ(all.ids.size(), 5u);
  ASSERT_OK(run(crm().update("Calls", {{"4150868000005000001", {{"Subject", Value::string("Call 2 (edited)")}}}})));
  ASSERT_EQ(admin("POST", "/_admin/crm/Calls", R"({"Subject":"Call 6"})").status, 200);
  auto [second, changed] = walk(std::get<CrmWalkStats>(first).reached);
  ASSERT_OK(second);
  ASSERT_EQ(changed.ids.size(), 2u);
  EXPECT_NE(std::find(changed.ids.begin(), changed.ids.end(), "4150868000005000001"), changed.ids.end());
  auto [third, none] = walk(std::get<CrmWalkStats>(second).reached);
  ASSERT_OK(third);
  EXPECT_TRUE(none.ids.empty());
  EXPECT_EQ(std::get<CrmWalkStats>(third).calls, 1);
  EXPECT_TRUE(std::get<CrmWalkStats>(third).not_modified);
}

TEST_F(CrmSandbox, EmptyModuleIsOne204) {
  start();
  auto page = run(crm().get_page(CrmQuery{"Leads", {}, std::nullopt, 1, 200, ""}));
  ASSERT_OK(page);
  EXPECT_EQ(std::get<CrmPage>(page).status, CrmPage::Status::no_content);
  EXPECT_EQ(calls("crm/Leads"), 1);
}

TEST_F(CrmSandbox, RecordsKeepLookupsAsObjects) {
  start();  // seed_demo: calls point at deals through What_Id {name, id}
  auto page = run(crm().get_page(CrmQuery{"Calls", {"Subject", "What_Id", "Owner"}, std::nullopt, 1, 5, ""}));
  ASSERT_OK(page);
  const CrmPage& p = std::get<CrmPage>(page);
  ASSERT_EQ(p.records.size(), 5u);
  EXPECT_TRUE(p.more);
  const Value* deal = p.records[0].fields.at({"What_Id", "id"});
  ASSERT_NE(deal, nullptr);
  EXPECT_FALSE(deal->text().empty());
  ASSERT_NE(p.records[0].fields.at({"Owner", "email"}), nullptr);
  EXPECT_NE(p.records[0].fields.at({"Owner", "email"})->text().find('@'), std::string::npos);
}

TEST_F(CrmSandbox, DeletedRecordsReader) {
  SandboxOptions o;
  o.seed_json = calls_seed(10, 1, a_day_ago());
  start(o);
  auto none = run(crm().get_deleted("Calls", std::nullopt, 1));
  ASSERT_OK(none);
  EXPECT_TRUE(std::get<Page<CrmDeleted>>(none).items.empty());  // 204

  const std::string gone1 = "4150868000005000002", gone2 = "4150868000005000007";
  ASSERT_EQ(admin("DELETE", "/_admin/crm/Calls/" + gone1).status, 200);
  ASSERT_EQ(admin("DELETE", "/_admin/crm/Calls/" + gone2).status, 200);
  auto got = run(crm().get_deleted("Calls", std::nullopt, 1));
  ASSERT_OK(got);
  const auto& page = std::get<Page<CrmDeleted>>(got);
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_FALSE(page.more);
  EXPECT_EQ(page.items[0].id, gone1);
  EXPECT_EQ(page.items[0].display_name, "Call 3");  // the record's name, not its JSON
  EXPECT_EQ(page.items[1].id, gone2);
  EXPECT_EQ(page.items[1].display_name, "Call 8");
  EXPECT_FALSE(page.items[0].type.empty());
  EXPECT_TRUE(parse_iso8601(page.items[0].deleted_time).has_value()) << page.items[0].deleted_time;

  // Since the last deletion: nothing (204).
  auto later = run(crm().get_deleted("Calls", crm_time(sandbox_clock_->now() + std::chrono::seconds(2)), 1));
  ASSERT_OK(later);
  EXPECT_TRUE(std::get<Page<CrmDeleted>>(later).items.empty());
  EXPECT_EQ(calls("crm/Calls/deleted"), 3);
  // The deleted reader costs two credits a call.
  for (const auto& [endpoint, cost] : gate_.admitted) {
    if (endpoint == "crm") {
      EXPECT_EQ(cost, 2);
    }
  }
}

TEST_F(CrmSandbox, BatchUpdateWithMixedResultsIs207PerRecord) {
  SandboxOptions o;
  o.seed_json = calls_seed(5, 1, a_day_ago());
  start(o);
  std::vector<CrmUpdate> batch{
      {"4150868000005000000", {{"Hours_Logged", Value::number("2.5")}}},
      {"999", {{"Hours_Logged", Value::number("1")}}},
      {"4150868000005000003", {{"Hours_Logged", Value::number("7.25")}, {"Job_Status", Value::string("Completed")}}}};
  auto res = run(crm().update("Calls", batch));
  ASSERT_OK(res);
  const auto& items = std::get<std::vector<CrmUpdateResult>>(res);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, "4150868000005000000");
  EXPECT_EQ(items[0].outcome, Outcome::ok);
  EXPECT_EQ(items[0].code, "SUCCESS");
  EXPECT_TRUE(parse_iso8601(items[0].modified_time).has_value());
  EXPECT_EQ(items[1].id, "999");
  EXPECT_EQ(items[1].outcome, Outcome::permanent);
  EXPECT_EQ(items[1].code, "INVALID_DATA");
  EXPECT_FALSE(items[1].message.empty());
  EXPECT_EQ(items[2].outcome, Outcome::ok);
  ASSERT_EQ(transport_->count("crm"), 1);
  EXPECT_EQ(std::get<Response>(transport_->sent().back().result).status, 207);
  EXPECT_EQ(calls("crm/Calls/update"), 1);
  // The sandbox holds the new values.
  const std::string rows = admin("GET", "/_admin/crm/Calls").body;
  EXPECT_NE(rows.find(R"("Hours_Logged":7.25)"), std::string::npos) << rows;
  EXPECT_NE(rows.find(R"("Job_Status":"Completed")"), std::string::npos);

  // Over 100 records is refused before anything is sent.
  std::vector<CrmUpdate> big(101, CrmUpdate{"4150868000005000000", {{"Hours_Logged", Value::number("1")}}});
  auto refused = run(crm().update("Calls", big));
  EXPECT_EQ(error_of(refused).outcome, Outcome::permanent);
  EXPECT_EQ(transport_->count("crm"), 1);
}

}  // namespace
}  // namespace peoplesync::integration
