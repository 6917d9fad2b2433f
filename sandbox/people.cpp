// The People side of the sandbox (shared/api/people-*.txt and BEHAVIOUR.md
// "People"): the {"response":{...}} envelope, errors as an array or an object
// as each page shows, per-endpoint thresholds with lock periods; employees
// (the view records API), the forms API for P_TimesheetJob in the company
// date format, and the time tracker.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/json.hpp"
#include "common/timefmt.hpp"
#include "sandbox/datefmt.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/util.hpp"

namespace peoplesync::sandbox {
namespace {

using Params = net::Params;

std::optional<std::string> get(const Params& p, std::string_view key) {
  for (const auto& [k, v] : p)
    if (k == key) return v;
  return std::nullopt;
}

// The first of several spellings of a parameter (the vendor's pages differ).
std::optional<std::string> get_any(const Params& p, std::initializer_list<std::string_view> keys) {
  for (const auto k : keys)
    if (auto v = get(p, k)) return v;
  return std::nullopt;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto next = s.find(sep, pos);
    std::string item = trim(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (!item.empty()) out.push_back(item);
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool valid_date(const std::string& d) { return d.size() == 10 && parse_iso8601(d).has_value(); }

// "HH:mm" -> minutes; -1 when malformed.
int minutes_of(const std::string& hhmm) {
  const auto colon = hhmm.find(':');
  if (colon == std::string::npos || colon == 0 || hhmm.size() - colon != 3) return -1;
  int h = 0, m = 0;
  if (!to_int(hhmm.substr(0, colon), h) || !to_int(hhmm.substr(colon + 1), m) || h < 0 || m < 0 || m > 59) return -1;
  return h * 60 + m;
}

std::string hhmm(int minutes) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return buf;
}

// AssigneeHours items: "20" (hours), "7.5" (decimal hours) or "07:30"; -1 when malformed.
int assignee_minutes(const std::string& v) {
  if (v.find(':') != std::string::npos) return minutes_of(v);
  const auto dot = v.find('.');
  int h = 0, frac = 0;
  if (!to_int(v.substr(0, dot), h) || h < 0) return -1;
  if (dot == std::string::npos) return h * 60;
  const std::string f = v.substr(dot + 1);
  if (f.empty() || f.size() > 2 || !to_int(f, frac) || frac < 0) return -1;
  return h * 60 + (f.size() == 1 ? frac * 10 : frac) * 60 / 100;
}

// A rate as JSON number text ("007.50" -> "7.50"); "" unless digits[.digits].
std::string number_text(const std::string& v) {
  const auto dot = v.find('.');
  const std::string whole = v.substr(0, dot), frac = dot == std::string::npos ? "" : v.substr(dot + 1);
  auto all_digits = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  };
  if (!all_digits(whole) || (dot != std::string::npos && !all_digits(frac))) return "";
  const auto first = std::min(whole.find_first_not_of('0'), whole.size() - 1);
  return whole.substr(first) + (dot == std::string::npos ? "" : "." + frac);
}

int days_between(const std::string& a, const std::string& b) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::hours>(*parse_iso8601(b) - *parse_iso8601(a)).count() / 24);
}

// A stored "yyyy-MM-dd" in `format` ("" stays "").
std::string show(const std::string& ymd, const std::string& format) {
  return datefmt::format(ymd, format).value_or(ymd);
}

std::string full_name(const Sandbox::Employee& e) {
  return e.last_name.empty() ? e.first_name : e.first_name + " " + e.last_name;
}

// The page [s_index, s_index + limit) of `n` items.
std::pair<std::size_t, std::size_t> page_of(std::size_t n, int s_index, int limit) {
  const auto from = std::min(n, static_cast<std::size_t>(s_index));
  return {from, std::min(n, from + static_cast<std::size_t>(limit))};
}

}  // namespace

net::HttpReply Sandbox::people_ok(const std::string& uri, const std::string& message, const std::string& result_json,
                                  bool next_available) {
  std::string body = "{\"response\":{";
  if (!result_json.empty()) body += "\"result\":" + result_json + ",";
  body += "\"message\":" + json::quote(message) + ",\"uri\":" + json::quote(uri);
  // C: isNextAvailable is present only when more data exists.
  if (next_available) body += ",\"isNextAvailable\":true";
  body += ",\"status\":0}}";
  return json_reply(200, body);
}

net::HttpReply Sandbox::people_error(const std::string& uri, const std::string& message, const std::string& code,
                                     const std::string& error_message, bool errors_as_object) {
  const std::string item = "{\"code\":" + (code.empty() ? std::string("\"\"") : code) +
                           ",\"message\":" + json::quote(error_message) + "}";
  std::string body = "{\"response\":{\"message\":" + json::quote(message) + ",\"uri\":" + json::quote(uri) +
                     ",\"errors\":" + (errors_as_object ? item : "[" + item + "]") + ",\"status\":1}}";
  // U: the HTTP status of a People error; the daemon must read the body.
  return json_reply(b_.people_http_error_status == "400" ? 400 : 200, body);
}

net::HttpReply Sandbox::people_fail(const std::string& name, const std::string& uri, const std::string& message,
                                    const std::string& code, const std::string& text, bool errors_as_object) {
  ++stats_["people/" + name].errors[code];
  return people_error(uri, message, code, text, errors_as_object);
}

