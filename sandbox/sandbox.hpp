#pragma once
// peoplesync-sandbox: a local, faithful Zoho (OAuth, CRM v2, People time
// tracker) built from shared/api/*.txt and BEHAVIOUR.md. It shares no
// Zoho-reading code with connectors/: if both sides misread the vendor the
// same way, every test would pass and production would fail.
//
// All logic is in handle(): a plain function of a request, so it is unit-
// testable without sockets; main.cpp serves it over TLS (net/http_server).
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "net/http_server.hpp"

namespace peoplesync::sandbox {

// Switches for what the vendor pages leave uncertain (BEHAVIOUR.md "U").
struct Behaviour {
  std::string client_id = "sandbox-client";
  std::string client_secret = "sandbox-secret";
  std::vector<std::string> refresh_tokens{"sandbox-refresh-token"};
  Millis token_lifetime{3'600'000};
  bool millisecond_expires_in = false;  // the older OAuth reply form
  int tokens_per_window = 10;           // per refresh token per 10 minutes (C)
  int max_active_tokens = 15;           // the 16th evicts the oldest (C)
  bool crm_page_cap = true;             // 2000-record cap on `page` (C for v3, U for v2)
  bool crm_page_token = false;          // offer info.next_page_token (C for v3, U for v2)
  bool ims_inclusive = false;           // If-Modified-Since compares >= instead of > (U)
  std::int64_t crm_daily_credits = 50'000;
  bool people_limits = true;            // per-endpoint thresholds and lock periods
  Millis limit_window{60'000};          // sliding window (U: strictest reading)
  Millis lock_period{300'000};
  std::map<std::string, int> thresholds;  // endpoint -> calls per window; defaults filled in
  std::string people_http_error_status = "200";  // HTTP status of People errors (U): "200" or "400"
};

struct FaultSettings {
  double error_rate = 0;      // 500/502/503
  double drop_before = 0;     // close the connection before doing anything
  double drop_after = 0;      // do the work (commit), then close without a reply
  double truncate = 0;        // reply cut in half
  double garbage = 0;         // a non-JSON body
  double trickle = 0;         // reply a byte at a time
  Millis latency{0};
  std::string only_path;      // if set, faults apply only to paths containing this
};
// "error_rate=0.1,latency_ms=50,drop_after=0.02,..." -> settings, or an error.
std::optional<FaultSettings> parse_faults(const std::string& spec, std::string* error);

// The clock of the sandbox: real time since start, times the scale.
class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(double scale);
  SysTime now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;

 private:
  double scale_;
  std::chrono::steady_clock::time_point start_;
  SysTime epoch_;
};

class Sandbox {
 public:
  Sandbox(const Clock& clock, Behaviour behaviour, std::uint64_t seed);

  net::HttpReply handle(const net::HttpRequest& request);

  // Seeding: demo:N or a JSON document (format in sandbox/README.md).
  void seed_demo(int n);
  std::optional<std::string> seed_json(const std::string& json);  // error text on failure
  void set_faults(const FaultSettings& f);
  const Behaviour& behaviour() const { return b_; }

  // --- data model
  struct CrmRecord {
    std::string id;
    SysTime created, modified;
    std::map<std::string, std::string> fields;  // name -> raw JSON value
  };
  struct CrmDeleted {
    std::string id, display_name;
    SysTime deleted;
  };
  struct Client {
    std::string id, name;
    std::map<std::string, std::string> refs;
  };
  struct Project {
    std::string id, name, client_id, status;  // "In-Progress" | "Completed"
    std::map<std::string, std::string> refs;  // service -> reference id
  };
  struct Assignee {
    std::string who, hours, rate;
  };
  struct Job {
    std::string id, name, project_id, status, from_date, to_date, description, rate;
    std::vector<Assignee> assignees;
    std::map<std::string, std::string> refs;
  };
  struct Timelog {
    std::string id, user, job_id, date, hours, billable, work_item, description;
  };

 private:
  struct Token {
    std::string refresh;
    SysTime issued, expires;
  };

  net::HttpReply route(const net::HttpRequest& r, const std::string& endpoint);
  net::HttpReply oauth(const net::HttpRequest& r);
  bool authorised(const net::HttpRequest& r) const;

  net::HttpReply crm_get(const net::HttpRequest& r, const std::string& module);
  net::HttpReply crm_deleted(const net::HttpRequest& r, const std::string& module);
  net::HttpReply crm_put(const net::HttpRequest& r, const std::string& module);
  std::string record_json(const CrmRecord& rec, const std::vector<std::string>& fields) const;
  bool take_credits(int n);

  net::HttpReply people(const net::HttpRequest& r, const std::string& name, const net::Params& params);
  net::HttpReply people_error(const std::string& uri, const std::string& message, const std::string& code,
                              const std::string& error_message, bool errors_as_object);
  net::HttpReply people_ok(const std::string& uri, const std::string& message, const std::string& result_json,
                           bool next_available = false);
  std::string total_hours(const std::string& job_id) const;
  std::string job_json(const Job& j, bool logged_hours) const;

  net::HttpReply admin(const net::HttpRequest& r);

  // CRM keeps record times to the second (Created_Time, Modified_Time,
  // deleted_time): a stored sub-second part would make If-Modified-Since
  // return records of the watermark's own second again.
  SysTime crm_now() const { return std::chrono::floor<std::chrono::seconds>(clock_.now()); }
  std::string next_id();
  std::string token_string();
  std::string endpoint_of(const std::string& path) const;
  std::string stats_key(const net::HttpRequest& r, const std::string& endpoint) const;
  bool locked(const std::string& endpoint, std::string* uri);

  const Clock& clock_;
  Behaviour b_;
  FaultSettings faults_;
  std::mt19937_64 rng_;
  std::uint64_t id_counter_ = 0;

  std::map<std::string, std::vector<CrmRecord>> modules_;
  std::map<std::string, std::vector<CrmDeleted>> deleted_;
  std::vector<Client> clients_;
  std::vector<Project> projects_;
  std::vector<Job> jobs_;
  std::vector<Timelog> timelogs_;
  std::set<std::string> users_;

  std::map<std::string, Token> tokens_;                        // access token -> data
  std::map<std::string, std::vector<std::string>> active_;     // refresh -> access tokens, oldest first
  std::map<std::string, std::vector<SysTime>> issued_;         // refresh -> issue times
  std::set<std::string> revoked_;
  std::vector<SysTime> credit_log_;                            // CRM credit spends (one entry per credit)

  struct EndpointStats {
    std::int64_t calls = 0;
    std::int64_t lock_events = 0;
    std::int64_t locked_replies = 0;
    std::map<std::string, std::int64_t> errors;  // code -> count
    std::vector<SysTime> window;                 // admitted calls in the sliding window
    SysTime locked_until{};
  };
  std::map<std::string, EndpointStats> stats_;
  std::map<std::string, std::int64_t> faults_injected_;
  std::map<std::string, std::pair<std::string, SysTime>> page_tokens_;  // token -> (query key, expiry)
};

}  // namespace peoplesync::sandbox
