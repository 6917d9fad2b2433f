#pragma once
// systemd's notification protocol (Type=notify) through libsystemd's
// sd_notify: READY=1 once config, state and the first token are ready,
// STATUS= a one-line summary, WATCHDOG=1 every watchdog_interval(), RELOADING=1
// around a SIGHUP reload and STOPPING=1 when draining starts.
//
// libsystemd reads NOTIFY_SOCKET from the process environment itself; the
// watchdog settings (WATCHDOG_USEC, WATCHDOG_PID) are read through the
// injected environment, since the daemon schedules its pings from them.
// Outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace peoplesync::notify {

enum class Result {
  sent,
  not_under_systemd,  // NOTIFY_SOCKET is not set: nothing to tell
  failed,             // the socket is set but sending failed (logged once)
};

std::string_view to_string(Result r);

class Notifier {
 public:
  using GetEnv = std::function<std::optional<std::string>(const std::string&)>;
  // pid: this process (compared with WATCHDOG_PID, which systemd sets to the
  // main process).
  Notifier(GetEnv getenv, long pid);
  // The real process environment and pid.
  Notifier();

  Result ready();
  // Newlines would start a new assignment in the protocol: they are sent as
  // spaces, and the line is cut at 512 bytes.
  Result status(std::string_view line);
  Result reloading();
  Result stopping();
  Result watchdog();

  // Half of WATCHDOG_USEC (as systemd's documentation recommends), or nullopt
  // when the watchdog is off: unset, zero, unparsable, or meant for another
  // process (WATCHDOG_PID).
  std::optional<std::chrono::microseconds> watchdog_interval() const;

 private:
  Result send(const std::string& state);
  GetEnv getenv_;
  long pid_;
  bool failure_logged_ = false;
};

}  // namespace peoplesync::notify