// A list reply. An empty page is, per Behaviour::people_empty_list, status 0
// without a "result" key ("No records found", C2) or "result": [].
net::HttpReply Sandbox::people_list(const std::string& uri, const std::string& array_json, std::size_t on_page,
                                    bool more) {
  if (on_page > 0) return people_ok(uri, "Data fetched successfully", array_json, more);
  if (b_.people_empty_list == "empty_array") return people_ok(uri, "Data fetched successfully", "[]");
  return people_ok(uri, "No records found", "");
}

std::optional<net::HttpReply> Sandbox::paging(const std::string& name, const std::string& uri, const Params& p,
                                              int& s_index, int& limit) {
  s_index = 0;
  limit = 200;
  if (auto v = get(p, "sIndex"); v && (!to_int(*v, s_index) || s_index < 0))
    return people_fail(name, uri, "Error in fetching data", "9003", "Wrong value given for sIndex parameter", false);
  if (auto v = get(p, "limit"); v && (!to_int(*v, limit) || limit < 1 || limit > 200))
    return people_fail(name, uri, "Error in fetching data", "9003", "Wrong value given for limit parameter", false);
  return std::nullopt;
}

// The date format of a time tracker read: `dateFormat` when given, else the
// company date format (C: "<Company date format>" is the documented default).
std::optional<net::HttpReply> Sandbox::date_format_of(const std::string& name, const std::string& uri,
                                                      const Params& p, std::string& format) {
  const auto asked = get(p, "dateFormat");
  format = asked ? *asked : b_.people_date_format;
  if (datefmt::valid_pattern(format)) return std::nullopt;
  if (name == "gettimelogs")
    return people_fail(name, uri, "Error in fetching data", "9004", "Wrong date format given for parameter dateFormat", false);
  return people_fail(name, uri, "Error in fetching data", "9003", "Wrong value given for dateFormat parameter", false);
}

std::string Sandbox::total_hours(const std::string& job_id) const {
  int total = 0;
  for (const auto& t : timelogs_)
    if (t.job_id == job_id) total += std::max(0, minutes_of(t.hours));
  return hhmm(total);
}

std::string Sandbox::job_json(const Job& j, bool logged_hours, const std::string& date_format) const {
  json::Writer w;
  w.begin_object().field("jobId", j.id).field("jobName", j.name).field("projectId", j.project_id);
  std::string project_name, client_id, client_name;
  for (const auto& p : projects_)
    if (p.id == j.project_id) {
      project_name = p.name;
      client_id = p.client_id;
    }
  for (const auto& c : clients_)
    if (c.id == client_id) client_name = c.name;
  w.field("projectName", project_name).field("clientId", client_id).field("clientName", client_name);
  w.field("fromDate", show(j.from_date, date_format)).field("toDate", show(j.to_date, date_format));
  w.field("description", j.description);
  w.field("jobBillableStatus", "Billable").field("ratePerHour", j.rate.empty() ? "0" : j.rate);
  w.field("jobStatus", j.status);
  int estimated = 0;
  for (const auto& a : j.assignees) estimated += std::max(0, minutes_of(a.hours));
  w.field("hours", hhmm(estimated));
  if (logged_hours) w.field("totalhours", total_hours(j.id));
  w.field("owner", "617735000000189005").field("assignedBy", "Sandbox Admin").field("isDeleteAllowed", true);
  w.end_object();
  return w.str();
}

bool Sandbox::locked(const std::string& endpoint, std::string* uri) {
  (void)uri;
  auto& st = stats_["people/" + endpoint];
  ++st.calls;
  if (!b_.people_limits) return false;
  const SysTime now = clock_.now();
  if (st.locked_until > now) {
    ++st.locked_replies;
    return true;
  }
  const auto it = b_.thresholds.find(endpoint);
  if (it == b_.thresholds.end()) return false;
  // The strictest reading: a sliding window, not fixed minutes.
  std::erase_if(st.window, [&](SysTime t) { return now - t >= b_.limit_window; });
  if (static_cast<int>(st.window.size()) >= it->second) {
    st.locked_until = now + b_.lock_period;
    ++st.lock_events;
    ++st.locked_replies;
    return true;
  }
  st.window.push_back(now);
  return false;
}

// ---------------------------------------------------------------- employees

const Sandbox::Employee* Sandbox::employee_of(const std::string& who) const {
  if (who.empty()) return nullptr;
  const std::string mail = lowercase(who);
  for (const auto& e : employees_)
    if (e.erecno == who || e.employee_id == who || lowercase(e.email) == mail) return &e;
  return nullptr;
}

std::string Sandbox::email_of(const std::string& erecno) const {
  for (const auto& e : employees_)
    if (e.erecno == erecno) return e.email;
  return "";
}

