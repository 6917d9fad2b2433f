#include "daemon/notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace peoplesync::notify {
namespace {

// A unix datagram socket standing in for systemd's notification socket,
// published as NOTIFY_SOCKET for the duration of a test. libsystemd sends
// synchronously, so each message is queued by the time the call returns.
class NotifySocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("peoplesync-notify-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "notify.sock").string();
    std::filesystem::remove(path_);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path_.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    if (fd_ >= 0) ::close(fd_);
    std::filesystem::remove_all(dir_);
  }

  // The next queued message, or nullopt if none is waiting.
  std::optional<std::string> next() {
    char buf[4096];
    const auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

  static Notifier::GetEnv no_env() {
    return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  }

  std::filesystem::path dir_;
  std::string path_;
  int fd_ = -1;
};

TEST_F(NotifySocketTest, EachCallSendsItsMessage) {
  Notifier n(no_env(), static_cast<long>(::getpid()));
  EXPECT_EQ(n.status("starting: loading config"), Result::sent);
  EXPECT_EQ(next(), "STATUS=starting: loading config");
  EXPECT_EQ(n.ready(), Result::sent);
  EXPECT_EQ(next(), "READY=1");
  EXPECT_EQ(n.watchdog(), Result::sent);
  EXPECT_EQ(next(), "WATCHDOG=1");
  EXPECT_EQ(n.reloading(), Result::sent);
  EXPECT_EQ(next(), "RELOADING=1");
  EXPECT_EQ(n.stopping(), Result::sent);
  EXPECT_EQ(next(), "STOPPING=1");
  EXPECT_EQ(next(), std::nullopt);  // nothing else was sent
}

TEST_F(NotifySocketTest, StatusCannotSmuggleAnotherAssignment) {
  Notifier n(no_env(), 1);
  EXPECT_EQ(n.status("3 streams\nREADY=1\r\nok"), Result::sent);
  EXPECT_EQ(next(), "STATUS=3 streams READY=1  ok");
  EXPECT_EQ(n.status(std::string(2000, 'x')), Result::sent);
  EXPECT_EQ(next(), "STATUS=" + std::string(512, 'x'));
}

TEST_F(NotifySocketTest, WithoutNotifySocketNothingIsSent) {
  ::unsetenv("NOTIFY_SOCKET");
  Notifier n(no_env(), 1);
  EXPECT_EQ(n.ready(), Result::not_under_systemd);
  EXPECT_EQ(n.watchdog(), Result::not_under_systemd);
  EXPECT_EQ(next(), std::nullopt);
}

TEST_F(NotifySocketTest, AVanishedSocketIsAFailureNotACrash) {
  ::setenv("NOTIFY_SOCKET", (dir_ / "nobody-listens.sock").c_str(), 1);
  Notifier n(no_env(), 1);
  EXPECT_EQ(n.ready(), Result::failed);
  EXPECT_EQ(n.ready(), Result::failed);  // logged once, still reported
  EXPECT_EQ(to_string(Result::failed), "failed");
}

Notifier::GetEnv env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(NotifierWatchdog, IntervalIsHalfOfWatchdogUsec) {
  EXPECT_EQ(Notifier(env({{"WATCHDOG_USEC", "60000000"}}), 42).watchdog_interval(), std::chrono::seconds(30));
  EXPECT_EQ(Notifier(env({{"WATCHDOG_USEC", "3"}}), 42).watchdog_interval(), std::chrono::microseconds(1));
  EXPECT_EQ(Notifier(env({{"WATCHDOG_USEC", "60000000"}, {"WATCHDOG_PID", "42"}}), 42).watchdog_interval(),
            std::chrono::seconds(30));
}

TEST(NotifierWatchdog, OffWhenUnsetZeroGarbageOrForAnotherProcess) {
  EXPECT_EQ(Notifier(env({}), 42).watchdog_interval(), std::nullopt);
  EXPECT_EQ(Notifier(env({{"WATCHDOG_USEC", "0"}}), 42).watchdog_interval(), std::nullopt);
  EXPECT_EQ(Notifier(env({{"WATCHDOG_USEC", "60s"}}), 42).watchdog_interval(), std::nullopt);
  EXPECT_EQ(Notifier(env({{"WATCHDOG_USEC", "-5"}}), 42).watchdog_interval(), std::nullopt);
  EXPECT_EQ(Notifier(env({{"WATCHDOG_USEC", "60000000"}, {"WATCHDOG_PID", "43"}}), 42).watchdog_interval(),
            std::nullopt);
  EXPECT_EQ(Notifier(env({{"WATCHDOG_USEC", "60000000"}, {"WATCHDOG_PID", "x"}}), 42).watchdog_interval(),
            std::nullopt);
}

}  // namespace
}  // namespace peoplesync::notify
