#include "config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/redact.hpp"
#include "config/catalog.hpp"

namespace peoplesync::config {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kSecret = "CANARY-client-secret-4711";
constexpr const char* kToken = "1000.CANARYrefreshtoken0123456789.abcdef";

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-config-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    env_ = {{"ZOHO_CLIENT_ID", "client-1"}, {"ZOHO_CLIENT_SECRET", kSecret}, {"ZOHO_REFRESH", kToken}};
  }
  void TearDown() override { fs::remove_all(dir_); }

  LoadOptions options() {
    LoadOptions o;
    o.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return o;
  }

  LoadResult load(const std::string& yaml) { return load_config_text(yaml, "test.yaml", options()); }

  std::string token_file(mode_t mode, const std::string& content = kToken) {
    const fs::path p = dir_ / "refresh_token";
    std::ofstream(p) << content << "\n";
    ::chmod(p.c_str(), mode);
    return p.string();
  }

  // The repository's example config, pointed at a token file we control.
  std::string example() {
    std::ifstream in(std::string(PEOPLESYNC_SOURCE_DIR) + "/examples/config.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    const std::string from = "/etc/peoplesync/refresh_token";
    text.replace(text.find(from), from.size(), token_file(0600));
    return text;
  }

  // A minimal valid config with `streams_yaml` appended.
  std::string minimal(const std::string& streams_yaml = kOneStream) {
    return "zoho:\n  client_id: x\n  client_secret: ${ZOHO_CLIENT_SECRET}\n  refresh_token: ${ZOHO_REFRESH}\n" +
           streams_yaml;
  }

  static constexpr const char* kOneStream =
      "streams:\n"
      "  - name: deals\n"
      "    from: {crm: Deals}\n"
      "    to: people.job\n"
      "    map:\n"
      "      jobName: \"{Deal_Name}\"\n"
      "      assignees: [{assignedTo: \"{Owner.email}\"}]\n";

  static std::string all_errors(const LoadResult& r) {
    std::string s;
    for (const auto& e : r.errors) s += e.format() + "\n";
    return s;
  }

  // Asserts exactly one error, containing `what`, at line:col.
  void expect_error(const LoadResult& r, int line, int column, const std::string& path, const std::string& what) {
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    const ConfigError& e = r.errors[0];
    EXPECT_EQ(e.file, "test.yaml");
    EXPECT_EQ(e.line, line) << e.format();
    EXPECT_EQ(e.column, column) << e.format();
    EXPECT_EQ(e.path, path) << e.format();
    EXPECT_THAT(e.message, HasSubstr(what));
    EXPECT_THAT(e.format(), HasSubstr("test.yaml:" + std::to_string(line) + ":" + std::to_string(column) + ": "));
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, ExampleConfigLoadsWithDefaultsFilled) {
  LoadResult r = load(example());
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.zoho.accounts_url, "https://accounts.zoho.com");
  EXPECT_EQ(c.zoho.crm_url, "https://www.zohoapis.com");
  EXPECT_EQ(c.zoho.people_url, "https://people.zoho.com");
  EXPECT_EQ(c.zoho.client_id, "client-1");
  EXPECT_EQ(c.zoho.client_secret.value, kSecret);
  EXPECT_EQ(c.zoho.refresh_token.value, kToken);
  EXPECT_EQ(c.zoho.timeouts.connect, std::chrono::seconds(10));
  EXPECT_EQ(c.service.poll_interval, std::chrono::minutes(5));
  EXPECT_EQ(c.service.timezone_offset_minutes, 330);
  ASSERT_TRUE(c.service.listen);
  EXPECT_EQ(c.service.listen->port, 9464);
  // Overrides merged over documented defaults; untouched endpoints keep theirs.
  EXPECT_EQ(c.limits.at("crm").daily_credits, 25000);
  EXPECT_EQ(c.limits.at("people/getprojects").per_minute, 20);
  EXPECT_EQ(c.limits.at("people/addupdatetimelogs").lock, std::chrono::minutes(5));
  EXPECT_EQ(c.limits.size(), endpoint_defaults().size());
  ASSERT_EQ(c.streams.size(), 3u);
  EXPECT_EQ(c.streams[0].to, Target::people_job);
  EXPECT_EQ(c.streams[0].on_delete, OnDelete::complete);
  ASSERT_TRUE(c.streams[0].status);
  EXPECT_EQ(c.streams[0].status->completed, std::vector<std::string>{"Completed"});
  const auto& where = std::get<CrmSource>(c.streams[0].from).where;
  ASSERT_EQ(where.size(), 1u);
  EXPECT_EQ(where[0].second.size(), 3u);
  EXPECT_EQ(c.streams[1].depends_on(), std::vector<std::string>{"deals"});
  EXPECT_EQ(c.streams[2].depends_on(), std::vector<std::string>{"deals"});
  EXPECT_EQ(c.streams[2].module, "Deals");
  EXPECT_THAT(describe(c.streams[1]), HasSubstr("calls: crm Calls (5 fields) -> people.timelog"));
  EXPECT_THAT(describe(c.streams[1]), HasSubstr("lookup deals"));
}