// The view records API (C: /people/api/forms/P_EmployeeView/records, a bare
// JSON array keyed by the view's column labels, "recordId" = erecno) and the
// bulk form API (C: /people/api/forms/employee/getRecords, wrapped, each
// record under its record id). Both search by EMPLOYEEMAILALIAS (email, any
// case) or EMPLOYEEID, or list everything with sIndex (1-based) and limit.
net::HttpReply Sandbox::employee_records(const std::string& name, const std::string& uri, const std::string& form,
                                         const Params& p) {
  const bool view = name == "records";
  if (view && form != "P_EmployeeView") return people_fail(name, uri, "Error occurred", "7012", "Invalid View Name", true);
  if (!view && form != "employee" && form != "P_Employee")
    return people_fail(name, uri, "Error occurred", "7011", "Form name '" + form + "' is invalid", true);
  const auto column = get_any(p, {"searchColumn", "SearchColumn"});
  const std::string value = get_any(p, {"searchValue", "SearchValue"}).value_or("");
  if (column && *column != "EMPLOYEEMAILALIAS" && *column != "EMPLOYEEID")
    return people_fail(name, uri, "Error occurred", "7042", "Specified search column " + *column + " is invalid", true);
  if (column && value.empty())
    return people_fail(name, uri, "Error occurred", "7042", "Specified search value is invalid", true);
  int s_index = 1, limit = 200;
  if (auto v = get_any(p, {"sIndex", "slindex", "sindex"}); v && (!to_int(*v, s_index) || s_index < 1))
    return people_fail(name, uri, "Error occurred", "7016", "Invalid input data: sIndex", true);
  if (auto v = get_any(p, {"limit", "rec_limit"}); v && (!to_int(*v, limit) || limit < 1))
    return people_fail(name, uri, "Error occurred", "7016", "Invalid input data: limit", true);
  if (limit > 200) return people_fail(name, uri, "Error occurred", "7021", "Maximum record limit 200 is exceeded", true);
  std::vector<const Employee*> hits;
  for (const auto& e : employees_) {
    if (column && *column == "EMPLOYEEMAILALIAS" && lowercase(e.email) != lowercase(value)) continue;
    if (column && *column == "EMPLOYEEID" && e.employee_id != value) continue;
    hits.push_back(&e);
  }
  const auto [from, to] = page_of(hits.size(), s_index - 1, limit);
  if (from == to) {
    if (view && b_.employee_no_hit == "empty_array") return json_reply(200, "[]");
    return people_fail(name, uri, "Error occurred", "7024", "No records found", true);
  }
  json::Writer w;
  w.begin_array();
  for (std::size_t i = from; i < to; ++i) {
    const Employee& e = *hits[i];
    if (view) {
      w.begin_object().field("recordId", e.erecno).field("EmployeeID", e.employee_id);
      w.field("First Name", e.first_name).field("Last Name", e.last_name).field(b_.employee_email_label, e.email);
      w.field("Employee Role", "Team member").field("Department", "").end_object();
    } else {
      w.begin_object().key(e.erecno).begin_array().begin_object();
      w.field("EmployeeID", e.employee_id).field("FirstName", e.first_name).field("LastName", e.last_name);
      w.field("EmailID", e.email).key("Zoho_ID").raw(e.erecno).field("Employeestatus", "Active");
      w.end_object().end_array().end_object();
    }
  }
  w.end_array();
  if (view) return json_reply(200, w.str());
  return people_ok(uri, "Data fetched successfully", w.str());
}

// ---------------------------------------------------------------- dispatch

net::HttpReply Sandbox::people(const net::HttpRequest& r, const std::string& name, const Params& p) {
  // uri: the path from "/api/" on, as People echoes it.
  const auto api = r.path.find("/api/");
  const std::string uri = api == std::string::npos ? r.path : r.path.substr(api);
  const bool forms = uri.rfind("/api/forms/", 0) == 0;
  std::string form;  // the form (or view) link name: the segment before the endpoint
  if (forms) {
    const auto last = uri.rfind('/');
    const auto prev = uri.rfind('/', last - 1);
    form = uri.substr(prev + 1, last - prev - 1);
  }
  if (locked(name, nullptr)) {
    ++stats_["people/" + name].errors["7209"];
    return people_error(uri, "Error", "7209",
                        "API access blocked since threshold limit exceeded. Please try after some time", false);
  }
  if (forms && (name == "records" || name == "getRecords")) return employee_records(name, uri, form, p);
  if (forms && (name == "insertRecord" || name == "updateRecord")) return form_job_write(name, uri, form, p);
  if (name == "getprojects") return project_list(uri, p);
  if (name == "getjobs" || name == "getjobdetails") return job_reads(name, uri, p);
  if (name == "addjob" || name == "modifyjob") return old_job_write(name, uri, p);
  if (name == "modifyjobstatus" || name == "deletejob") return job_status_and_delete(name, uri, p);
  if (name == "addupdatetimelogs") return add_timelogs(uri, p);
  if (name == "gettimelogs") return get_timelogs(uri, p);
  return other_people(name, uri, p);
}

net::HttpReply Sandbox::project_list(const std::string& uri, const Params& p) {
  int s_index = 0, limit = 0;
  if (auto e = paging("getprojects", uri, p, s_index, limit)) return *e;
  const std::string status = get(p, "projectStatus").value_or("all");
  std::vector<const Project*> hits;
  for (const auto& pr : projects_) {
    if (status == "inprogress" && pr.status != "In-Progress") continue;
    if (status == "completed" && pr.status != "Completed") continue;
    hits.push_back(&pr);
  }
  const auto [from, to] = page_of(hits.size(), s_index, limit);
  json::Writer w;
  w.begin_array();
  for (std::size_t i = from; i < to; ++i) {
    const Project& pr = *hits[i];
    std::string client_name;
    for (const auto& c : clients_)
      if (c.id == pr.client_id) client_name = c.name;
    w.begin_object().field("projectName", pr.name).field("projectId", pr.id).field("projectCost", 0);
    w.field("clientId", pr.client_id).field("clientName", client_name).field("projectStatus", pr.status);
    w.field("ownerId", "617735000000189005").field("ownerName", "Sandbox Admin").field("isDeleteAllowed", true);
    w.end_object();
  }
  w.end_array();
  return people_list(uri, w.str(), to - from, hits.size() > to);
}

