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
#include "connectors/result.hpp"

namespace peoplesync::connectors {

struct PeopleProject {
  std::string id, name, client_id, client_name, status;
};

struct PeopleJob {
  std::string id, name, project_id, project_name, client_id, client_name;
  std::string status;  // "In-Progress" | "Completed"
  std::string from_date, to_date, description, hours, total_hours;
};

// One employee record (the forms API's employee view).
struct PeopleEmployee {
  std::string erecno;       // the record id: what the forms API takes as an assignee
  std::string employee_id;  // "EMP007"
  std::string email;
};

struct PeopleTimelog {
  std::string id, user, job_id, date, hours, billable_status, work_item, description;
  std::string erecno, job_name;  // as real replies carry them (C2); workItem is often absent
};

struct Assignee {
  std::string assigned_to;  // email, employee id or erecno
  std::string hours;        // "HH:mm"
  std::string rate;
};

struct JobInput {
  std::string name;
  std::vector<Assignee> assignees;  // forms API: erecnos
  std::string project_id;
  std::string from_date, to_date;  // yyyy-MM-dd; the client writes them in the format the API takes
  std::string description;         // addjob / modifyjob only: the form has no such label
  std::string rate_per_hour;       // forms API: the rate of assignees that have none
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
  // True when two or more added ids went to items by position (Zoho does not
  // document their order), every other item being accounted for exactly.
  bool matched_by_order = false;
};

// One errorLogs item of an addupdatetimelogs reply, as People echoed it.
struct EchoedError {
  std::string user, date, job_id, hours, code, message;
};
// Matches a bulk reply to its request items (exposed for tests): errors on
// normalised values (email case; erecno, employee id or a job name echoed
// for what was sent; 1:00 = 01:00; dates in yyyy-MM-dd or the company
// format), an error taken only when it fits exactly one item; added ids by
// position only when every other item is accounted for exactly. Whatever
// cannot be told for sure is failed with Outcome::in_doubt.
BulkTimelogResult match_bulk_result(const std::vector<TimelogInput>& items, const std::vector<EchoedError>& errors,
                                    const std::vector<std::string>& added, const std::vector<std::string>& edited,
                                    const std::string& company_format);

struct JobQuery {
  std::string assigned_to = "all";
  std::string project_id;  // empty = all
  std::string job_status;  // empty = all
  bool fetch_logged_hours = true;
  int s_index = 0;
  int limit = 200;
  // The dateFormat parameter; nullopt: none sent (People uses the company format).
  std::optional<std::string> date_format = "yyyy-MM-dd";
};

struct TimelogQuery {
  std::string user = "all";
  std::string job_id;
  std::string from_date, to_date;  // in date_format; at most one month apart (9007)
  int s_index = 0;
  int limit = 200;
  // The dateFormat parameter; nullopt: none sent, dates are then read and
  // written in the company date format (check --online tests it that way).
  std::optional<std::string> date_format = "yyyy-MM-dd";
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
// Reads People's authorisation errors out of a reply (7202 / 7213: token
// refused, 7218: scope missing); set on every People request.
AuthSignal people_auth_check(const Response& res);
// People's status words of jobs and projects.
inline constexpr std::string_view kStatusCompleted = "Completed";
inline constexpr std::string_view kStatusInProgress = "In-Progress";
// A project People reports completed: no job can be added to or changed in it.
bool project_completed(const PeopleProject& p);

// The outcome a People error code means.
Outcome classify_people_error(std::string_view code, std::string_view message);

class PeopleClient {
 public:
  // date_format: the organisation's company date format (people.date_format),
  // in which the forms API reads dates.
  PeopleClient(ZohoApi& api, std::string people_url, std::string date_format = "dd-MMM-yyyy");

  boost::asio::awaitable<Expected<Page<PeopleProject>>> get_projects(int s_index, int limit = 200);
  boost::asio::awaitable<Expected<Page<PeopleJob>>> get_jobs(const JobQuery& q);
  boost::asio::awaitable<Expected<PeopleJob>> get_job_details(const std::string& job_id);
  boost::asio::awaitable<Expected<std::string>> add_job(const JobInput& job);  // -> job id
  boost::asio::awaitable<Expected<std::string>> insert_job_record(const JobInput& job);  // forms API -> pkId
  boost::asio::awaitable<Expected<std::string>> update_job_record(const std::string& record_id, const JobInput& job);
  boost::asio::awaitable<Expected<std::string>> modify_job(const std::string& job_id, const JobInput& job);
  boost::asio::awaitable<Expected<bool>> modify_job_status(const std::string& job_id, const std::string& status);
  boost::asio::awaitable<Expected<bool>> delete_jobs(const std::vector<std::string>& job_ids);  // <= 100
  // A write endpoint called with parameters it must refuse, to learn whether
  // the token has its scope without writing anything (check --online):
  // insertRecord / updateRecord with empty inputData, addupdatetimelogs with
  // an empty list, modifyjobstatus / deletejob / deletetimelog with id 0.
  // ok: refused for its input (the scope is there); a CallError otherwise
  // (Outcome::auth when the scope is missing).
  boost::asio::awaitable<Expected<bool>> probe_write(const std::string& endpoint);
  // The employee whose email (any case) or employee id is `who`, through the
  // employee records view; nullopt when People has none.
  boost::asio::awaitable<Expected<std::optional<PeopleEmployee>>> find_employee(const std::string& who);
  boost::asio::awaitable<Expected<BulkTimelogResult>> add_update_timelogs(const std::vector<TimelogInput>& items);
  boost::asio::awaitable<Expected<Page<PeopleTimelog>>> get_timelogs(const TimelogQuery& q);
  boost::asio::awaitable<Expected<std::vector<std::string>>> delete_timelogs(const std::vector<std::string>& ids);
  // reference id -> People id; ids Zoho has not synced yet are absent.
  boost::asio::awaitable<Expected<std::map<std::string, std::string>>> record_ids_by_reference(
      const std::string& service, const std::string& entity, const std::vector<std::string>& reference_ids);

  // Records per page of a list read (getjobs, gettimelogs, getprojects).
  static constexpr int kPageSize = 200;
  // Days one gettimelogs read may span (People refuses more than a month: 9007).
  static constexpr int kMaxTimelogReadDays = 28;
  // Days one addupdatetimelogs call may span.
  static constexpr int kMaxTimelogWriteDays = 31;
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
  std::string date_format_;
};

}  // namespace peoplesync::connectors