TEST_F(ConfigTest, PeopleDateFormatDefaultsAndIsChecked) {
  LoadResult r = load(example());
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->people.date_format, "dd-MMM-yyyy");
  EXPECT_EQ(r.config->zoho.refresh_token_file, token_file(0600));
  std::string y = example();
  y.replace(y.find("date_format: dd-MMM-yyyy"), 24, "date_format: MM/dd/yyyy");
  r = load(y);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->people.date_format, "MM/dd/yyyy");
  y.replace(y.find("date_format: MM/dd/yyyy"), 23, "date_format: dd-mm-yy");
  r = load(y);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(all_errors(r), HasSubstr("people.date_format: 'dd-mm-yy' is not a date pattern"));
}

TEST_F(ConfigTest, AJobDescriptionIsAConfigErrorNamingTheKey) {
  std::string y = example();
  y.replace(y.find("      toDate: \"{Closing_Date}\"\n"), 0, "      description: \"CRM deal {id}\"\n");
  LoadResult r = load(y);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(all_errors(r), HasSubstr("streams[0].map.description"));
  EXPECT_THAT(all_errors(r), HasSubstr("no description field"));
}

TEST_F(ConfigTest, DataCenterDerivesHostsAndEachCanBeOverridden) {
  std::string y = minimal();
  y.replace(y.find("zoho:\n"), 6, "zoho:\n  data_center: ca\n  people_url: http://127.0.0.1:8443/\n");
  LoadResult r = load(y);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->zoho.accounts_url, "https://accounts.zohocloud.ca");
  EXPECT_EQ(r.config->zoho.crm_url, "https://www.zohoapis.ca");
  EXPECT_EQ(r.config->zoho.people_url, "http://127.0.0.1:8443");
  for (const auto& dc : data_centers()) {
    std::string z = minimal();
    z.replace(z.find("zoho:\n"), 6, "zoho:\n  data_center: " + std::string(dc.name) + "\n");
    LoadResult rr = load(z);
    ASSERT_TRUE(rr.ok()) << dc.name << all_errors(rr);
    EXPECT_EQ(rr.config->zoho.accounts_url, dc.accounts_url);
  }
}

TEST_F(ConfigTest, EnvironmentExpansion) {
  env_["STATE_DIR"] = "/srv/ps";
  std::string y = minimal() + "state:\n  path: ${STATE_DIR}/state.db\nservice:\n  log_level: ${LEVEL:-debug}\n";
  LoadResult r = load(y);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->state.path, "/srv/ps/state.db");
  EXPECT_EQ(r.config->service.log_level, "debug");

  env_.erase("ZOHO_CLIENT_SECRET");
  LoadResult bad = load(minimal());
  expect_error(bad, 3, 18, "zoho.client_secret", "environment variable ZOHO_CLIENT_SECRET is not set");
}