// ---------------------------------------------------------------- job reads

net::HttpReply Sandbox::job_reads(const std::string& name, const std::string& uri, const Params& p) {
  std::string format;
  if (name == "getjobs") {
    if (!get(p, "assignedTo")) return people_fail(name, uri, "Error in fetching data", "9002", "No assignedTo parameter specified", false);
    int s_index = 0, limit = 0;
    if (auto e = paging(name, uri, p, s_index, limit)) return *e;
    if (auto e = date_format_of(name, uri, p, format)) return *e;
    const std::string project = get(p, "projectId").value_or("all");
    const std::string status = get(p, "jobStatus").value_or("all");
    if (status != "all" && status != "in-progress" && status != "completed")
      return people_fail(name, uri, "Error in fetching data", "9003", "Wrong value given for jobStatus parameter", false);
    // C: assignedTo is all | email | employee id | erecno.
    const std::string assigned = *get(p, "assignedTo");
    const Employee* who = assigned == "all" ? nullptr : employee_of(assigned);
    if (assigned != "all" && !who)
      return people_fail(name, uri, "Error in fetching data", "9003", "Wrong value given for assignedTo parameter", false);
    const bool logged = get(p, "fetchLoggedHrs").value_or("false") == "true";
    std::vector<const Job*> hits;
    for (const auto& j : jobs_) {
      if (project != "all" && j.project_id != project) continue;
      if (status == "in-progress" && j.status != "In-Progress") continue;
      if (status == "completed" && j.status != "Completed") continue;
      if (who && std::none_of(j.assignees.begin(), j.assignees.end(), [&](const Assignee& a) { return a.who == who->erecno; }))
        continue;
      hits.push_back(&j);
    }
    const auto [from, to] = page_of(hits.size(), s_index, limit);
    std::string list = "[";
    for (std::size_t i = from; i < to; ++i) list += (i > from ? "," : "") + job_json(*hits[i], logged, format);
    return people_list(uri, list + "]", to - from, hits.size() > to);
  }
  const auto id = get(p, "jobId");
  if (!id) return people_fail(name, uri, "Error in fetching data", "9002", "No jobId parameter specified", false);
  if (auto e = date_format_of(name, uri, p, format)) return *e;
  for (const auto& j : jobs_) {
    if (j.id != *id) continue;
    std::string detail = job_json(j, true, format);
    detail.pop_back();
    json::Writer w;
    w.begin_array();
    for (const auto& a : j.assignees) {
      int logged = 0;
      for (const auto& t : timelogs_)
        if (t.job_id == j.id && t.user == a.who) logged += std::max(0, minutes_of(t.hours));
      const Employee* e = employee_of(a.who);
      w.begin_object().field("hours", a.hours).field("erecno", a.who).key("rate").raw(a.rate.empty() ? "0" : a.rate);
      w.field("name", e ? full_name(*e) : a.who).field("totalhours", hhmm(logged)).end_object();
    }
    w.end_array();
    return people_ok(uri, "Data fetched successfully", "[" + detail + ",\"assignees\":" + w.str() + "}]");
  }
  return people_fail(name, uri, "Error in fetching data", "9003", "Wrong value given for jobId parameter", false);
}

// ---------------------------------------------------------------- forms API

