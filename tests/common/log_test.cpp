#include "common/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "common/redact.hpp"

namespace peoplesync::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    init_with_sink(sink_, Format::text, Level::trace);
  }
  void TearDown() override { init(Format::text, Level::info); }  // the sink must not outlive out_
  std::string output() {
    flush();
    return out_.str();
  }
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(LogTest, TextLineHasLevelComponentAndFields) {
  Logger("sync").with("stream", "deals").info("read {} records", 42);
  const std::string s = output();
  EXPECT_NE(s.find("info  [sync] read 42 records stream=deals"), std::string::npos) << s;
}

TEST_F(LogTest, JsonLineIsOneObjectWithEscaping) {
  set_format(Format::json);
  Logger("connectors").with("endpoint", "people/getjobs").warn("bad \"reply\"\n");
  const std::string s = output();
  EXPECT_NE(s.find(R"("level":"warn","msg":"bad \"reply\"\n","component":"connectors","endpoint":"people/getjobs"})"),
            std::string::npos)
      << s;
  EXPECT_EQ(s.rfind("{\"ts\":\"", 0), 0u) << s;
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1);
}

TEST_F(LogTest, LevelFilters) {
  set_level(Level::warn);
  Logger("x").info("hidden");
  Logger("x").error("shown");
  const std::string s = output();
  EXPECT_EQ(s.find("hidden"), std::string::npos);
  EXPECT_NE(s.find("shown"), std::string::npos);
}

// The canary: a secret registered once never appears, whatever path a line
// takes to the sink (message, field, JSON or text, direct spdlog call).
TEST_F(LogTest, CanarySecretNeverAppears) {
  const std::string canary = "1000.canary0canary0canary0canary0.canary1canary1canary1";
  const std::string plain_canary = "plain-canary-secret-value";
  set_config_secrets({plain_canary});
  for (Format f : {Format::text, Format::json}) {
    set_format(f);
    Logger lg("oauth");
    lg.info("token {}", canary);
    lg.info("secret {}", plain_canary);
    lg.with("stream", plain_canary).error("in a field");
    lg.debug("Authorization: Zoho-oauthtoken {}", plain_canary);
    lg.warn("body refresh_token={}&client_secret={}", "rt-value-x", "cs-value-y");
    lg.warn(R"(reply {{"access_token":"{}"}})", "at-value-z");
    spdlog::info("direct spdlog call with {}", plain_canary);
  }
  const std::string s = output();
  for (const std::string& leak : {canary, plain_canary, std::string("rt-value-x"), std::string("cs-value-y"),
                                  std::string("at-value-z")}) {
    EXPECT_EQ(s.find(leak), std::string::npos) << leak << " leaked in:\n" << s;
  }
  EXPECT_NE(s.find("[redacted]"), std::string::npos);
}

}  // namespace
}  // namespace peoplesync::log
