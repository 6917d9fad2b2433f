// The People time tracker of the sandbox (shared/api/people-*.txt and
// BEHAVIOUR.md "People"): the {"response":{...}} envelope, errors as an array
// or an object as each page shows, per-endpoint thresholds with lock periods.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/json.hpp"
#include "common/timefmt.hpp"
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

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto next = s.find(sep, pos);
    std::string item = s.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    if (!item.empty()) out.push_back(item);
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
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

int days_between(const std::string& a, const std::string& b) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::hours>(*parse_iso8601(b) - *parse_iso8601(a)).count() / 24);
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

std::string Sandbox::total_hours(const std::string& job_id) const {
  int total = 0;
  for (const auto& t : timelogs_)
    if (t.job_id == job_id) total += std::max(0, minutes_of(t.hours));
  return hhmm(total);
}

std::string Sandbox::job_json(const Job& j, bool logged_hours) const {
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
  w.field("fromDate", j.from_date).field("toDate", j.to_date).field("description", j.description);
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

net::HttpReply Sandbox::people(const net::HttpRequest& r, const std::string& name, const Params& p) {
  const bool forms = r.path.find("/forms/") != std::string::npos;
  const std::string uri = forms ? "/api/forms/json/P_TimesheetJob/" + name : "/api/timetracker/" + name;
  if (locked(name, nullptr)) {
    ++stats_["people/" + name].errors["7209"];
    return people_error(uri, "Error", "7209",
                        "API access blocked since threshold limit exceeded. Please try after some time", false);
  }
  auto fail = [&](const std::string& message, const std::string& code, const std::string& text, bool as_object) {
    ++stats_["people/" + name].errors[code];
    return people_error(uri, message, code, text, as_object);
  };
  auto paging = [&](int& s_index, int& limit) -> std::optional<net::HttpReply> {
    s_index = 0;
    limit = 200;
    if (auto v = get(p, "sIndex"); v && (!to_int(*v, s_index) || s_index < 0))
      return fail("Error in fetching data", "9003", "Wrong value given for sIndex parameter", false);
    if (auto v = get(p, "limit"); v && (!to_int(*v, limit) || limit < 1 || limit > 200))
      return fail("Error in fetching data", "9003", "Wrong value given for limit parameter", false);
    return std::nullopt;
  };

  if (name == "getprojects") {
    int s_index = 0, limit = 0;
    if (auto e = paging(s_index, limit)) return *e;
    const std::string status = get(p, "projectStatus").value_or("all");
    std::vector<const Project*> hits;
    for (const auto& pr : projects_) {
      if (status == "inprogress" && pr.status != "In-Progress") continue;
      if (status == "completed" && pr.status != "Completed") continue;
      hits.push_back(&pr);
    }
    json::Writer w;
    w.begin_array();
    for (std::size_t i = static_cast<std::size_t>(s_index); i < hits.size() && i < static_cast<std::size_t>(s_index + limit); ++i) {
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
    return people_ok(uri, "Data fetched successfully", w.str(), hits.size() > static_cast<std::size_t>(s_index + limit));
  }

  if (name == "getjobs") {
    if (!get(p, "assignedTo")) return fail("Error in fetching data", "9002", "No assignedTo parameter specified", false);
    int s_index = 0, limit = 0;
    if (auto e = paging(s_index, limit)) return *e;
    const std::string project = get(p, "projectId").value_or("all");
    const std::string status = get(p, "jobStatus").value_or("all");
    if (status != "all" && status != "in-progress" && status != "completed")
      return fail("Error in fetching data", "9003", "Wrong value given for jobStatus parameter", false);
    const std::string assigned = get(p, "assignedTo").value_or("all");
    const bool logged = get(p, "fetchLoggedHrs").value_or("false") == "true";
    std::vector<const Job*> hits;
    for (const auto& j : jobs_) {
      if (project != "all" && j.project_id != project) continue;
      if (status == "in-progress" && j.status != "In-Progress") continue;
      if (status == "completed" && j.status != "Completed") continue;
      if (assigned != "all" &&
          std::none_of(j.assignees.begin(), j.assignees.end(), [&](const Assignee& a) { return a.who == assigned; }))
        continue;
      hits.push_back(&j);
    }
    std::string list = "[";
    for (std::size_t i = static_cast<std::size_t>(s_index); i < hits.size() && i < static_cast<std::size_t>(s_index + limit); ++i) {
      if (list.size() > 1) list += ',';
      list += job_json(*hits[i], logged);
    }
    list += "]";
    return people_ok(uri, "Data fetched successfully", list, hits.size() > static_cast<std::size_t>(s_index + limit));
  }

  if (name == "getjobdetails") {
    const auto id = get(p, "jobId");
    if (!id) return fail("Error in fetching data", "9002", "No jobId parameter specified", false);
    for (const auto& j : jobs_) {
      if (j.id != *id) continue;
      std::string detail = job_json(j, true);
      detail.pop_back();
      detail += ",\"assignees\":[";
      for (std::size_t i = 0; i < j.assignees.size(); ++i) {
        if (i) detail += ',';
        int logged = 0;
        for (const auto& t : timelogs_)
          if (t.job_id == j.id && t.user == j.assignees[i].who) logged += std::max(0, minutes_of(t.hours));
        detail += "{\"hours\":" + json::quote(j.assignees[i].hours) + ",\"erecno\":" + json::quote(j.assignees[i].who) +
                  ",\"rate\":0,\"name\":" + json::quote(j.assignees[i].who) + ",\"totalhours\":" + json::quote(hhmm(logged)) + "}";
      }
      detail += "]}";
      return people_ok(uri, "Data fetched successfully", "[" + detail + "]");
    }
    return fail("Error in fetching data", "9003", "Wrong value given for jobId parameter", false);
  }

  // Job writes: addjob / modifyjob (query or form parameters) and the forms
  // API (inputData JSON with Job_Name, Project, StartDate, EndDate, Assignees).
  if (name == "addjob" || name == "modifyjob" || name == "insertRecord" || name == "updateRecord") {
    const bool form_api = name == "insertRecord" || name == "updateRecord";
    const bool modify = name == "modifyjob" || name == "updateRecord";
    Job in;
    bool has_name = false, has_assignees = false;
    if (form_api) {
      const auto data = get(p, "inputData");
      if (!data) return fail("Error in adding data", "7019", "Missing parameter(s) in the request: inputData", false);
      simdjson::dom::parser parser;
      simdjson::dom::object o;
      if (parser.parse(*data).get_object().get(o) != simdjson::SUCCESS)
        return fail("Error in adding data", "7205", "Input format does not match", false);
      auto field = [&](const char* k, std::string& out) {
        std::string_view v;
        if (o[k].get_string().get(v) == simdjson::SUCCESS) {
          out = std::string(v);
          return true;
        }
        return false;
      };
      has_name = field("Job_Name", in.name);
      field("Project", in.project_id);
      field("StartDate", in.from_date);
      field("EndDate", in.to_date);
      field("Description", in.description);
      std::string who, hours, rate;
      if (field("Assignees", who)) {
        has_assignees = true;
        field("AssigneeHours", hours);
        field("AssigneeRate", rate);
        const auto ws = split(who, ';'), hs = split(hours, ';'), rs = split(rate, ';');
        for (std::size_t i = 0; i < ws.size(); ++i)
          in.assignees.push_back({ws[i], i < hs.size() ? hs[i] : "", i < rs.size() ? rs[i] : ""});
      }
    } else {
      if (auto v = get(p, "jobName")) {
        in.name = *v;
        has_name = true;
      }
      in.project_id = get(p, "projectId").value_or("");
      in.from_date = get(p, "fromDate").value_or("");
      in.to_date = get(p, "toDate").value_or("");
      in.description = get(p, "description").value_or("");
      in.rate = get(p, "ratePerHour").value_or("");
      if (auto a = get(p, "assignees")) {
        has_assignees = true;
        simdjson::dom::parser parser;
        simdjson::dom::array arr;
        if (parser.parse(*a).get_array().get(arr) != simdjson::SUCCESS)
          return fail("Error in adding job", "8002", "Wrong format for assignees parameter", false);
        for (simdjson::dom::element e : arr) {
          simdjson::dom::object o;
          std::string_view who;
          if (e.get_object().get(o) != simdjson::SUCCESS || o["assignedTo"].get_string().get(who) != simdjson::SUCCESS)
            return fail("Error in adding job", "8002", "Wrong format for assignees parameter", false);
          std::string_view hours;
          if (o["hours"].get_string().get(hours) != simdjson::SUCCESS) hours = "";
          in.assignees.push_back({std::string(who), std::string(hours), ""});
        }
      }
      const std::string format = get(p, "dateFormat").value_or("yyyy-MM-dd");
      if (format != "yyyy-MM-dd" || (!in.from_date.empty() && !valid_date(in.from_date)) ||
          (!in.to_date.empty() && !valid_date(in.to_date)))
        return fail("Error in adding job", "8002", "Wrong format for fromDate/toDate (this sandbox speaks yyyy-MM-dd)", false);
    }
    if (!in.project_id.empty()) {
      const auto pr = std::find_if(projects_.begin(), projects_.end(), [&](const Project& x) { return x.id == in.project_id; });
      if (pr == projects_.end()) return fail("Error in adding job", "8001", "Wrong value for projectId parameter", false);
      // U: adding a job to a completed project is refused.
      if (pr->status == "Completed")
        return fail("Error in adding job", "8001", "Cannot add a job to a completed project", false);
    }
    if (modify) {
      const auto id = get(p, form_api ? "recordId" : "jobId");
      if (!id) return fail("Error in modifying job", "8000", std::string("No ") + (form_api ? "recordId" : "jobId") + " parameter specified", false);
      auto j = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& x) { return x.id == *id; });
      if (j == jobs_.end()) return fail("Error in modifying job", "8001", "Wrong value for jobId parameter", false);
      if (has_name) j->name = in.name;
      if (!in.project_id.empty()) j->project_id = in.project_id;
      if (!in.from_date.empty()) j->from_date = in.from_date;
      if (!in.to_date.empty()) j->to_date = in.to_date;
      if (!in.description.empty()) j->description = in.description;
      if (has_assignees) j->assignees = in.assignees;
      if (form_api)
        return people_ok(uri, "Data updated successfully", "{\"pkId\":" + json::quote(j->id) + ",\"message\":\"Successfully Updated\"}");
      return people_ok(uri, "Job details modified Successfully", "[{\"jobId\":" + json::quote(j->id) + "}]");
    }
    if (!has_name || in.name.empty()) return fail("Error in adding job", "8000", "No jobName parameter specified", false);
    if (!has_assignees || in.assignees.empty())
      return fail("Error in adding job", "8000", "No assignees parameter specified", false);
    in.id = next_id();
    in.status = "In-Progress";
    for (const auto& a : in.assignees) users_.insert(a.who);
    jobs_.push_back(in);
    if (form_api)
      return people_ok(uri, "Data added successfully", "{\"pkId\":" + json::quote(in.id) + ",\"message\":\"Successfully Added\"}");
    return people_ok(uri, "Job added Successfully", "[{\"jobId\":" + json::quote(in.id) + "}]");
  }

  if (name == "modifyjobstatus") {
    // C: this page shows `errors` as an object.
    const auto id = get(p, "jobId");
    const auto status = get(p, "jobStatus");
    if (!id) return fail("Error in changing job status", "8000", "No jobId parameter specified", true);
    if (!status) return fail("Error in changing job status", "8000", "No jobStatus parameter specified", true);
    if (*status != "In-Progress" && *status != "Completed")
      return fail("Error in changing job status", "8001", "Wrong value for jobStatus parameter", true);
    auto j = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& x) { return x.id == *id; });
    if (j == jobs_.end()) return fail("Error in changing job status", "8001", "Wrong value for jobId parameter", true);
    if (*status == "In-Progress") {
      for (const auto& pr : projects_)
        if (pr.id == j->project_id && pr.status == "Completed")
          return fail("Error in changing job status", "8006",
                      "Cannot reopen the job since the project associated with this job is completed and you do not "
                      "have permission to reopen the project",
                      true);
    }
    j->status = *status;
    return people_ok(uri, "Job Status changed Successfully", "");
  }

  if (name == "deletejob") {
    const auto ids = get(p, "jobId");
    if (!ids) return fail("Error in deleting job(s)", "8000", "No jobId parameter specified", true);
    const auto list = split(*ids, ',');
    if (list.empty() || list.size() > 100) return fail("Error in deleting job(s)", "8001", "Wrong value for jobId parameter", true);
    for (const auto& id : list)
      if (std::none_of(jobs_.begin(), jobs_.end(), [&](const Job& x) { return x.id == id; }))
        return fail("One or more specified jobs are not deleted", "8001", "Wrong value for jobId parameter", true);
    for (const auto& id : list) {
      std::erase_if(jobs_, [&](const Job& x) { return x.id == id; });
      std::erase_if(timelogs_, [&](const Timelog& t) { return t.job_id == id; });  // U: logs go with the job
    }
    return people_ok(uri, "Job(s) deleted successfully", "");
  }

  if (name == "addupdatetimelogs") {
    const auto raw = get(p, "timelogs");
    if (!raw) return fail("Error in updating data", "8000", "No timelogs parameter specified", false);
    simdjson::dom::parser parser;
    simdjson::dom::array arr;
    if (parser.parse(*raw).get_array().get(arr) != simdjson::SUCCESS)
      return fail("Error in updating data", "8002", "Wrong format for timelogs parameter", false);
    if (arr.size() > 100) return fail("Error in updating data", "8001", "Only 100 timelogs can be added or edited at a time", false);
    struct Item {
      std::map<std::string, std::string> f;
    };
    std::vector<Item> items;
    std::string min_date = "9999-99-99", max_date = "0000-00-00";
    for (simdjson::dom::element e : arr) {
      Item it;
      simdjson::dom::object o;
      if (e.get_object().get(o) == simdjson::SUCCESS) {
        for (auto [k, v] : o) {
          std::string_view sv;
          if (v.get_string().get(sv) == simdjson::SUCCESS) it.f[std::string(k)] = std::string(sv);
          else it.f[std::string(k)] = simdjson::minify(v);
        }
      }
      const std::string d = it.f["date"];
      if (valid_date(d)) {
        min_date = std::min(min_date, d);
        max_date = std::max(max_date, d);
      }
      items.push_back(std::move(it));
    }
    if (min_date <= max_date && days_between(min_date, max_date) > 30)
      return fail("Error in updating data", "8001", "Timelogs can be added or edited only for 31 consecutive days at a time", false);
    const std::string today = format_utc_iso_seconds(clock_.now()).substr(0, 10);
    std::vector<std::string> added, edited;
    std::string errors;
    int error_count = 0;
    for (auto& it : items) {
      auto& f = it.f;
      std::string code, message;
      const auto job = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& j) { return j.id == f["jobId"]; });
      const bool timed = !f["startTime"].empty() || !f["endTime"].empty();
      if (f["user"].empty() || f["jobId"].empty() || f["date"].empty() || (f["hours"].empty() && !timed)) {
        code = "8000";
        message = "Missing mandatory parameter";
      } else if (!valid_date(f["date"])) {
        code = "8002";
        message = "Wrong format for date parameter";
      } else if (!f["hours"].empty() && minutes_of(f["hours"]) < 0) {
        code = "8002";
        message = "Wrong format for hours parameter";
      } else if (job == jobs_.end()) {
        code = "8001";
        message = "Wrong value for jobId parameter";
      } else if (f["date"] > today) {
        code = "8001";
        message = "Cannot log time for a Future Date";
      } else if (job->status == "Completed") {
        code = "9025";
        message = "Cannot log time for a completed job";
      } else if (!f["billableStatus"].empty() && f["billableStatus"] != "billable" && f["billableStatus"] != "non-billable") {
        code = "8001";
        message = "Wrong value for billableStatus parameter";
      }
      Timelog* existing = nullptr;
      if (code.empty() && !f["timelogId"].empty()) {
        auto t = std::find_if(timelogs_.begin(), timelogs_.end(), [&](const Timelog& x) { return x.id == f["timelogId"]; });
        if (t == timelogs_.end()) {
          code = "8001";
          message = "Wrong value for timelogId parameter";
        } else {
          existing = &*t;
        }
      }
      if (!code.empty()) {
        ++error_count;
        ++stats_["people/addupdatetimelogs"].errors[code];
        json::Writer w;
        w.begin_object().field("errorCode", std::int64_t{std::stoi(code)}).field("message", message);
        w.field("user", f["user"]).field("date", f["date"]).field("jobId", f["jobId"]).field("hours", f["hours"]).end_object();
        errors += (errors.empty() ? "" : ",") + w.str();
        continue;
      }
      Timelog t{existing ? existing->id : next_id(), f["user"], f["jobId"], f["date"],
                f["hours"].empty() ? "01:00" : f["hours"], f["billableStatus"].empty() ? "billable" : f["billableStatus"],
                f["workItem"], f["description"]};
      users_.insert(t.user);
      if (existing) {
        *existing = t;
        edited.push_back(t.id);
      } else {
        timelogs_.push_back(t);
        added.push_back(t.id);
      }
    }
    if (error_count == static_cast<int>(items.size()) && error_count > 0) {
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

  if (name == "gettimelogs") {
    int s_index = 0, limit = 0;
    if (auto e = paging(s_index, limit)) return *e;
    const std::string user = get(p, "user").value_or("all");
    const std::string job = get(p, "jobId").value_or("");
    const std::string today = format_utc_iso_seconds(clock_.now()).substr(0, 10);
    const std::string from = get(p, "fromDate").value_or(today.substr(0, 8) + "01");
    const std::string to = get(p, "toDate").value_or(today);
    if (!valid_date(from) || !valid_date(to)) return fail("Error in fetching data", "9004", "Date format does not match", false);
    if (to < from) return fail("Error in fetching data", "9006", "toDate is before fromDate", false);
    if (days_between(from, to) > 31) return fail("Error in fetching data", "9007", "Time logs can be fetched only for one month", false);
    std::vector<const Timelog*> hits;
    for (const auto& t : timelogs_) {
      if (user != "all" && t.user != user) continue;
      if (!job.empty() && t.job_id != job) continue;
      if (t.date < from || t.date > to) continue;
      hits.push_back(&t);
    }
    json::Writer w;
    w.begin_array();
    for (std::size_t i = static_cast<std::size_t>(s_index); i < hits.size() && i < static_cast<std::size_t>(s_index + limit); ++i) {
      const Timelog& t = *hits[i];
      w.begin_object().field("timelogId", t.id).field("employeeMailId", t.user).field("jobId", t.job_id);
      w.field("workDate", t.date).field("hours", t.hours).field("billingStatus", t.billable);
      w.field("workItem", t.work_item).field("description", t.description).end_object();
    }
    w.end_array();
    return people_ok(uri, "Data fetched successfully", w.str(), hits.size() > static_cast<std::size_t>(s_index + limit));
  }

  if (name == "deletetimelog") {
    const auto ids = get(p, "timeLogId");
    if (!ids) return fail("Error in deleting timelog(s)", "8000", "No timeLogId parameter specified", false);
    const auto list = split(*ids, ',');
    if (list.empty() || list.size() > 1000) return fail("Error in deleting timelog(s)", "8001", "Wrong value for timeLogId parameter", false);
    for (const auto& id : list)
      if (std::none_of(timelogs_.begin(), timelogs_.end(), [&](const Timelog& t) { return t.id == id; }))
        return fail("Error in deleting timelog(s)", "8001", "Wrong value for timeLogId parameter", false);
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
    if (!service || !entity || !ids) return fail("Error in fetching data", "7019", "Missing parameter(s) in the request", false);
    static const std::vector<std::string> services{"Zoho Books", "Zoho Invoice", "Zoho CRM", "Zoho Projects"};
    static const std::vector<std::string> entities{"client", "project", "job", "timelog"};
    if (std::find(services.begin(), services.end(), *service) == services.end() ||
        std::find(entities.begin(), entities.end(), *entity) == entities.end())
      return fail("Error in fetching data", "7205", "Input format does not match", false);
    const auto list = split(*ids, ',');
    if (list.size() > 200) return fail("Error in fetching data", "7214", "Maximum occurrences exceeded for referenceId.", false);
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
    if (auto e = paging(s_index, limit)) return *e;
    json::Writer w;
    w.begin_array();
    for (std::size_t i = static_cast<std::size_t>(s_index); i < clients_.size() && i < static_cast<std::size_t>(s_index + limit); ++i)
      w.begin_object().field("clientId", clients_[i].id).field("clientName", clients_[i].name).end_object();
    w.end_array();
    return people_ok(uri, "Data fetched successfully", w.str(), clients_.size() > static_cast<std::size_t>(s_index + limit));
  }

  ++stats_["people/" + name].errors["INVALID_URL"];
  return json_reply(404, "{\"response\":{\"message\":\"Invalid URL\",\"uri\":" + json::quote(uri) +
                             ",\"errors\":[{\"code\":7000,\"message\":\"Invalid API\"}],\"status\":1}}");
}

}  // namespace peoplesync::sandbox
