#pragma once
// Time enters the program through this interface, wired once at start-up.
// Logic never calls std::chrono clocks directly; tests pass a ManualClock.
#include <chrono>
#include <cstdint>

namespace peoplesync {

using SysTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (for watermarks, logs, run history).
  virtual SysTime now() const = 0;
  // Monotonic time (for deadlines, buckets, backoff).
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SysTime now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};

// A clock that moves only when told to. Wall and steady time advance together.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SysTime start = SysTime{std::chrono::seconds{1'700'000'000}})
      : wall_(start) {}
  SysTime now() const override { return wall_; }
  std::chrono::steady_clock::time_point steady_now() const override { return steady_; }
  void advance(Millis d) {
    wall_ += d;
    steady_ += d;
  }
  // Moves only the wall clock (e.g. an NTP step backwards).
  void set_wall(SysTime t) { wall_ = t; }

 private:
  SysTime wall_;
  std::chrono::steady_clock::time_point steady_{};
};

inline std::int64_t to_unix_ms(SysTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}
inline SysTime from_unix_ms(std::int64_t ms) { return SysTime{Millis{ms}}; }

}  // namespace peoplesync
