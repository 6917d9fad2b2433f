#pragma once
// A seeded temp-file state store, the example config and a live view, shared
// by the health endpoint tests and the page server the Chromium test loads.
// Plus a tiny blocking HTTP/1.1 client on POSIX sockets (no Beast: compiles
// fast, and it is a client independent of the server under test).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "daemon/status_report.hpp"
#include "state/store.hpp"

namespace peoplesync::testing {

// The dead-letter reasons the seeded store holds (checked on the page).
inline constexpr const char* kReasonClosedJob = "People refused the time log: job is closed <Completed> & locked";
inline constexpr const char* kReasonMissingField = "template {Owner.email}: field Owner.email is missing";

struct StatusFixture {
  // Creates dir (removing what was there), the store file in it, and seeds it.
  explicit StatusFixture(const std::string& dir);
  ~StatusFixture();

  std::string dir;
  ManualClock clock;
  config::ConfigPtr config;  // examples/config.yaml (streams deals, calls, hours_back)
  std::unique_ptr<state::Store> store;
  status::Live live;  // deals running, calls finished; crm and addupdatetimelogs endpoints
};

struct HttpResult {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const;  // case-insensitive, "" if absent
};

// One request with "Connection: close"; throws std::runtime_error on socket errors.
HttpResult http_request(unsigned short port, const std::string& method, const std::string& target);

}  // namespace peoplesync::testing