TEST_F(ConfigTest, RefreshTokenFileMustBePrivate) {
  const std::string path = token_file(0600);
  std::string y = "zoho:\n  client_id: x\n  client_secret: s3cret\n  refresh_token_file: " + path + "\n" + kOneStream;
  LoadResult r = load(y);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->zoho.refresh_token.value, kToken);

  ::chmod(path.c_str(), 0640);
  LoadResult open = load(y);
  expect_error(open, 4, 23, "zoho.refresh_token_file", "readable by group or others (mode 0640)");
  EXPECT_THAT(open.errors[0].message, HasSubstr("chmod 600"));
}

TEST_F(ConfigTest, RefreshTokenSources) {
  // Both set: refused.
  const std::string path = token_file(0600);
  LoadResult both = load("zoho:\n  client_id: x\n  client_secret: s\n  refresh_token_file: " + path +
                         "\n  refresh_token: abc\n" + kOneStream);
  expect_error(both, 5, 18, "zoho.refresh_token", "set only one");

  // None: missing, with the three ways to provide it.
  LoadResult none = load(std::string("zoho:\n  client_id: x\n  client_secret: s\n") + kOneStream);
  expect_error(none, 2, 3, "zoho.refresh_token", "CREDENTIALS_DIRECTORY");

  // systemd credential.
  std::ofstream(dir_ / "refresh_token") << "from-credential\n";
  env_["CREDENTIALS_DIRECTORY"] = dir_.string();
  LoadResult cred = load(std::string("zoho:\n  client_id: x\n  client_secret: s\n") + kOneStream);
  ASSERT_TRUE(cred.ok()) << all_errors(cred);
  EXPECT_EQ(cred.config->zoho.refresh_token.value, "from-credential");
  EXPECT_EQ(cred.config->zoho.refresh_token.source, "systemd credential refresh_token");
}

TEST_F(ConfigTest, SecretsOptionalForReadOnlyCommands) {
  LoadOptions o = options();
  o.require_secrets = false;
  LoadResult r = load_config_text(std::string("zoho:\n  client_id: x\n") + kOneStream, "test.yaml", o);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.config->zoho.refresh_token.empty());
}

TEST_F(ConfigTest, UnknownKeySuggestsTheNearestOne) {
  std::string y = minimal() + "service:\n  poll_intervall: 5m\n";
  expect_error(load(y), 13, 3, "service.poll_intervall", "did you mean 'poll_interval'?");
}

TEST_F(ConfigTest, DuplicateKey) {
  std::string y = minimal() + "service:\n  log_level: info\n  log_level: debug\n";
  LoadResult r = load(y);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(all_errors(r), HasSubstr("duplicate key 'log_level'"));
}

TEST_F(ConfigTest, WrongType) {
  std::string y = minimal() + "state:\n  path: [a, b]\n";
  expect_error(load(y), 13, 9, "state.path", "expected a single value, got a list");
}

TEST_F(ConfigTest, MissingKey) {
  std::string y = minimal(
      "streams:\n"
      "  - name: calls\n"
      "    from: {crm: Calls}\n"
      "    to: people.timelog\n"
      "    map:\n"
      "      user: \"{Owner.email}\"\n"
      "      hours: \"{Call_Duration_in_seconds|hhmm_from_seconds}\"\n"
      "      date: \"{Call_Start_Time|date}\"\n");
  expect_error(load(y), 10, 7, "streams[0].map", "missing required key 'jobId' for people.timelog");
}

TEST_F(ConfigTest, MissingTopLevelKey) {
  LoadResult r = load("zoho:\n  client_id: x\n  client_secret: s\n  refresh_token: t\n");
  expect_error(r, 1, 1, "streams", "missing required key 'streams'");
}

TEST_F(ConfigTest, BadDuration) {
  std::string y = minimal() + "service:\n  poll_interval: 5 minutes\n";
  expect_error(load(y), 13, 18, "service.poll_interval", "bad duration '5 minutes'");
  EXPECT_FALSE(load(minimal() + "service:\n  poll_interval: 300\n").ok());
  EXPECT_FALSE(load(minimal() + "service:\n  poll_interval: 0s\n").ok());
}