// insertRecord / updateRecord of P_TimesheetJob (C: people-jobs.txt). Labels:
// Job_Name, StartDate, EndDate (company date format), Project, Assignees
// (erecnos separated by ';', or All), AssigneeHours, AssigneeRate,
// departmentIds. Anything else is 7013. Errors come as an object (C2).
net::HttpReply Sandbox::form_job_write(const std::string& name, const std::string& uri, const std::string& form,
                                       const Params& p) {
  const bool insert = name == "insertRecord";
  auto fail = [&](const std::string& code, const std::string& text) {
    return people_fail(name, uri, "Error occurred", code, text, true);
  };
  if (form != "P_TimesheetJob") return fail("7011", "Form name '" + form + "' is invalid");
  const auto data = get(p, "inputData");
  if (!data) return fail("7019", "Missing parameter(s) in the request: inputData");
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(*data).get_object().get(o) != simdjson::SUCCESS) return fail("7016", "Invalid input data");
  static const std::set<std::string> kLabels{"Job_Name", "StartDate",    "EndDate",      "Project",
                                             "Assignees", "AssigneeHours", "AssigneeRate", "departmentIds"};
  std::map<std::string, std::string> in;
  for (auto [k, v] : o) {
    const std::string label(k);
    if (!kLabels.count(label)) return fail("7013", "Field name is invalid: " + label);
    std::string_view sv;
    if (v.get_string().get(sv) == simdjson::SUCCESS) in[label] = std::string(sv);
    else if (v.is_number()) in[label] = simdjson::minify(v);
    else return fail("7050", "Invalid value for the field " + label);
  }
  Job job;
  if (!insert) {
    const auto id = get(p, "recordId");
    if (!id) return fail("7019", "Missing parameter(s) in the request: recordId");
    auto j = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& x) { return x.id == *id; });
    if (j == jobs_.end()) return fail("7049", "No record available with the specified record ID");
    job = *j;
  }
  if (in.count("Job_Name")) {
    if (trim(in["Job_Name"]).empty()) return fail("7052", "Missing mandatory field values: Job_Name");
    job.name = in["Job_Name"];
  }
  for (const char* label : {"StartDate", "EndDate"}) {
    if (!in.count(label) || in[label].empty()) continue;
    const auto d = datefmt::parse(in[label], b_.people_date_format);
    if (d.kind == datefmt::Parsed::not_in_format)
      return fail("7055", std::string("Invalid date format: ensure ") + label + " is in '" + b_.people_date_format + "' format");
    if (d.kind == datefmt::Parsed::no_such_date) return fail("7054", std::string("Invalid date field value: ") + label);
    (std::string_view(label) == "StartDate" ? job.from_date : job.to_date) = d.iso;
  }
  if (in.count("Project") && !in["Project"].empty()) {
    const auto pr = std::find_if(projects_.begin(), projects_.end(), [&](const Project& x) { return x.id == in["Project"]; });
    if (pr == projects_.end()) return fail("7050", "Invalid value for the field Project");
    // U: a job in a completed project is refused.
    if (pr->status == "Completed") return fail("7050", "Cannot add a job to a completed project");
    job.project_id = pr->id;
  }
  if (in.count("Assignees") && !trim(in["Assignees"]).empty()) {
    std::vector<std::string> who;
    if (lowercase(trim(in["Assignees"])) == "all") {
      for (const auto& e : employees_) who.push_back(e.erecno);
    } else {
      for (const auto& w : split(in["Assignees"], ';')) {
        // C: the forms API takes erecnos only (emails and employee ids are for addjob).
        if (std::none_of(employees_.begin(), employees_.end(), [&](const Employee& e) { return e.erecno == w; }))
          return fail("7048", "No such user found: '" + w + "' (Assignees takes erecnos separated by ';')");
        who.push_back(w);
      }
    }
    job.assignees.clear();
    for (const auto& w : who) job.assignees.push_back({w, "", ""});
  }
  const auto hours = split(in["AssigneeHours"], ';'), rates = split(in["AssigneeRate"], ';');
  for (std::size_t i = 0; i < hours.size() && i < job.assignees.size(); ++i) {
    const int m = assignee_minutes(hours[i]);
    if (m < 0) return fail("7050", "Invalid value for the field AssigneeHours");
    job.assignees[i].hours = hhmm(m);
  }
  for (std::size_t i = 0; i < rates.size() && i < job.assignees.size(); ++i) {
    job.assignees[i].rate = number_text(rates[i]);
    if (job.assignees[i].rate.empty()) return fail("7050", "Invalid value for the field AssigneeRate");
  }
  if (insert) {
    if (job.name.empty()) return fail("7052", "Missing mandatory field values: Job_Name");
    if (job.assignees.empty()) return fail("7052", "Missing mandatory field values: Assignees");
    job.id = next_id();
    job.status = "In-Progress";
    jobs_.push_back(job);
    return people_ok(uri, "Data added successfully", "{\"pkId\":" + json::quote(job.id) + ",\"message\":\"Successfully Added\"}");
  }
  *std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& x) { return x.id == job.id; }) = job;
  return people_ok(uri, "Data updated successfully", "{\"pkId\":" + json::quote(job.id) + ",\"message\":\"Successfully Updated\"}");
}

// The deprecated addjob / modifyjob: query or form parameters, assignees as a
// JSON array of {assignedTo: email | employee id | erecno, hours, rate}, and
// their own dateFormat parameter (default yyyy-MM-dd in this sandbox).
net::HttpReply Sandbox::old_job_write(const std::string& name, const std::string& uri, const Params& p) {
  const bool modify = name == "modifyjob";
  const std::string doing = modify ? "Error in modifying job" : "Error in adding job";
  auto fail = [&](const std::string& code, const std::string& text) { return people_fail(name, uri, doing, code, text, false); };
  Job in;
  const auto job_name = get(p, "jobName");
  if (job_name) in.name = *job_name;
  in.project_id = get(p, "projectId").value_or("");
  in.description = get(p, "description").value_or("");
  in.rate = get(p, "ratePerHour").value_or("");
  const auto assignees = get(p, "assignees");
  if (assignees) {
    simdjson::dom::parser parser;
    simdjson::dom::array arr;
    if (parser.parse(*assignees).get_array().get(arr) != simdjson::SUCCESS) return fail("8002", "Wrong format for assignees parameter");
    for (simdjson::dom::element e : arr) {
      simdjson::dom::object o;
      std::string_view who, hours;
      if (e.get_object().get(o) != simdjson::SUCCESS || o["assignedTo"].get_string().get(who) != simdjson::SUCCESS)
        return fail("8002", "Wrong format for assignees parameter");
      const Employee* emp = employee_of(std::string(who));
      if (!emp) return fail("8001", "Wrong value for assignees parameter");
      if (o["hours"].get_string().get(hours) != simdjson::SUCCESS) hours = "";
      const int m = hours.empty() ? -1 : assignee_minutes(std::string(hours));
      in.assignees.push_back({emp->erecno, m < 0 ? std::string(hours) : hhmm(m), ""});
    }
  }
  const std::string format = get(p, "dateFormat").value_or("yyyy-MM-dd");
  if (!datefmt::valid_pattern(format)) return fail("8002", "Wrong format for dateFormat parameter");
  for (const char* key : {"fromDate", "toDate"}) {
    const std::string v = get(p, key).value_or("");
    if (v.empty()) continue;
    const auto d = datefmt::parse(v, format);
    if (d.kind != datefmt::Parsed::ok) return fail("8002", std::string("Wrong format for ") + key + " parameter");
    (std::string_view(key) == "fromDate" ? in.from_date : in.to_date) = d.iso;
  }
  if (!in.project_id.empty()) {
    const auto pr = std::find_if(projects_.begin(), projects_.end(), [&](const Project& x) { return x.id == in.project_id; });
    if (pr == projects_.end()) return fail("8001", "Wrong value for projectId parameter");
    // U: adding a job to a completed project is refused.
    if (pr->status == "Completed") return fail("8001", "Cannot add a job to a completed project");
  }
  if (modify) {
    const auto id = get(p, "jobId");
    if (!id) return fail("8000", "No jobId parameter specified");
    auto j = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& x) { return x.id == *id; });
    if (j == jobs_.end()) return fail("8001", "Wrong value for jobId parameter");
    if (job_name) j->name = in.name;
    if (!in.project_id.empty()) j->project_id = in.project_id;
    if (!in.from_date.empty()) j->from_date = in.from_date;
    if (!in.to_date.empty()) j->to_date = in.to_date;
    if (!in.description.empty()) j->description = in.description;
    if (assignees) j->assignees = in.assignees;
    return people_ok(uri, "Job details modified Successfully", "[{\"jobId\":" + json::quote(j->id) + "}]");
  }
  if (in.name.empty()) return fail("8000", "No jobName parameter specified");
  if (in.assignees.empty()) return fail("8000", "No assignees parameter specified");
  in.id = next_id();
  in.status = "In-Progress";
  jobs_.push_back(in);
  return people_ok(uri, "Job added Successfully", "[{\"jobId\":" + json::quote(in.id) + "}]");
}

