#include "daemon/cli.hpp"

#include <gtest/gtest.h>

namespace peoplesync::cli {
namespace {

Options ok(std::vector<std::string> args) {
  auto r = parse(args);
  EXPECT_TRUE(std::holds_alternative<Options>(r)) << std::get<UsageError>(r).message;
  return std::holds_alternative<Options>(r) ? std::get<Options>(r) : Options{};
}

std::string bad(std::vector<std::string> args) {
  auto r = parse(args);
  EXPECT_TRUE(std::holds_alternative<UsageError>(r));
  return std::holds_alternative<UsageError>(r) ? std::get<UsageError>(r).message : "";
}

TEST(Cli, DefaultIsTheDaemon) {
  Options o = ok({});
  EXPECT_EQ(o.command, Command::run);
  EXPECT_FALSE(o.run_once);
}

TEST(Cli, RunOnceWithEverything) {
  Options o = ok({"-c", "/x.yaml", "--run-once", "--since", "2024-05-01", "--stream", "deals", "--stream=calls",
                  "--stream", "deals", "--log-format=json", "--log-level", "debug"});
  EXPECT_EQ(o.config_path, "/x.yaml");
  EXPECT_TRUE(o.run_once);
  ASSERT_TRUE(o.since);
  EXPECT_EQ(o.streams, (std::vector<std::string>{"deals", "calls"}));
  EXPECT_EQ(o.log_format, "json");
  EXPECT_EQ(o.log_level, "debug");
}

TEST(Cli, Subcommands) {
  EXPECT_EQ(ok({"check", "-c", "f", "--online"}).command, Command::check);
  EXPECT_TRUE(ok({"check", "--online"}).online);
  EXPECT_TRUE(ok({"status", "--json"}).json);
  EXPECT_EQ(ok({"retry", "--stream", "calls"}).streams.size(), 1u);
  Options r = ok({"reset", "--stream", "deals", "--to", "2024-01-01T00:00:00Z"});
  EXPECT_EQ(r.reset_to, "2024-01-01T00:00:00Z");
  EXPECT_EQ(ok({"demo"}).command, Command::demo);
  EXPECT_EQ(ok({"-cfile.yaml"}).config_path, "file.yaml");
}

TEST(Cli, AuthScopesAndCode) {
  Options s = ok({"auth", "-c", "/etc/p.yaml", "--scopes"});
  EXPECT_EQ(s.command, Command::auth);
  EXPECT_TRUE(s.scopes);
  EXPECT_FALSE(s.grant_code);
  EXPECT_EQ(s.config_path, "/etc/p.yaml");
  Options c = ok({"auth", "--code", "1000.abc.def", "--log-level", "debug"});
  EXPECT_EQ(c.command, Command::auth);
  EXPECT_FALSE(c.scopes);
  EXPECT_EQ(c.grant_code, "1000.abc.def");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(ok({"auth", "--code=1000.x"}).grant_code, "1000.x");
  // --scopes and --code belong to auth only.
  EXPECT_FALSE(ok({"check", "--online"}).scopes);
  EXPECT_FALSE(ok({"--run-once"}).grant_code);
}

TEST(Cli, AuthUsageErrors) {
  EXPECT_EQ(bad({"auth"}), "auth needs exactly one of --scopes and --code CODE");
  EXPECT_EQ(bad({"auth", "--scopes", "--code", "X"}), "auth needs exactly one of --scopes and --code CODE");
  EXPECT_EQ(bad({"auth", "--code"}), "option '--code' needs a value");
  EXPECT_EQ(bad({"auth", "--code="}), "option '--code' needs a non-empty value");
  EXPECT_EQ(bad({"auth", "--scopes=yes"}), "option '--scopes' takes no value");
  EXPECT_EQ(bad({"auth", "--scopes", "--online"}), "option '--online' does not apply to auth");
  EXPECT_EQ(bad({"auth", "--scopes", "--stream", "deals"}), "option '--stream' does not apply to auth");
  EXPECT_EQ(bad({"auth", "--scopes", "1000.code"}), "unexpected argument '1000.code'");
  EXPECT_EQ(bad({"check", "--scopes"}), "option '--scopes' does not apply to check");
  EXPECT_EQ(bad({"--run-once", "--code", "X"}), "option '--code' does not apply to peoplesync");
  EXPECT_EQ(bad({"status", "--code=X"}), "option '--code' does not apply to status");
}

TEST(Cli, HelpAndVersionWinAnywhere) {
  EXPECT_EQ(ok({"status", "--bogus", "--help"}).command, Command::help);
  EXPECT_EQ(ok({"--version"}).command, Command::version);
  EXPECT_EQ(ok({"help"}).command, Command::help);
}

TEST(Cli, UsageErrors) {
  EXPECT_EQ(bad({"frobnicate"}), "unknown command 'frobnicate'");
  EXPECT_EQ(bad({"--frob"}), "unknown option '--frob'");
  EXPECT_EQ(bad({"-c"}), "option '-c' needs a value");
  EXPECT_EQ(bad({"--since", "2024-01-01"}), "--since needs --run-once");
  EXPECT_NE(bad({"--run-once", "--since", "last tuesday"}).find("bad time"), std::string::npos);
  EXPECT_EQ(bad({"reset"}), "reset needs exactly one --stream NAME");
  EXPECT_EQ(bad({"status", "--online"}), "option '--online' does not apply to status");
  EXPECT_EQ(bad({"--run-once=yes"}), "option '--run-once' takes no value");
  EXPECT_NE(bad({"--log-level", "loud"}).find("--log-level must be"), std::string::npos);
  EXPECT_EQ(bad({"status", "extra"}), "unexpected argument 'extra'");
  EXPECT_EQ(bad({"--json"}), "--json applies to --dry-run (and to status)");
}

}  // namespace
}  // namespace peoplesync::cli