TEST_F(ConfigTest, UnknownFilter) {
  std::string y = minimal(
      "streams:\n"
      "  - name: deals\n"
      "    from: {crm: Deals}\n"
      "    to: people.job\n"
      "    map:\n"
      "      jobName: \"{Deal_Name|titlecase}\"\n"
      "      assignees: [{assignedTo: \"{Owner.email}\"}]\n");
  expect_error(load(y), 10, 16, "streams[0].map.jobName", "unknown filter 'titlecase'");
}

TEST_F(ConfigTest, LookupOfUnknownStream) {
  std::string y = minimal(std::string(kOneStream) +
                          "  - name: calls\n"
                          "    from: {crm: Calls}\n"
                          "    to: people.timelog\n"
                          "    map:\n"
                          "      user: \"{Owner.email}\"\n"
                          "      jobId: {lookup: {stream: dealz, key: \"{What_Id.id}\"}}\n"
                          "      date: \"{Call_Start_Time|date}\"\n"
                          "      hours: \"01:00\"\n");
  expect_error(load(y), 17, 32, "streams[1].map.jobId.lookup.stream", "lookup of unknown stream 'dealz'");
}

TEST_F(ConfigTest, LookupCycle) {
  std::string y = minimal(
      "streams:\n"
      "  - name: a\n"
      "    from: {crm: A}\n"
      "    to: people.timelog\n"
      "    map: {user: u, date: d, hours: h, jobId: {lookup: {stream: b, key: \"{x}\"}}}\n"
      "  - name: b\n"
      "    from: {crm: B}\n"
      "    to: people.timelog\n"
      "    map: {user: u, date: d, hours: h, jobId: {lookup: {stream: a, key: \"{x}\"}}}\n");
  LoadResult r = load(y);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(all_errors(r), HasSubstr("cycle of lookups: a -> b -> a"));
  EXPECT_EQ(r.errors[0].line, 6);
}

TEST_F(ConfigTest, HttpOnlyForLoopback) {
  for (const char* host : {"http://127.0.0.1:8080", "http://localhost", "http://[::1]:9000", "https://proxy.example"}) {
    std::string y = minimal();
    y.replace(y.find("zoho:\n"), 6, std::string("zoho:\n  crm_url: ") + host + "\n");
    EXPECT_TRUE(load(y).ok()) << host << all_errors(load(y));
  }
  std::string y = minimal();
  y.replace(y.find("zoho:\n"), 6, "zoho:\n  crm_url: http://crm.example.com\n");
  expect_error(load(y), 2, 12, "zoho.crm_url", "http:// is allowed only for loopback hosts");
}

// Found by fuzz/config.cpp: a port too long for stoul threw std::out_of_range
// out of the loader, and `peoplesync check` died instead of naming the key.
TEST_F(ConfigTest, AnyPortIsAnErrorNotAnException) {
  for (const char* url : {"http://127.0.0.1:866666666666666666666666666666443", "https://crm.example:0",
                          "https://crm.example:65536", "https://crm.example:", "https://crm.example:+80"}) {
    std::string y = minimal();
    y.replace(y.find("zoho:\n"), 6, std::string("zoho:\n  crm_url: \"") + url + "\"\n");
    LoadResult r = load(y);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_THAT(all_errors(r), HasSubstr("zoho.crm_url: bad port in URL")) << url;
  }
  std::string y = minimal();
  y.replace(y.find("zoho:\n"), 6, "zoho:\n  crm_url: https://crm.example:65535\n");
  EXPECT_TRUE(load(y).ok()) << all_errors(load(y));
}

TEST_F(ConfigTest, UnknownLimitEndpoint) {
  std::string y = minimal() + "limits:\n  people/addupdatetimelog: {per_minute: 3}\n";
  expect_error(load(y), 13, 3, "limits.people/addupdatetimelog", "unknown endpoint");
  std::string k = minimal() + "limits:\n  crm: {lock: 5m}\n";
  EXPECT_THAT(all_errors(load(k)), HasSubstr("unknown key 'lock'"));
}