net::HttpReply Sandbox::job_status_and_delete(const std::string& name, const std::string& uri, const Params& p) {
  // C: these pages show `errors` as an object.
  if (name == "modifyjobstatus") {
    const std::string doing = "Error in changing job status";
    const auto id = get(p, "jobId");
    const auto status = get(p, "jobStatus");
    if (!id) return people_fail(name, uri, doing, "8000", "No jobId parameter specified", true);
    if (!status) return people_fail(name, uri, doing, "8000", "No jobStatus parameter specified", true);
    if (*status != "In-Progress" && *status != "Completed")
      return people_fail(name, uri, doing, "8001", "Wrong value for jobStatus parameter", true);
    auto j = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& x) { return x.id == *id; });
    if (j == jobs_.end()) return people_fail(name, uri, doing, "8001", "Wrong value for jobId parameter", true);
    if (*status == "In-Progress") {
      for (const auto& pr : projects_)
        if (pr.id == j->project_id && pr.status == "Completed")
          return people_fail(name, uri, doing, "8006",
                             "Cannot reopen the job since the project associated with this job is completed and you do "
                             "not have permission to reopen the project",
                             true);
    }
    j->status = *status;
    return people_ok(uri, "Job Status changed Successfully", "");
  }
  const auto ids = get(p, "jobId");
  if (!ids) return people_fail(name, uri, "Error in deleting job(s)", "8000", "No jobId parameter specified", true);
  const auto list = split(*ids, ',');
  if (list.empty() || list.size() > 100)
    return people_fail(name, uri, "Error in deleting job(s)", "8001", "Wrong value for jobId parameter", true);
  for (const auto& id : list)
    if (std::none_of(jobs_.begin(), jobs_.end(), [&](const Job& x) { return x.id == id; }))
      return people_fail(name, uri, "One or more specified jobs are not deleted", "8001", "Wrong value for jobId parameter", true);
  for (const auto& id : list) {
    std::erase_if(jobs_, [&](const Job& x) { return x.id == id; });
    std::erase_if(timelogs_, [&](const Timelog& t) { return t.job_id == id; });  // U: logs go with the job
  }
  return people_ok(uri, "Job(s) deleted successfully", "");
}

// ---------------------------------------------------------------- time logs

