#include "daemon/notify.hpp"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "common/log.hpp"

namespace peoplesync::notify {
namespace {

constexpr std::size_t kMaxStatus = 512;

std::optional<std::string> real_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

template <class T>
std::optional<T> parse_number(const std::string& s) {
  T v{};
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc{} || p != end) return std::nullopt;
  return v;
}

}  // namespace

std::string_view to_string(Result r) {
  switch (r) {
    case Result::sent: return "sent";
    case Result::not_under_systemd: return "not_under_systemd";
    case Result::failed: return "failed";
  }
  return "?";
}

Notifier::Notifier(GetEnv getenv, long pid) : getenv_(std::move(getenv)), pid_(pid) {}

Notifier::Notifier() : Notifier(real_env, static_cast<long>(::getpid())) {}

Result Notifier::ready() { return send("READY=1"); }

Result Notifier::status(std::string_view line) {
  std::string clean(line.substr(0, kMaxStatus));
  for (char& c : clean)
    if (c == '\n' || c == '\r') c = ' ';
  return send("STATUS=" + clean);
}

Result Notifier::reloading() { return send("RELOADING=1"); }

Result Notifier::stopping() { return send("STOPPING=1"); }

Result Notifier::watchdog() { return send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> Notifier::watchdog_interval() const {
  const auto usec_text = getenv_("WATCHDOG_USEC");
  if (!usec_text) return std::nullopt;
  const auto usec = parse_number<unsigned long long>(*usec_text);
  if (!usec || *usec == 0) return std::nullopt;
  if (const auto pid_text = getenv_("WATCHDOG_PID")) {
    const auto pid = parse_number<long>(*pid_text);
    if (!pid || *pid != pid_) return std::nullopt;
  }
  return std::chrono::microseconds(static_cast<std::int64_t>(*usec / 2));
}

Result Notifier::send(const std::string& state) {
  const int r = ::sd_notify(0, state.c_str());
  if (r > 0) return Result::sent;
  if (r == 0) return Result::not_under_systemd;
  if (!failure_logged_) {
    failure_logged_ = true;
    log::Logger("notify").warn("sd_notify({}) failed: {}", state.substr(0, state.find('=')), std::strerror(-r));
  }
  return Result::failed;
}

}  // namespace peoplesync::notify
