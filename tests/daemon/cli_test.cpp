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