TEST_F(ConfigTest, TargetRules) {
  // crm.update needs a People source and a module.
  std::string y = minimal(
      "streams:\n"
      "  - name: back\n"
      "    from: {crm: Deals}\n"
      "    to: crm.update\n"
      "    map: {Hours: \"{totalhours}\"}\n");
  std::string errs = all_errors(load(y));
  EXPECT_THAT(errs, HasSubstr("crm.update needs from: {people: jobs"));
  EXPECT_THAT(errs, HasSubstr("missing required key 'module'"));
  // unknown People field name
  std::string z = minimal(
      "streams:\n"
      "  - name: deals\n"
      "    from: {crm: Deals}\n"
      "    to: people.job\n"
      "    map: {jobName: x, assignees: [{assignedTo: y}], jobname: z}\n");
  EXPECT_THAT(all_errors(load(z)), HasSubstr("unknown people.job field 'jobname'"));
}

TEST_F(ConfigTest, EveryErrorIsReportedAtOnce) {
  std::string y =
      "zoho:\n  client_id: x\n  client_secret: s\n  refresh_token: t\n  data_center: mars\n"
      "service:\n  poll_interval: soon\n  listen: nowhere\n"
      "streams:\n  - name: bad name\n    from: {crm: X}\n    to: people.jobb\n    map: {}\n";
  LoadResult r = load(y);
  ASSERT_FALSE(r.ok());
  EXPECT_GE(r.errors.size(), 4u) << all_errors(r);
  for (std::size_t i = 1; i < r.errors.size(); ++i) EXPECT_LE(r.errors[i - 1].line, r.errors[i].line);
}

TEST_F(ConfigTest, YamlSyntaxErrorHasPosition) {
  LoadResult r = load("zoho:\n  client_id: [unclosed\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.errors[0].message, HasSubstr("YAML syntax error"));
  EXPECT_GT(r.errors[0].line, 0);
}

TEST_F(ConfigTest, SecretsNeverAppearInErrors) {
  // Secrets sit next to (and inside) broken values; no error may print them.
  env_["PLACE"] = kSecret;
  std::string y = std::string("zoho:\n  client_id: x\n  client_secret: ") + kSecret + "\n  refresh_token: " + kToken +
                  "\n  refresh_tokn: " + kToken + "\n  timeouts: {connect: " + kSecret + "}\n" +
                  "state:\n  path: [" + kSecret + "]\n" + "service:\n  log_level: ${PLACE}\n" + kOneStream;
  LoadResult r = load(y);
  ASSERT_FALSE(r.ok());
  const std::string errs = all_errors(r);
  EXPECT_GE(r.errors.size(), 3u) << errs;
  EXPECT_EQ(errs.find(kSecret), std::string::npos) << errs;
  EXPECT_EQ(errs.find(kToken), std::string::npos) << errs;
}

// The redaction list holds the secrets of the config in force: a config
// that loads replaces them; one that fails leaves them (the old config stays
// in force) and has its own scrubbed from its errors.
TEST_F(ConfigTest, LoadedConfigReplacesTheSecretsInForce) {
  env_["ZOHO_CLIENT_SECRET"] = "secret-in-force-one";
  ASSERT_TRUE(load(minimal()).ok());
  EXPECT_EQ(redact_registered("secret-in-force-one"), "[redacted]");
  LoadResult bad = load("zoho:\n  client_id: x\n  client_secret: secret-of-a-bad-one\n  refresh_token: t\n"
                        "  timeouts: {connect: secret-of-a-bad-one}\n" + std::string(kOneStream));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(all_errors(bad).find("secret-of-a-bad-one"), std::string::npos) << all_errors(bad);
  EXPECT_EQ(redact_registered("secret-in-force-one"), "[redacted]");
  env_["ZOHO_CLIENT_SECRET"] = "secret-in-force-two";
  ASSERT_TRUE(load(minimal()).ok());
  EXPECT_EQ(redact_registered("secret-in-force-one secret-in-force-two"), "secret-in-force-one [redacted]");
}

TEST_F(ConfigTest, MissingFile) {
  LoadResult r = load_config((dir_ / "nope.yaml").string(), options());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.errors[0].format(), HasSubstr("nope.yaml: cannot read config file"));
}