// addupdatetimelogs (C: people-bulk-timelogs.txt): `user` is an erecno, an
// employee id or an email (any case); `date` is yyyy-MM-dd. Each failed item
// is an errorLog echoed per Behaviour::timelog_echo.
net::HttpReply Sandbox::add_timelogs(const std::string& uri, const Params& p) {
  const std::string name = "addupdatetimelogs";
  const auto raw = get(p, "timelogs");
  if (!raw) return people_fail(name, uri, "Error in updating data", "8000", "No timelogs parameter specified", false);
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  if (parser.parse(*raw).get_array().get(arr) != simdjson::SUCCESS)
    return people_fail(name, uri, "Error in updating data", "8002", "Wrong format for timelogs parameter", false);
  if (arr.size() > 100)
    return people_fail(name, uri, "Error in updating data", "8001", "Only 100 timelogs can be added or edited at a time", false);
  std::vector<std::map<std::string, std::string>> items;
  std::string min_date = "9999-99-99", max_date = "0000-00-00";
  for (simdjson::dom::element e : arr) {
    std::map<std::string, std::string> f;
    simdjson::dom::object o;
    if (e.get_object().get(o) == simdjson::SUCCESS) {
      for (auto [k, v] : o) {
        std::string_view sv;
        if (v.get_string().get(sv) == simdjson::SUCCESS) f[std::string(k)] = std::string(sv);
        else f[std::string(k)] = simdjson::minify(v);
      }
    }
    if (valid_date(f["date"])) {
      min_date = std::min(min_date, f["date"]);
      max_date = std::max(max_date, f["date"]);
    }
    items.push_back(std::move(f));
  }
  if (min_date <= max_date && days_between(min_date, max_date) > 30)
    return people_fail(name, uri, "Error in updating data", "8001",
                       "Timelogs can be added or edited only for 31 consecutive days at a time", false);
  const std::string today = format_utc_iso_seconds(clock_.now()).substr(0, 10);
  std::vector<std::string> added, edited;
  std::string errors;
  std::size_t error_count = 0;
  for (auto& f : items) {
    std::string code, message;
    const auto job = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& j) { return j.id == f["jobId"]; });
    const Employee* who = employee_of(f["user"]);
    const bool timed = !f["startTime"].empty() || !f["endTime"].empty();
    Timelog* existing = nullptr;
    if (f["user"].empty() || f["jobId"].empty() || f["date"].empty() || (f["hours"].empty() && !timed)) {
      code = "8000", message = "Missing mandatory parameter";
    } else if (!valid_date(f["date"])) {
      code = "8002", message = "Wrong format for date parameter";
    } else if (!f["hours"].empty() && minutes_of(f["hours"]) < 0) {
      code = "8002", message = "Wrong format for hours parameter";
    } else if (!who) {
      code = "8001", message = "Wrong value for user parameter";
    } else if (job == jobs_.end()) {
      code = "8001", message = "Wrong value for jobId parameter";
    } else if (f["date"] > today) {
      code = "8001", message = "Cannot log time for a Future Date";
    } else if (job->status == "Completed") {
      code = "9025", message = "Cannot log time for a completed job";
    } else if (!f["billableStatus"].empty() && f["billableStatus"] != "billable" && f["billableStatus"] != "non-billable") {
      code = "8001", message = "Wrong value for billableStatus parameter";
    } else if (!f["timelogId"].empty()) {
      auto t = std::find_if(timelogs_.begin(), timelogs_.end(), [&](const Timelog& x) { return x.id == f["timelogId"]; });
      if (t == timelogs_.end()) code = "8001", message = "Wrong value for timelogId parameter";
      else existing = &*t;
    }
    if (!code.empty()) {
      ++error_count;
      ++stats_["people/" + name].errors[code];
      std::string user = f["user"], date = f["date"], job_id = f["jobId"], hours = f["hours"];
      if (b_.timelog_echo != "verbatim") {
        if (who) user = who->erecno;
        if (job != jobs_.end()) job_id = job->name;
        if (minutes_of(hours) >= 0) hours = hhmm(minutes_of(hours));
        if (valid_date(date)) date = show(date, b_.people_date_format);
      }
      json::Writer w;
      w.begin_object().field("errorCode", std::int64_t{std::stoi(code)}).field("message", message);
      w.field("user", user).field("date", date).field("jobId", job_id).field("hours", hours).end_object();
      errors += (errors.empty() ? "" : ",") + w.str();
      continue;
    }
    Timelog t{existing ? existing->id : next_id(), who->erecno, f["jobId"], f["date"],
              f["hours"].empty() ? "01:00" : hhmm(minutes_of(f["hours"])),
              f["billableStatus"].empty() ? "billable" : f["billableStatus"], f["workItem"], f["description"]};
    if (existing) {
      *existing = t;
      edited.push_back(t.id);
    } else {
      timelogs_.push_back(t);
      added.push_back(t.id);
    }
  }
  if (error_count == items.size() && error_count > 0) {
    // Every item failed: the page's error format (`errors.erorLogs`, sic).
    const std::string body = "{\"response\":{\"message\":\"Error in updating data\",\"uri\":" + json::quote(uri) +
                             ",\"errors\":{\"erorLogs\":[" + errors + "]},\"status\":1}}";
    return json_reply(b_.people_http_error_status == "400" ? 400 : 200, body);
  }
  json::Writer w;
  w.begin_object().key("addedTimelogIds").begin_array();
  for (const auto& id : added) w.value(id);
  w.end_array().key("editedTimelogIds").begin_array();
  for (const auto& id : edited) w.value(id);
  w.end_array();
  std::string result = w.str();
  if (!errors.empty()) result += ",\"errorLogs\":[" + errors + "]";
  result += "}";
  return people_ok(uri, "Data updated successfully", result);
}

