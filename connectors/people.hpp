#pragma once
// Typed client of the Zoho People time tracker (shared/api/people-*.txt).
// Every reply is read from its {"response":{...,"status":0|1|2}} envelope,
// whatever the HTTP status; `errors` may be an array or an object. The lock
// reply (7209, "threshold limit") maps to Outcome::locked; a body that is not
// JSON, or JSON of the wrong shape, is a CallError naming the endpoint.
#include <boost/asio/awaitable.hpp>

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "connectors/api.hpp"

namespace peoplesync::connectors {

template <class T>
using Expected = std::variant<T, CallError>;

struct PeopleProject {
  std::string id, name, client_id, client_name, status;
};

struct PeopleJob {
  std::string id, name, project_id, project_name, client_id, client_name;
  std::string status;  // "In-Progress" | "Completed"
  std::string from_date, to_date, description, hours, total_hours;
};

struct PeopleTimelog {
  std::string id, user, job_id, date, hours, billable_status, work_item, description;
};

template <class T>
struct Page {
  std::vector<T> items;
  bool more = false;  // isNextAvailable
};

struct Assignee {
  std::string assigned_to;  // email, employee id or erecno
  std::string hours;        // "HH:mm"
  std::string rate;
};

struct JobInput {
  std::string name;
  std::vector<Assignee> assignees;
  std::string project_id, from_date, to_date, description, rate_per_hour;  // empty = not sent
};

struct TimelogInput {
  std::string user, job_id, timelog_id, date, billable_status, hours, start_time, end_time, work_item, description;
};

// One item of an addupdatetimelogs call, in the order of the request.
struct TimelogItemResult {
  enum class Kind { added, edited, failed };
  Kind kind = Kind::failed;
  std::string timelog_id;  // added/edited
  std::string error_code;  // failed
  std::string message;     // failed
  Outcome outcome = Outcome::ok;  // failed: permanent or locked
};

struct BulkTimelogResult {
  std::vector<TimelogItemResult> items;  // one per request item
  // True when added ids were matched to items by position alone (Zoho does
  // not document their order): callers verify by reading back if it matters.
  bool matched_by_order = false;
};

struct JobQuery {
  std::string assigned_to = "all";
  std::string project_id;  // empty = all
  std::string job_status;  // empty = all
  bool fetch_logged_hours = true;
  int s_index = 0;
  int limit = 200;
};

struct TimelogQuery {
  std::string user = "all";
  std::string job_id;
  std::string from_date, to_date;  // yyyy-MM-dd; at most one month apart (9007)
  int s_index = 0;
  int limit = 200;
};

// Parsed envelope (exposed for tests and fuzzing).
struct PeopleErrorItem {
  std::string code;
  std::string message;
};
struct Envelope {
  int status = -1;
  std::string message;
  bool next_available = false;
  std::vector<PeopleErrorItem> errors;
  std::string result_json;  // the raw "result" value, re-parsed by callers
};
std::variant<Envelope, std::string> parse_envelope(std::string_view body);
// The outcome a People error code means.
Outcome classify_people_error(std::string_view code, std::string_view message);

class PeopleClient {
 public:
  PeopleClient(ZohoApi& api, std::string people_url);

  boost::asio::awaitable<Expected<Page<PeopleProject>>> get_projects(int s_index, int limit = 200);
  boost::asio::awaitable<Expected<Page<PeopleJob>>> get_jobs(const JobQuery& q);
  boost::asio::awaitable<Expected<PeopleJob>> get_job_details(const std::string& job_id);
  boost::asio::awaitable<Expected<std::string>> add_job(const JobInput& job);  // -> job id
  boost::asio::awaitable<Expected<std::string>> insert_job_record(const JobInput& job);  // forms API -> pkId
  boost::asio::awaitable<Expected<std::string>> update_job_record(const std::string& record_id, const JobInput& job);
  boost::asio::awaitable<Expected<std::string>> modify_job(const std::string& job_id, const JobInput& job);
  boost::asio::awaitable<Expected<bool>> modify_job_status(const std::string& job_id, const std::string& status);
  boost::asio::awaitable<Expected<bool>> delete_jobs(const std::vector<std::string>& job_ids);  // <= 100
  boost::asio::awaitable<Expected<BulkTimelogResult>> add_update_timelogs(const std::vector<TimelogInput>& items);
  boost::asio::awaitable<Expected<Page<PeopleTimelog>>> get_timelogs(const TimelogQuery& q);
  boost::asio::awaitable<Expected<std::vector<std::string>>> delete_timelogs(const std::vector<std::string>& ids);
  // reference id -> People id; ids Zoho has not synced yet are absent.
  boost::asio::awaitable<Expected<std::map<std::string, std::string>>> record_ids_by_reference(
      const std::string& service, const std::string& entity, const std::vector<std::string>& reference_ids);

  static constexpr std::size_t kMaxTimelogsPerCall = 100;
  static constexpr std::size_t kMaxReferenceIds = 200;
  static constexpr std::size_t kMaxTimelogDeletes = 1000;
  static constexpr std::size_t kMaxJobDeletes = 100;

 private:
  Request make(std::string_view endpoint, std::string_view path, Method m,
               const std::vector<std::pair<std::string, std::string>>& params) const;
  boost::asio::awaitable<Expected<Envelope>> exchange(Request r);

  ZohoApi& api_;
  std::string people_url_;
};

}  // namespace peoplesync::connectors
