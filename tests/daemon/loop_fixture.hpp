#pragma once
// The example config, a fresh temp-file store at 2024-06-01T12:00:00Z on a
// ManualClock, and a scripted stack factory: what the poll loop and live
// tracker tests share.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "common/metrics.hpp"
#include "common/timefmt.hpp"
#include "config/loader.hpp"
#include "daemon/live_tracker.hpp"
#include "daemon/poll_loop.hpp"
#include "state/store.hpp"
#include "tests/daemon/loop_doubles.hpp"

namespace peoplesync::testing {

inline config::ConfigPtr example_config() {
  std::ifstream in(std::string(PEOPLESYNC_SOURCE_DIR) + "/examples/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  config::LoadOptions o;
  o.require_secrets = false;
  o.getenv = [](const std::string&) -> std::optional<std::string> { return "x"; };
  auto r = config::load_config_text(ss.str(), "examples/config.yaml", o);
  if (!r.ok()) throw std::runtime_error("examples/config.yaml does not load: " + r.errors.front().format());
  return r.config;
}

class LoopTest : public ::testing::Test {
 protected:
  LoopTest() : clock_(*parse_iso8601("2024-06-01T12:00:00Z")), cfg_(example_config()), tracker_(registry_) {
    dir_ = ::testing::TempDir() + "peoplesync-loop-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = state::Store::open(dir_ + "/state.db", clock_);
  }
  ~LoopTest() override {
    loop_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  runtime::PollLoop& make_loop(bool daemon, bool dry_run = false) {
    runtime::LoopOptions o;
    o.daemon = daemon;
    o.dry_run = dry_run;
    o.mode = daemon ? "daemon" : dry_run ? "dry-run" : "run-once";
    loop_ = std::make_unique<runtime::PollLoop>(
        cfg_,
        [this](const config::Config& c) { return std::make_unique<ScriptedStack>(c, script_, calls_, clock_); },
        *store_, tracker_, timer_, clock_, o, hooks_);
    return *loop_;
  }

  // Runs the loop to its end on an io_context. A daemon loop is stopped at
  // the wait numbered stop_at_wait (and at the latest after 100 waits).
  int run(std::size_t stop_at_wait = 100) {
    auto test_hook = timer_.on_wait;
    timer_.on_wait = [this, test_hook, stop_at_wait](std::size_t i) {
      if (test_hook) test_hook(i);
      if (i >= stop_at_wait || i >= 100) loop_->stop();
    };
    boost::asio::io_context io;
    boost::asio::co_spawn(io, loop_->run(), boost::asio::detached);
    io.run();
    return loop_->exit_code();
  }

  void seed_watermark(const std::string& stream, const std::string& watermark) {
    state::Commit c;
    c.checkpoints.push_back({stream, watermark, {}, 0});
    store_->commit(c);
  }

  std::string dir_;
  ManualClock clock_;
  config::ConfigPtr cfg_;
  std::unique_ptr<state::Store> store_;
  metrics::Registry registry_;
  runtime::LiveTracker tracker_;
  FakePassTimer timer_{clock_};
  StackScript script_;
  StackCalls calls_;
  runtime::LoopHooks hooks_;
  std::unique_ptr<runtime::PollLoop> loop_;
};

}  // namespace peoplesync::testing