// gettimelogs (C: get-timelogs.html): user all | erecno | email | employee
// id; fromDate/toDate and workDate in `dateFormat`, else the company format.
net::HttpReply Sandbox::get_timelogs(const std::string& uri, const Params& p) {
  const std::string name = "gettimelogs";
  int s_index = 0, limit = 0;
  if (auto e = paging(name, uri, p, s_index, limit)) return *e;
  std::string format;
  if (auto e = date_format_of(name, uri, p, format)) return *e;
  const std::string user = get(p, "user").value_or("all");
  const Employee* who = user == "all" ? nullptr : employee_of(user);
  if (user != "all" && !who)
    return people_fail(name, uri, "Error in fetching data", "9003", "Wrong value given for user parameter", false);
  const std::string job = get(p, "jobId").value_or("");
  const std::string today = format_utc_iso_seconds(clock_.now()).substr(0, 10);
  std::string from = today.substr(0, 8) + "01", to = today;
  for (const char* key : {"fromDate", "toDate"}) {
    const auto v = get(p, key);
    if (!v) continue;
    const auto d = datefmt::parse(*v, format);
    if (d.kind != datefmt::Parsed::ok)
      return people_fail(name, uri, "Error in fetching data", "9004", std::string("Wrong date format given for parameter ") + key, false);
    (std::string_view(key) == "fromDate" ? from : to) = d.iso;
  }
  if (to < from) return people_fail(name, uri, "Error in fetching data", "9006", "toDate should be after the fromDate", false);
  if (days_between(from, to) > 31)
    return people_fail(name, uri, "Error in fetching data", "9007", "Maximum of one month's data can only be fetched at a time", false);
  std::vector<const Timelog*> hits;
  for (const auto& t : timelogs_) {
    if (who && t.user != who->erecno) continue;
    if (!job.empty() && t.job_id != job) continue;
    if (t.date < from || t.date > to) continue;
    hits.push_back(&t);
  }
  const auto [first, last] = page_of(hits.size(), s_index, limit);
  json::Writer w;
  w.begin_array();
  for (std::size_t i = first; i < last; ++i) {
    const Timelog& t = *hits[i];
    std::string job_name;
    for (const auto& j : jobs_)
      if (j.id == t.job_id) job_name = j.name;
    // C2: a real row carries these keys, and no workItem.
    w.begin_object().field("timelogId", t.id).field("employeeMailId", email_of(t.user)).field("erecno", t.user);
    w.field("jobId", t.job_id).field("jobName", job_name).field("workDate", show(t.date, format));
    w.field("hours", t.hours).field("billingStatus", t.billable).field("approvalStatus", "unapproved");
    if (b_.timelog_work_item) w.field("workItem", t.work_item);
    w.end_object();
  }
  w.end_array();
  return people_list(uri, w.str(), last - first, hits.size() > last);
}

// ---------------------------------------------------------------- the rest

net::HttpReply Sandbox::other_people(const std::string& name, const std::string& uri, const Params& p) {
  if (name == "deletetimelog") {
    const std::string doing = "Error in deleting timelog(s)";
    const auto ids = get(p, "timeLogId");
    if (!ids) return people_fail(name, uri, doing, "8000", "No timeLogId parameter specified", false);
    const auto list = split(*ids, ',');
    if (list.empty() || list.size() > 1000) return people_fail(name, uri, doing, "8001", "Wrong value for timeLogId parameter", false);
    for (const auto& id : list)
      if (std::none_of(timelogs_.begin(), timelogs_.end(), [&](const Timelog& t) { return t.id == id; }))
        return people_fail(name, uri, doing, "8001", "Wrong value for timeLogId parameter", false);
    json::Writer w;
    w.begin_array();
    for (const auto& id : list) {
      std::erase_if(timelogs_, [&](const Timelog& t) { return t.id == id; });
      w.begin_object().field("timeLogId", id).end_object();
    }
    w.end_array();
    return people_ok(uri, "Timelog(s) deleted successfully", w.str());
  }

  if (name == "getRecordIdsByReferenceIds") {
    const auto service = get(p, "service"), entity = get(p, "entity"), ids = get(p, "referenceId");
    if (!service || !entity || !ids)
      return people_fail(name, uri, "Error in fetching data", "7019", "Missing parameter(s) in the request", false);
    static const std::vector<std::string> services{"Zoho Books", "Zoho Invoice", "Zoho CRM", "Zoho Projects"};
    static const std::vector<std::string> entities{"client", "project", "job", "timelog"};
    if (std::find(services.begin(), services.end(), *service) == services.end() ||
        std::find(entities.begin(), entities.end(), *entity) == entities.end())
      return people_fail(name, uri, "Error in fetching data", "7205", "Input format does not match", false);
    const auto list = split(*ids, ',');
    if (list.size() > 200)
      return people_fail(name, uri, "Error in fetching data", "7214", "Maximum occurrences exceeded for referenceId.", false);
    json::Writer w;
    w.begin_object();
    for (const auto& ref : list) {
      std::string found;
      auto match = [&](const std::map<std::string, std::string>& refs) {
        auto it = refs.find(*service);
        return it != refs.end() && it->second == ref;
      };
      if (*entity == "project") {
        for (const auto& x : projects_) if (match(x.refs)) found = x.id;
      } else if (*entity == "job") {
        for (const auto& x : jobs_) if (match(x.refs)) found = x.id;
      } else if (*entity == "client") {
        for (const auto& x : clients_) if (match(x.refs)) found = x.id;
      }
      if (!found.empty()) w.field(ref, found);  // C: ids not synced are absent
    }
    w.end_object();
    return people_ok(uri, "Data fetched successfully", w.str());
  }

  if (name == "getclients") {
    int s_index = 0, limit = 0;
    if (auto e = paging(name, uri, p, s_index, limit)) return *e;
    const auto [from, to] = page_of(clients_.size(), s_index, limit);
    json::Writer w;
    w.begin_array();
    for (std::size_t i = from; i < to; ++i)
      w.begin_object().field("clientId", clients_[i].id).field("clientName", clients_[i].name).end_object();
    w.end_array();
    return people_list(uri, w.str(), to - from, clients_.size() > to);
  }

  ++stats_["people/" + name].errors["INVALID_URL"];
  return json_reply(404, "{\"response\":{\"message\":\"Invalid URL\",\"uri\":" + json::quote(uri) +
                             ",\"errors\":[{\"code\":7000,\"message\":\"Invalid API\"}],\"status\":1}}");
}

}  // namespace peoplesync::sandbox
