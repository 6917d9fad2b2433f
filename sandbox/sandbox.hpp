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

  // --- OAuth, scopes, CRM metadata, typed PUT, COQL (evidence: /tmp/evidence-crm.md, BEHAVIOUR.md)
  // Scopes: every refresh token has a scope list (absent = every scope; seed
  // key "scopes", POST /_admin/scopes); access tokens carry the list of their
  // refresh token as it was when issued. Scopes compare case-insensitively.
  // A call outside its scope: CRM HTTP 401 OAUTH_SCOPE_MISMATCH (C2 body);
  // People code 7218 "Invalid OAuth Scope" in People's envelope (errors as an
  // object) with people_http_error_status. Table: sandbox/auth.cpp.
  //
  // People paths with an invalid, expired, revoked or evicted access token (or
  // none) answer People's envelope (C2), never CRM's 401 body: code
  // people_auth_code ("7202" "Invalid OAuth token" | "7213"), HTTP
  // people_auth_http_status ("400" C2 | "200"). CRM paths keep 401 INVALID_TOKEN.
  std::string people_auth_http_status = "400";  // flag --people-auth-status
  std::string people_auth_code = "7202";        // flag --people-auth-code
  // grant_type=authorization_code: codes (seed key "grant_codes", POST
  // /_admin/grant_code) work once and expire after this (C: Self Client
  // default 3 minutes); a bad/used/expired code: HTTP 200 {"error":"invalid_code"}.
  Millis grant_code_lifetime{180'000};          // flag --grant-code-lifetime-s
  // If-Modified-Since on GET records / deleted with a bare 'Z' (and COQL
  // datetime literals without a numeric offset) answer HTTP 400 INVALID_DATA
  // (C documents only numeric offsets). RFC 1123 dates stay accepted (C2).
  bool crm_ims_refuse_z = true;                 // flag --ims-accept-z
  // Typed PUT, for modules with field definitions (seed key "fields", demo):
  // a value of the wrong JSON type answers that record INVALID_DATA with
  // details {expected_data_type, api_name} (C2). Read-only fields and
  // api_names the module does not define (U): INVALID_DATA {api_name} when
  // these are true, silently ignored when false.
  bool crm_refuse_read_only = true;             // flag --crm-ignore-read-only
  bool crm_refuse_unknown_fields = true;        // flag --crm-ignore-unknown-fields
  // COQL (POST /crm/v2/coql): LIMIT at most coql_max_limit (C: 200 in v2),
  // LIMIT + OFFSET at most coql_max_reach (C: 10,000 records), else 400
  // LIMIT_EXCEEDED. Lookup columns come back as {"id":...} only (C2) unless
  // coql_lookup_id_only is false.
  int coql_max_limit = 200;                     // flag --coql-max-limit
  int coql_max_reach = 10'000;                  // flag --coql-max-reach
  bool coql_lookup_id_only = true;              // flag --coql-full-lookups

  // --- People: employees, dates, time logs (evidence in shared/api/BEHAVIOUR.md)
  // The organisation's company date format (C: set per org; the forms API has
  // no dateFormat parameter). insertRecord/updateRecord read StartDate/EndDate
  // in it (else 7055, or 7054 for a day that does not exist); getjobs,
  // getjobdetails and gettimelogs read and write dates in it unless the call
  // gives `dateFormat`. Patterns: dd, MM, MMM, yyyy with - / . or space
  // (sandbox/datefmt.hpp). Seed key "date_format", flag --date-format.
  std::string people_date_format = "dd-MMM-yyyy";
  // addupdatetimelogs errorLogs (C2: "echo the item as People stored it"):
  // "normalised": user = the employee's erecno (when known), jobId = the job's
  // name (when it exists), hours zero-padded HH:mm, date in the company date
  // format; "verbatim": user/date/jobId/hours exactly as sent (the vendor's
  // sample). Seed key "timelog_echo", flag --timelog-echo.
  std::string timelog_echo = "normalised";
  // gettimelogs rows carry `workItem` (C2: real replies do not). Seed key
  // "timelog_work_item", flag --timelog-work-item.
  bool timelog_work_item = false;
  // An empty page of getprojects/getjobs/gettimelogs/getclients (C2):
  // "no_result" = status 0, no "result" key, message "No records found";
  // "empty_array" = status 0, "result": []. Seed key "people_empty_list",
  // flag --people-empty-list.
  std::string people_empty_list = "no_result";
  // The employee view records API (/people/api/forms/P_EmployeeView/records)
  // when nothing matches (U): "error_7024" = People envelope, status 1,
  // errors {code 7024, "No records found"}; "empty_array" = a bare [].
  // Seed key "employee_no_hit", flag --employee-no-hit.
  std::string employee_no_hit = "error_7024";
  // The label of the email column in the view records rows (U: the vendor's
  // old sample says "Email ID", the current one "Email address").
  // Seed key "employee_email_label", flag --employee-email-label.
  std::string employee_email_label = "Email ID";
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

  // Seeding: demo:N or a JSON document. seed_demo makes one People employee
  // per demo user (ann.lee@, bo.chen@, cara.diaz@, dev.patel@, eli.moss@
  // example.com; EMP001.. in that order). The JSON seed (every key optional):
  //   {"date_format": "dd-MMM-yyyy", "timelog_echo": "normalised"|"verbatim",
  //    "timelog_work_item": false, "people_empty_list": "no_result"|"empty_array",
  //    "employee_no_hit": "error_7024"|"empty_array", "employee_email_label": "Email ID",
  //    "employees": [{"email": "a@x.com", "erecno"?: "6177...", "employee_id"?: "EMP007",
  //                   "first_name"?: "A", "last_name"?: "B"}],
  //    "users": ["b@x.com"],                       // employees made from emails
  //    "clients": [{"id"?, "name", "refs"?: {"Zoho CRM": "..."}}],
  //    "projects": [{"id"?, "name", "client_id"?, "status"?, "refs"?}],
  //    "jobs": [{"id"?, "name", "project_id"?, "status"?, "from_date"?: "yyyy-MM-dd",
  //              "to_date"?, "description"?, "refs"?, "assignees": [email | erecno | employee id]}],
  //    "timelogs": [{"id"?, "user": email | erecno | employee id, "job_id", "date": "yyyy-MM-dd",
  //                  "hours": "HH:mm", "work_item"?}],
  //    "crm": {"Deals": [{"id"?, "Created_Time"?, "Modified_Time"?, ...fields}], ...}}
  // An email used in jobs/timelogs/users without an "employees" entry becomes
  // an employee (erecno and employee id made, names from the email).
  // OAuth and CRM metadata keys (auth.cpp):
  //    "scopes": {"<refresh token>": ["ZOHOPEOPLE.timetracker.ALL", ...]}  // token made valid
  //    "grant_codes": {"<code>": [scopes]}         // authorization_code grant, single use
  //    "fields": {"Deals": [{"api_name", "data_type"?: "text", "field_label"?, "read_only"?: false,
  //                          "pick_list_values"?: ["..."], "id"?}]}   // replaces all definitions
  // seed_demo defines fields for Deals, Calls and Accounts (typed PUT applies).
  //
  // Admin API (/_admin, loopback only, no auth): GET /stats (per endpoint
  // calls, errors by code, locks; scope_mismatches, active_tokens, credits),
  // POST /reset, POST /seed?demo=N or JSON body, POST /faults?spec=...,
  // POST /revoke?access_tokens=all | ?refresh_token=T, GET /crm/{M},
  // GET /crm/{M}/deleted, POST /crm/{M} (upsert one record, JSON body),
  // DELETE /crm/{M}/{id}, POST /people/projects, GET /people/{clients|projects|jobs|timelogs},
  // POST /scopes?refresh_token=T&scopes=a,b,c ("all" = every scope; T becomes valid),
  // POST /grant_code?code=C[&scopes=a,b] -> {"ok":true,"expires_in_sec":180},
  // POST /crm/{M}/mass_update?count=N[&touch=K][&at=TIME] (body: optional JSON
  //   object of values for the N new records, "{n}" -> 1..N): N new records and
  //   the first K existing ones (by id) get ONE Modified_Time second (now or
  //   `at`) -> {"ok","modified_time","touched","ids":[...]}.
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
  // A field definition of a CRM module (GET /crm/v2/settings/fields).
  struct CrmField {
    std::string api_name, label, data_type, id;
    bool read_only = false;
    std::vector<std::string> pick_list;  // picklist values, shown only
  };
  struct Client {
    std::string id, name;
    std::map<std::string, std::string> refs;
  };
  struct Project {
    std::string id, name, client_id, status;  // "In-Progress" | "Completed"
    std::map<std::string, std::string> refs;  // service -> reference id
  };
  // A People employee: erecno is the record id of the employee form (the
  // "recordId" of the view records API and the time tracker's erecno).
  struct Employee {
    std::string erecno, employee_id, email, first_name, last_name;
  };
  struct Assignee {
    std::string who, hours, rate;  // who: the employee's erecno
  };
  struct Job {
    // from_date, to_date: "yyyy-MM-dd" (shown in the asked or company format)
    std::string id, name, project_id, status, from_date, to_date, description, rate;
    std::vector<Assignee> assignees;
    std::map<std::string, std::string> refs;
  };
  struct Timelog {
    // user: the employee's erecno; date: "yyyy-MM-dd"; hours: "HH:mm"
    std::string id, user, job_id, date, hours, billable, work_item, description;
  };

 private:
  using Scopes = std::optional<std::set<std::string>>;  // lowercased; nullopt: every scope
  struct Token {
    std::string refresh;
    SysTime issued, expires;
    Scopes scopes;
  };
  struct GrantCode {
    Scopes scopes;
    SysTime expires;
  };

  net::HttpReply route(const net::HttpRequest& r, const std::string& endpoint);
  net::HttpReply oauth(const net::HttpRequest& r);
  bool authorised(const net::HttpRequest& r) const;

  // auth.cpp: scopes, People auth replies, the authorization_code grant,
  // their admin calls and seed keys.
  net::HttpReply oauth_code(const std::string& code);
  net::HttpReply issue_tokens(const std::string& refresh, bool with_refresh_token);
  const Token* token_of(const net::HttpRequest& r) const;
  bool has_scope(const net::HttpRequest& r, const std::vector<std::string>& any_of) const;
  std::optional<net::HttpReply> check_scope(const net::HttpRequest& r, const std::string& endpoint);
  net::HttpReply scope_mismatch(const net::HttpRequest& r, const std::string& endpoint, bool call_counted);
  net::HttpReply unauthorised(const net::HttpRequest& r, const std::string& endpoint);
  std::optional<net::HttpReply> admin_meta(const net::HttpRequest& r, const std::string& path);
  net::HttpReply admin_mass_update(const net::HttpRequest& r, const std::string& module);
  std::optional<std::string> seed_meta_json(const std::string& text);  // scopes, grant_codes, fields
  void seed_demo_fields();

  // crm_meta.cpp: field metadata, typed PUT, ?ids=; coql.cpp: COQL.
  net::HttpReply crm_fields(const net::HttpRequest& r);
  net::HttpReply crm_get_ids(const net::HttpRequest& r, const std::string& module, const std::string& ids);
  std::string put_record(const std::string& module, const std::string& raw_record, bool& ok);
  std::optional<std::string> put_field_error(const std::string& module, const std::string& api_name,
                                             const std::string& raw_value) const;
  const std::vector<CrmField>* fields_of(const std::string& module) const;
  bool module_known(const std::string& module) const;
  net::HttpReply crm_coql(const net::HttpRequest& r);
  // If-Modified-Since of GET records / deleted: the instant, or the 400 reply.
  std::optional<net::HttpReply> read_ims(const net::HttpRequest& r, const std::string& stats_key,
                                         std::optional<SysTime>& since);

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
  std::string job_json(const Job& j, bool logged_hours, const std::string& date_format) const;
  // people.cpp: one handler per People endpoint family, and their helpers.
  net::HttpReply people_fail(const std::string& name, const std::string& uri, const std::string& message,
                             const std::string& code, const std::string& text, bool errors_as_object);
  net::HttpReply people_list(const std::string& uri, const std::string& array_json, std::size_t on_page, bool more);
  std::optional<net::HttpReply> paging(const std::string& name, const std::string& uri, const net::Params& p,
                                       int& s_index, int& limit);
  std::optional<net::HttpReply> date_format_of(const std::string& name, const std::string& uri, const net::Params& p,
                                               std::string& format);
  net::HttpReply employee_records(const std::string& name, const std::string& uri, const std::string& form,
                                  const net::Params& p);
  net::HttpReply project_list(const std::string& uri, const net::Params& p);
  net::HttpReply job_reads(const std::string& name, const std::string& uri, const net::Params& p);
  net::HttpReply form_job_write(const std::string& name, const std::string& uri, const std::string& form,
                                const net::Params& p);
  net::HttpReply old_job_write(const std::string& name, const std::string& uri, const net::Params& p);
  net::HttpReply job_status_and_delete(const std::string& name, const std::string& uri, const net::Params& p);
  net::HttpReply add_timelogs(const std::string& uri, const net::Params& p);
  net::HttpReply get_timelogs(const std::string& uri, const net::Params& p);
  net::HttpReply other_people(const std::string& name, const std::string& uri, const net::Params& p);
  // Employees: by erecno, employee id or email (any case); nullptr if none.
  const Employee* employee_of(const std::string& who) const;
  // Seeding: the employee of an erecno, employee id or email, made (for an
  // email) when missing; nullptr for an unknown id.
  const Employee* seed_employee(const std::string& who);
  std::string email_of(const std::string& erecno) const;
  // admin.cpp: a new employee (erecno and employee id made when empty; names
  // from the email when empty); error text when the email is no email or taken.
  std::optional<std::string> add_employee(Employee e);

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
  std::vector<Employee> employees_;

  std::map<std::string, Token> tokens_;                        // access token -> data
  std::map<std::string, std::vector<std::string>> active_;     // refresh -> access tokens, oldest first
  std::map<std::string, std::vector<SysTime>> issued_;         // refresh -> issue times
  std::set<std::string> revoked_;
  std::vector<SysTime> credit_log_;                            // CRM credit spends (one entry per credit)
  std::map<std::string, std::set<std::string>> scopes_;        // refresh -> scopes (lowercased); absent: all
  std::map<std::string, GrantCode> grant_codes_;               // authorization codes not yet used
  std::map<std::string, std::vector<CrmField>> fields_;        // module -> field definitions
  std::uint64_t field_counter_ = 0;                            // field ids
  std::int64_t scope_mismatches_ = 0;                          // CRM and People, for /_admin/stats

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