TEST(Duration, Parses) {
  EXPECT_EQ(parse_duration("250ms"), Duration{250});
  EXPECT_EQ(parse_duration("10s"), std::chrono::seconds{10});
  EXPECT_EQ(parse_duration("1h30m"), std::chrono::minutes{90});
  EXPECT_EQ(parse_duration("2d"), std::chrono::hours{48});
  for (const char* bad : {"", "10", "s", "10x", "1.5h", "-5m", "5 m", "m5"}) EXPECT_FALSE(parse_duration(bad)) << bad;
  // Found by fuzz/dates.cpp: n * unit overflowed ("424522204320d"). At most
  // 2^40 ms (~35 years) in all.
  EXPECT_EQ(parse_duration("1099511627776ms"), Duration{std::int64_t{1} << 40});
  EXPECT_EQ(parse_duration("12000d"), std::chrono::hours{24 * 12000});
  for (const char* huge : {"424522204320d", "1099511627777ms", "13000d", "1099511627776ms1ms", "12000d12000d",
                           "9223372036854775807ms"})
    EXPECT_FALSE(parse_duration(huge)) << huge;
  EXPECT_EQ(format_duration(std::chrono::minutes{90}), "1h30m");
  EXPECT_EQ(format_duration(Duration{1500}), "1s500ms");
}

TEST(ConfigPath, FlagThenEnvThenDefault) {
  auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto env = [](const std::string&) -> std::optional<std::string> { return "/env.yaml"; };
  EXPECT_EQ(resolve_config_path(std::string("/flag.yaml"), env), "/flag.yaml");
  EXPECT_EQ(resolve_config_path(std::nullopt, env), "/env.yaml");
  EXPECT_EQ(resolve_config_path(std::nullopt, none), "/etc/peoplesync/config.yaml");
}

TEST_F(ConfigTest, RestartOnlyChangesNameEachSettingAReloadCannotApply) {
  const std::string base = minimal();
  const std::string changed =
      "service:\n  listen: 0.0.0.0:9999\n  log_level: debug\n  poll_interval: 30s\n"
      "zoho:\n  client_id: x\n  client_secret: ${ZOHO_CLIENT_SECRET}\n  refresh_token: ${ZOHO_REFRESH}\n"
      "  timeouts: {connect: 3s}\nstate:\n  path: /tmp/other.db\n" +
      std::string(kOneStream);
  LoadResult a = load(base);
  LoadResult b = load(changed);
  ASSERT_TRUE(a.ok()) << all_errors(a);
  ASSERT_TRUE(b.ok()) << all_errors(b);
  EXPECT_TRUE(restart_only_changes(*a.config, *a.config).empty());
  const auto c = restart_only_changes(*a.config, *b.config);
  std::string all;
  for (const auto& line : c) all += line + "\n";
  // poll_interval reloads; these four do not.
  ASSERT_EQ(c.size(), 4u) << all;
  EXPECT_NE(all.find("service.listen ("), std::string::npos) << all;
  EXPECT_NE(all.find("-> 0.0.0.0:9999)"), std::string::npos) << all;
  EXPECT_NE(all.find("service.log_level (info -> debug)"), std::string::npos) << all;
  EXPECT_NE(all.find("zoho.timeouts.connect (10000 ms -> 3000 ms)"), std::string::npos) << all;
  EXPECT_NE(all.find("state.path ("), std::string::npos) << all;
  EXPECT_EQ(all.find("poll_interval"), std::string::npos) << all;
}

}  // namespace
}  // namespace peoplesync::config
