#include "daemon/app.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/clock.hpp"
#include "common/timefmt.hpp"
#include "state/store.hpp"

namespace peoplesync {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSecret = "CANARY-app-secret-9931";

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-app-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const fs::path token = dir_ / "refresh_token";
    std::ofstream(token) << "1000.refresh.token\n";
    ::chmod(token.c_str(), 0600);
    env_ = {{"ZOHO_CLIENT_ID", "id"}, {"ZOHO_CLIENT_SECRET", kSecret}};
    write_config(example_text());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string example_text() {
    std::ifstream in(std::string(PEOPLESYNC_SOURCE_DIR) + "/examples/config.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    replace(text, "/etc/peoplesync/refresh_token", (dir_ / "refresh_token").string());
    replace(text, "/var/lib/peoplesync/state.db", (dir_ / "state.db").string());
    return text;
  }
  static void replace(std::string& text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    text.replace(pos, from.size(), to);
  }
  void write_config(const std::string& text) { std::ofstream(dir_ / "config.yaml") << text; }
  std::string config_path() const { return (dir_ / "config.yaml").string(); }

  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    AppIo io{out_, err_,
             [this](const std::string& n) -> std::optional<std::string> {
               auto it = env_.find(n);
               if (it == env_.end()) return std::nullopt;
               return it->second;
             },
             clock_, false};
    return run_app(args, io);
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
  ManualClock clock_{*parse_iso8601("2024-06-01T12:00:00Z")};
  std::ostringstream out_, err_;
};

TEST_F(AppTest, HelpAndVersion) {
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("peoplesync check  [-c FILE] [--online]"));
  EXPECT_EQ(run({"--version"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr(std::string("peoplesync ") + PEOPLESYNC_VERSION));
}

TEST_F(AppTest, UsageErrorExits2) {
  EXPECT_EQ(run({"--bogus"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("unknown option '--bogus'"));
  EXPECT_THAT(err_.str(), HasSubstr("Try 'peoplesync --help'"));
}

TEST_F(AppTest, CheckValidExample) {
  EXPECT_EQ(run({"check", "-c", config_path()}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("ok: "));
  EXPECT_THAT(out_.str(), HasSubstr("3 streams"));
  EXPECT_THAT(out_.str(), HasSubstr("  deals: crm Deals (6 fields) where Stage in 3 values -> people.job"));
  EXPECT_THAT(out_.str(), HasSubstr("  calls: crm Calls"));
  EXPECT_THAT(out_.str(), HasSubstr("  hours_back: people jobs of deals -> crm.update Deals"));
}

TEST_F(AppTest, ConfigPathFromEnvironment) {
  env_["PEOPLESYNC_CONFIG"] = config_path();
  EXPECT_EQ(run({"check"}), 0) << err_.str();
}

// Each kind of broken config exits 78 and names file and line.
TEST_F(AppTest, CheckBrokenConfigsExit78WithLine) {
  struct Case {
    std::string from, to, expect;
  };
  const std::vector<Case> cases{
      {"  poll_interval: 5m", "  poll_intervall: 5m", ":14:3: service.poll_intervall: unknown key"},
      {"  poll_interval: 5m", "  poll_interval: [5m]", ":14:18: service.poll_interval: expected a single value"},
      {"  poll_interval: 5m", "  poll_interval: 5 mins", ":14:18: service.poll_interval: bad duration"},
      {"      jobName: \"{Deal_Name}\"\n", "", ":31:7: streams[0].map: missing required key 'jobName'"},
      {"{Subject}", "{Subject|shout}", ":49:17: streams[1].map.workItem: template"},
      // People's job form has no description (7013): the key is refused where it stands.
      {"      toDate: \"{Closing_Date}\"\n", "      toDate: \"{Closing_Date}\"\n      description: \"CRM deal {id}\"\n",
       ":35:7: streams[0].map.description: People's job form (P_TimesheetJob) has no description field"},
      {"  date_format: dd-MMM-yyyy", "  date_format: dd-MMM-yyyy\n  dateformat: x", ":11:3: people.dateformat: unknown key"},
      {"stream: deals,", "stream: dealz,", "lookup of unknown stream 'dealz'"},
      {"  data_center: com ", "  crm_url: http://zoho.example\n  data_center: com ",
       ":4:12: zoho.crm_url: http:// is allowed only for loopback"},
      {"    on_delete: complete", "    on_delete: complete\n    poll_interval: 1m\n    map2: {}",
       "unknown key 'map2'"},
  };
  for (const Case& c : cases) {
    std::string text = example_text();
    replace(text, c.from, c.to);
    write_config(text);
    EXPECT_EQ(run({"check", "-c", config_path()}), 78) << c.expect;
    EXPECT_THAT(err_.str(), HasSubstr(c.expect)) << err_.str();
    EXPECT_THAT(err_.str(), HasSubstr(config_path() + ":"));
    EXPECT_THAT(err_.str(), Not(HasSubstr(kSecret)));
  }
}

TEST_F(AppTest, CheckLookupCycle) {
  std::string text = example_text();
  // deals now looks up calls, which looks up deals.
  replace(text, "      toDate: \"{Closing_Date}\"", "      toDate: {lookup: {stream: calls, key: \"{id}\"}}");
  write_config(text);
  EXPECT_EQ(run({"check", "-c", config_path()}), 78);
  EXPECT_THAT(err_.str(), HasSubstr("cycle of lookups: deals -> calls -> deals"));
}

TEST_F(AppTest, StatusOnFreshStateShowsEmptyTables) {
  EXPECT_EQ(run({"status", "-c", config_path()}), 0) << err_.str();
  const std::string s = out_.str();
  EXPECT_THAT(s, HasSubstr("(schema v"));
  EXPECT_THAT(s, HasSubstr("deals            (not started)"));
  EXPECT_THAT(s, HasSubstr("Outbox (0 intents)\n  (empty)"));
  EXPECT_THAT(s, HasSubstr("Dead letters (0)\n  (none)"));
  EXPECT_THAT(s, HasSubstr("people/addupdatetimelogs"));
  EXPECT_THAT(s, HasSubstr("Recent runs\n  (none)"));
  EXPECT_TRUE(fs::exists(dir_ / "state.db"));
}

TEST_F(AppTest, StatusDoesNotNeedSecrets) {
  env_.erase("ZOHO_CLIENT_SECRET");
  fs::remove(dir_ / "refresh_token");
  std::string text = example_text();
  replace(text, "${ZOHO_CLIENT_SECRET}", "${ZOHO_CLIENT_SECRET:-}");
  write_config(text);
  EXPECT_EQ(run({"status", "-c", config_path()}), 0) << err_.str();
  EXPECT_EQ(run({"check", "-c", config_path()}), 78);
}

TEST_F(AppTest, StatusShowsRealStoreData) {
  {
    auto store = state::Store::open((dir_ / "state.db").string(), clock_);
    state::Commit c;
    c.checkpoints.push_back({"deals", "2024-06-01T10:00:00+00:00", {"111", "112"}, 0});
    c.id_map_upserts.push_back({"deals", "111", "900111", "h1", 0});
    c.dead_letters.push_back({0, "calls", "555", "missing field Owner.email", "8001", "{}", 1, 0, 0});
    store->commit(c);
    store->outbox_add_many({{0, "calls", "556", "timelog.upsert", "{}", state::OutboxState::pending, 0, 0, 0}});
    state::EndpointState ep;
    ep.endpoint = "people/addupdatetimelogs";
    ep.recent_calls_ms = {to_unix_ms(clock_.now()) - 1000, to_unix_ms(clock_.now()) - 120'000};
    ep.locked_until_ms = to_unix_ms(clock_.now()) + 90'000;
    ep.lock_count = 1;
    store->save_endpoint_state(ep);
  }
  EXPECT_EQ(run({"status", "-c", config_path()}), 0) << err_.str();
  const std::string s = out_.str();
  EXPECT_THAT(s, HasSubstr("2024-06-01T10:00:00+00:00"));
  EXPECT_THAT(s, HasSubstr("2h"));  // lag
  EXPECT_THAT(s, HasSubstr("Outbox (1 intents)"));
  EXPECT_THAT(s, HasSubstr("timelog.upsert"));
  EXPECT_THAT(s, HasSubstr("missing field Owner.email"));
  EXPECT_THAT(s, HasSubstr("2024-06-01T12:01:30Z (90s)"));

  EXPECT_EQ(run({"status", "-c", config_path(), "--json"}), 0) << err_.str();
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(out_.str());
  simdjson::dom::array streams = doc["streams"];
  EXPECT_EQ(streams.size(), 3u);
  EXPECT_EQ(std::string_view(streams.at(0)["watermark"]), "2024-06-01T10:00:00+00:00");
  EXPECT_EQ(int64_t(streams.at(0)["lag_seconds"]), 7200);
  EXPECT_EQ(simdjson::dom::array(doc["dead_letters"]).size(), 1u);
  EXPECT_EQ(std::string_view(doc["dead_letters"].at(0)["vendor_code"]), "8001");
  bool found = false;
  for (simdjson::dom::element e : simdjson::dom::array(doc["limiter"])) {
    if (std::string_view(e["endpoint"]) == "people/addupdatetimelogs") {
      found = true;
      EXPECT_TRUE(bool(e["locked"]));
      EXPECT_EQ(int64_t(e["calls_last_60s"]), 1);
      EXPECT_EQ(int64_t(e["per_minute"]), 30);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(AppTest, ResetMovesOneCheckpoint) {
  EXPECT_EQ(run({"reset", "-c", config_path(), "--stream", "deals", "--to", "2024-01-01T00:00:00Z"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("moved from (none) to 2024-01-01T00:00:00Z"));
  auto store = state::Store::open((dir_ / "state.db").string(), clock_);
  ASSERT_TRUE(store->checkpoint("deals"));
  EXPECT_EQ(store->checkpoint("deals")->watermark, "2024-01-01T00:00:00Z");
  EXPECT_FALSE(store->checkpoint("calls"));
  EXPECT_EQ(run({"reset", "-c", config_path(), "--stream", "nope"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("unknown stream 'nope'"));
}

TEST_F(AppTest, RetryRequeuesDeadLetters) {
  {
    auto store = state::Store::open((dir_ / "state.db").string(), clock_);
    state::Commit c;
    c.dead_letters.push_back({0, "calls", "1", "r", "", "{}", 1, 0, 0});
    c.dead_letters.push_back({0, "calls", "2", "r", "", "{}", 1, 0, 0});
    c.dead_letters.push_back({0, "deals", "3", "r", "", "{}", 1, 0, 0});
    store->commit(c);
  }
  EXPECT_EQ(run({"retry", "-c", config_path(), "--stream", "calls"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("re-queued 2 dead-lettered records of stream calls"));
  auto store = state::Store::open((dir_ / "state.db").string(), clock_);
  EXPECT_EQ(store->dead_letters().size(), 1u);
  const auto outbox = store->outbox_list();
  ASSERT_EQ(outbox.size(), 2u);
  EXPECT_EQ(outbox[0].op, "retry");
}

// README "Getting a refresh token": the scopes of the example config, on
// stdout alone (the reasons go to stderr), before the token file exists.
TEST_F(AppTest, AuthScopesPrintsTheListBeforeTheTokenFileExists) {
  fs::remove(dir_ / "refresh_token");
  EXPECT_EQ(run({"auth", "-c", config_path(), "--scopes"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "ZOHOPEOPLE.forms.CREATE,ZOHOPEOPLE.forms.UPDATE,ZOHOPEOPLE.forms.READ,ZOHOPEOPLE.timetracker.ALL,"
            "ZohoCRM.modules.deals.READ,ZohoCRM.settings.fields.READ,ZohoCRM.coql.READ,ZohoCRM.modules.calls.READ,"
            "ZohoCRM.modules.deals.UPDATE\n");
  EXPECT_THAT(err_.str(), HasSubstr("  ZOHOPEOPLE.forms.CREATE: "));
  EXPECT_THAT(err_.str(), HasSubstr("  ZohoCRM.modules.deals.UPDATE: "));
  EXPECT_FALSE(fs::exists(dir_ / "refresh_token"));
}

// `auth --code` needs somewhere to put the token, and the client credentials;
// both are config errors, found before any request.
TEST_F(AppTest, AuthCodeNeedsATokenFileAndTheClient) {
  std::string text = example_text();
  replace(text, "  refresh_token_file: " + (dir_ / "refresh_token").string(), "  refresh_token: ${ZOHO_REFRESH_TOKEN}");
  write_config(text);
  env_["ZOHO_REFRESH_TOKEN"] = "1000.inline";
  EXPECT_EQ(run({"auth", "-c", config_path(), "--code", "1000.code"}), 78);
  EXPECT_THAT(err_.str(), HasSubstr("zoho.refresh_token_file is not set"));
  write_config(example_text());
  env_["ZOHO_CLIENT_SECRET"] = "";
  std::string no_secret = example_text();
  replace(no_secret, "${ZOHO_CLIENT_SECRET}", "${ZOHO_CLIENT_SECRET:-}");
  write_config(no_secret);
  EXPECT_EQ(run({"auth", "-c", config_path(), "--code", "1000.code"}), 78);
  EXPECT_THAT(err_.str(), HasSubstr("zoho.client_id and zoho.client_secret are needed"));
  EXPECT_EQ(run({"auth", "-c", config_path()}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("auth needs exactly one of --scopes and --code CODE"));
}

// Zoho cannot be reached from here (no network, no DNS): the one-shot run's
// preflight gives up after a few token attempts, says so (nothing written),
// exits 75 and records the run.
TEST_F(AppTest, RunRecordsTheRunHonestly) {
  EXPECT_EQ(run({"--run-once", "-c", config_path()}), 75);
  EXPECT_THAT(out_.str(), HasSubstr("preflight failed; nothing was written"));
  EXPECT_THAT(out_.str(), ::testing::ContainsRegex("FAILED +token: "));
  auto store = state::Store::open((dir_ / "state.db").string(), clock_);
  const auto runs = store->recent_runs(5);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].mode, "run-once");
  EXPECT_EQ(runs[0].exit_code, 75);
  EXPECT_THAT(runs[0].summary, HasSubstr("preflight failed"));
  EXPECT_THAT(runs[0].summary, HasSubstr("token"));
}

}  // namespace
}  // namespace peoplesync
