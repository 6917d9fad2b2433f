#include "connectors/people.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "common/json.hpp"

namespace peoplesync::connectors {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// Any scalar as text: ids come as strings or numbers depending on the page.
std::string text(element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: return std::string(std::string_view(e));
    case simdjson::dom::element_type::INT64: return std::to_string(std::int64_t(e));
    case simdjson::dom::element_type::UINT64: return std::to_string(std::uint64_t(e));
    case simdjson::dom::element_type::DOUBLE: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.15g", double(e));
      return buf;
    }
    case simdjson::dom::element_type::BOOL: return bool(e) ? "true" : "false";
    default: return "";
  }
}

std::string field(object o, std::string_view key) {
  element e;
  if (o[key].get(e) != simdjson::SUCCESS) return "";
  return text(e);
}

CallError shape_error(const std::string& endpoint, const std::string& what, Outcome o = Outcome::retry) {
  return CallError{o, endpoint + ": unexpected reply: " + what, "", std::nullopt};
}

// A successful list read always carries "result" (BEHAVIOUR.md, People:
// every reply is wrapped), an empty list included. Without it nothing was
// said: taking it for "no records" made a reconcile miss the job or time log
// an in-doubt add had created, and add it again (found by tests/hostile).
CallError no_result(const std::string& endpoint) { return shape_error(endpoint, "no \"result\" in the reply"); }

// Built outside coroutine bodies: g++ 12 miscompiles aggregate
// initialisation from string literals inside co_return.
CallError permanent_error(std::string message) {
  return CallError{Outcome::permanent, std::move(message), "", std::nullopt};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void add_if(std::vector<std::pair<std::string, std::string>>& p, const char* key, const std::string& v) {
  if (!v.empty()) p.emplace_back(key, v);
}

std::string assignees_json(const std::vector<Assignee>& as) {
  json::Writer w;
  w.begin_array();
  for (const auto& a : as) {
    w.begin_object().field("assignedTo", a.assigned_to);
    if (!a.hours.empty()) w.field("hours", a.hours);
    if (!a.rate.empty()) w.field("rate", a.rate);
    w.end_object();
  }
  w.end_array();
  return w.str();
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out.push_back(sep);
    out += s;
  }
  return out;
}

PeopleJob parse_job(object o) {
  PeopleJob j;
  j.id = field(o, "jobId");
  j.name = field(o, "jobName");
  j.project_id = field(o, "projectId");
  j.project_name = field(o, "projectName");
  j.client_id = field(o, "clientId");
  j.client_name = field(o, "clientName");
  j.status = field(o, "jobStatus");
  j.from_date = field(o, "fromDate");
  j.to_date = field(o, "toDate");
  j.description = field(o, "description");
  j.hours = field(o, "hours");
  j.total_hours = field(o, "totalhours");
  return j;
}

}  // namespace

std::variant<Envelope, std::string> parse_envelope(std::string_view body) {
  simdjson::dom::parser parser;
  element doc;
  if (body.empty()) return std::string("empty body");
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) return std::string("body is not JSON");
  object root, response;
  if (doc.get_object().get(root) != simdjson::SUCCESS || root["response"].get_object().get(response) != simdjson::SUCCESS)
    return std::string("no \"response\" envelope");
  Envelope env;
  element status;
  if (response["status"].get(status) != simdjson::SUCCESS) return std::string("envelope without \"status\"");
  const std::string s = text(status);
  if (s == "0" || s == "1" || s == "2") env.status = s[0] - '0';
  else return std::string("envelope status '" + s + "' is not 0, 1 or 2");
  env.message = field(response, "message");
  bool next = false;
  if (response["isNextAvailable"].get_bool().get(next) == simdjson::SUCCESS) env.next_available = next;
  element errors;
  if (response["errors"].get(errors) == simdjson::SUCCESS) {
    auto add = [&](element e) {
      object o;
      if (e.get_object().get(o) != simdjson::SUCCESS) return;
      std::string code = field(o, "code");
      if (code.empty()) code = field(o, "errorCode");
      env.errors.push_back({code, field(o, "message")});
    };
    if (errors.is_array()) {
      for (element e : simdjson::dom::array(errors)) add(e);
    } else if (errors.is_object()) {
      object o = errors;
      simdjson::dom::array logs;
      if (o["erorLogs"].get_array().get(logs) == simdjson::SUCCESS ||
          o["errorLogs"].get_array().get(logs) == simdjson::SUCCESS) {
        for (element e : logs) add(e);
      } else {
        add(errors);
      }
    }
  }
  element result;
  if (response["result"].get(result) == simdjson::SUCCESS) env.result_json = simdjson::minify(result);
  return env;
}

Outcome classify_people_error(std::string_view code, std::string_view message) {
  const std::string m = lower(message);
  if (code == "7209" || m.find("threshold limit") != std::string::npos ||
      m.find("api access blocked") != std::string::npos)
    return Outcome::locked;
  return Outcome::permanent;
}

PeopleClient::PeopleClient(ZohoApi& api, std::string people_url)
    : api_(api), people_url_(std::move(people_url)) {}

Request PeopleClient::make(std::string_view endpoint, std::string_view path, Method m,
                           const std::vector<std::pair<std::string, std::string>>& params) const {
  Request r;
  r.method = m;
  r.base_url = people_url_;
  r.endpoint = "people/" + std::string(endpoint);
  r.idempotent = m == Method::get;
  const std::string q = query_string(params);
  if (m == Method::get) {
    r.target = std::string(path) + (q.empty() ? "" : "?" + q);
  } else {
    // Writes carry their parameters in a form body: a long URL gives URL_LENGTH.
    r.target = std::string(path);
    r.content_type = "application/x-www-form-urlencoded";
    r.body = q;
  }
  return r;
}

boost::asio::awaitable<Expected<Envelope>> PeopleClient::exchange(Request r) {
  const std::string endpoint = r.endpoint;
  const bool write = !r.idempotent;
  ApiResult res = co_await api_.call(std::move(r));
  if (auto* e = std::get_if<CallError>(&res)) co_return *e;
  const Response& http = std::get<Response>(res);
  auto env = parse_envelope(http.body);
  if (auto* problem = std::get_if<std::string>(&env)) {
    // A write answered by something unreadable may have been applied.
    co_return shape_error(endpoint, *problem + " (HTTP " + std::to_string(http.status) + ")",
                          write ? Outcome::in_doubt : Outcome::retry);
  }
  Envelope& e = std::get<Envelope>(env);
  if (e.status == 1) {
    const PeopleErrorItem first = e.errors.empty() ? PeopleErrorItem{"", e.message} : e.errors.front();
    const Outcome o = classify_people_error(first.code, first.message.empty() ? e.message : first.message);
    // The endpoint is blocked for its lock period: tell the scheduler so that
    // no call is sent to it until the lock ends (the caller sends again).
    if (o == Outcome::locked) api_.gate().limited(endpoint, LimitSignal::locked, std::nullopt);
    co_return CallError{o,
                        endpoint + ": " + (first.code.empty() ? "" : "error " + first.code + ": ") +
                            (first.message.empty() ? e.message : first.message),
                        first.code, std::nullopt};
  }
  co_return std::move(e);
}

boost::asio::awaitable<Expected<Page<PeopleProject>>> PeopleClient::get_projects(int s_index, int limit) {
  Request req = make("getprojects", "/people/api/timetracker/getprojects", Method::get,
                                    {{"assignedTo", "all"},
                                     {"projectStatus", "all"},
                                     {"sIndex", std::to_string(s_index)},
                                     {"limit", std::to_string(limit)}});
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  const Envelope& e = std::get<Envelope>(env);
  Page<PeopleProject> page;
  page.more = e.next_available;
  if (e.result_json.empty()) co_return no_result("people/getprojects");
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  if (parser.parse(e.result_json).get_array().get(arr) != simdjson::SUCCESS)
    co_return shape_error("people/getprojects", "result is not a list");
  for (element el : arr) {
    object o;
    if (el.get_object().get(o) != simdjson::SUCCESS) co_return shape_error("people/getprojects", "project is not an object");
    page.items.push_back({field(o, "projectId"), field(o, "projectName"), field(o, "clientId"), field(o, "clientName"),
                          field(o, "projectStatus")});
    if (page.items.back().id.empty()) co_return shape_error("people/getprojects", "project without projectId");
  }
  co_return page;
}

boost::asio::awaitable<Expected<Page<PeopleJob>>> PeopleClient::get_jobs(const JobQuery& q) {
  std::vector<std::pair<std::string, std::string>> p{{"assignedTo", q.assigned_to}};
  add_if(p, "projectId", q.project_id);
  add_if(p, "jobStatus", q.job_status);
  if (q.fetch_logged_hours) p.emplace_back("fetchLoggedHrs", "true");
  p.emplace_back("sIndex", std::to_string(q.s_index));
  p.emplace_back("limit", std::to_string(q.limit));
  Request req = make("getjobs", "/people/api/timetracker/getjobs", Method::get, p);
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  const Envelope& e = std::get<Envelope>(env);
  Page<PeopleJob> page;
  page.more = e.next_available;
  if (e.result_json.empty()) co_return no_result("people/getjobs");
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  if (parser.parse(e.result_json).get_array().get(arr) != simdjson::SUCCESS)
    co_return shape_error("people/getjobs", "result is not a list");
  for (element el : arr) {
    object o;
    if (el.get_object().get(o) != simdjson::SUCCESS) co_return shape_error("people/getjobs", "job is not an object");
    page.items.push_back(parse_job(o));
    if (page.items.back().id.empty()) co_return shape_error("people/getjobs", "job without jobId");
  }
  co_return page;
}

namespace {
Expected<PeopleJob> parse_job_details(const std::string& result_json) {
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  object o;
  if (parser.parse(result_json).get_array().get(arr) != simdjson::SUCCESS || arr.size() == 0 ||
      arr.at(0).get_object().get(o) != simdjson::SUCCESS)
    return shape_error("people/getjobdetails", "result is not a list of one job");
  return parse_job(o);
}
}  // namespace

boost::asio::awaitable<Expected<PeopleJob>> PeopleClient::get_job_details(const std::string& job_id) {
  Request req = make("getjobdetails", "/people/api/timetracker/getjobdetails", Method::get, {{"jobId", job_id}});
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  co_return parse_job_details(std::get<Envelope>(env).result_json);
}

namespace {
std::vector<std::pair<std::string, std::string>> job_params(const JobInput& j) {
  std::vector<std::pair<std::string, std::string>> p;
  add_if(p, "jobName", j.name);
  if (!j.assignees.empty()) p.emplace_back("assignees", assignees_json(j.assignees));
  add_if(p, "projectId", j.project_id);
  if (!j.from_date.empty() || !j.to_date.empty()) p.emplace_back("dateFormat", "yyyy-MM-dd");
  add_if(p, "fromDate", j.from_date);
  add_if(p, "toDate", j.to_date);
  add_if(p, "description", j.description);
  add_if(p, "ratePerHour", j.rate_per_hour);
  return p;
}

// The forms API's inputData for P_TimesheetJob.
std::string job_input_data(const JobInput& j) {
  json::Writer w;
  w.begin_object();
  if (!j.name.empty()) w.field("Job_Name", j.name);
  if (!j.project_id.empty()) w.field("Project", j.project_id);
  if (!j.from_date.empty()) w.field("StartDate", j.from_date);
  if (!j.to_date.empty()) w.field("EndDate", j.to_date);
  if (!j.description.empty()) w.field("Description", j.description);
  if (!j.assignees.empty()) {
    std::vector<std::string> who, hours, rates;
    for (const auto& a : j.assignees) {
      who.push_back(a.assigned_to);
      hours.push_back(a.hours);
      rates.push_back(a.rate);
    }
    w.field("Assignees", join(who, ';'));
    w.field("AssigneeHours", join(hours, ';'));
    w.field("AssigneeRate", join(rates, ';'));
  }
  w.end_object();
  return w.str();
}

// addjob/modifyjob answer result: [{"jobId": ...}]; forms answer result: {"pkId": ...}.
std::string id_from_result(const std::string& result_json, std::string_view key) {
  simdjson::dom::parser parser;
  element doc;
  if (parser.parse(result_json).get(doc) != simdjson::SUCCESS) return "";
  object o;
  if (doc.is_array()) {
    simdjson::dom::array arr = doc;
    if (arr.size() == 0 || arr.at(0).get_object().get(o) != simdjson::SUCCESS) return "";
  } else if (doc.get_object().get(o) != simdjson::SUCCESS) {
    return "";
  }
  return field(o, key);
}
}  // namespace

boost::asio::awaitable<Expected<std::string>> PeopleClient::add_job(const JobInput& job) {
  Request req = make("addjob", "/people/api/timetracker/addjob", Method::post, job_params(job));
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  std::string id = id_from_result(std::get<Envelope>(env).result_json, "jobId");
  if (id.empty()) co_return shape_error("people/addjob", "no jobId in the result", Outcome::in_doubt);
  co_return id;
}

boost::asio::awaitable<Expected<std::string>> PeopleClient::insert_job_record(const JobInput& job) {
  Request req = make("insertRecord", "/people/api/forms/json/P_TimesheetJob/insertRecord",
                                    Method::post, {{"inputData", job_input_data(job)}});
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  std::string id = id_from_result(std::get<Envelope>(env).result_json, "pkId");
  if (id.empty()) co_return shape_error("people/insertRecord", "no pkId in the result", Outcome::in_doubt);
  co_return id;
}

boost::asio::awaitable<Expected<std::string>> PeopleClient::update_job_record(const std::string& record_id,
                                                                             const JobInput& job) {
  Request req = make("updateRecord", "/people/api/forms/json/P_TimesheetJob/updateRecord",
                                    Method::post, {{"recordId", record_id}, {"inputData", job_input_data(job)}});
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  co_return record_id;
}

boost::asio::awaitable<Expected<std::string>> PeopleClient::modify_job(const std::string& job_id, const JobInput& job) {
  auto p = job_params(job);
  p.insert(p.begin(), {"jobId", job_id});
  Request req = make("modifyjob", "/people/api/timetracker/modifyjob", Method::post, p);
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  co_return job_id;
}

boost::asio::awaitable<Expected<bool>> PeopleClient::modify_job_status(const std::string& job_id,
                                                                       const std::string& status) {
  Request req = make("modifyjobstatus", "/people/api/timetracker/modifyjobstatus", Method::post,
                                    {{"jobId", job_id}, {"jobStatus", status}});
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  co_return true;
}

boost::asio::awaitable<Expected<bool>> PeopleClient::delete_jobs(const std::vector<std::string>& job_ids) {
  if (job_ids.empty() || job_ids.size() > kMaxJobDeletes)
    co_return permanent_error("people/deletejob: 1 to 100 job ids per call");
  Request req = make("deletejob", "/people/api/timetracker/deletejob", Method::post, {{"jobId", join(job_ids, ',')}});
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  co_return true;
}

boost::asio::awaitable<Expected<BulkTimelogResult>> PeopleClient::add_update_timelogs(
    const std::vector<TimelogInput>& items) {
  const std::string ep = "people/addupdatetimelogs";
  if (items.empty() || items.size() > kMaxTimelogsPerCall)
    co_return permanent_error(ep + ": 1 to 100 time logs per call");
  json::Writer w;
  w.begin_array();
  for (const auto& t : items) {
    w.begin_object();
    w.field("user", t.user).field("jobId", t.job_id);
    if (!t.timelog_id.empty()) w.field("timelogId", t.timelog_id);
    w.field("date", t.date);
    if (!t.billable_status.empty()) w.field("billableStatus", t.billable_status);
    if (!t.hours.empty()) w.field("hours", t.hours);
    if (!t.start_time.empty()) w.field("startTime", t.start_time);
    if (!t.end_time.empty()) w.field("endTime", t.end_time);
    if (!t.work_item.empty()) w.field("workItem", t.work_item);
    if (!t.description.empty()) w.field("description", t.description);
    w.end_object();
  }
  w.end_array();
  Request req = make("addupdatetimelogs", "/people/api/timetracker/addupdatetimelogs", Method::post,
                     {{"timelogs", w.str()}});
  ApiResult res = co_await api_.call(std::move(req));
  if (auto* e = std::get_if<CallError>(&res)) co_return *e;
  const std::string& body = std::get<Response>(res).body;

  // Parse here rather than through exchange(): a status-1 reply still lists
  // per-item errorLogs that must be matched to their items.
  simdjson::dom::parser parser;
  element doc;
  object response, result;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS || doc["response"].get_object().get(response) != simdjson::SUCCESS)
    co_return shape_error(ep, "body is not a People envelope", Outcome::in_doubt);
  const std::string status = [&] {
    element s;
    return response["status"].get(s) == simdjson::SUCCESS ? text(s) : std::string();
  }();
  simdjson::dom::array error_logs;
  bool have_logs = false;
  const bool have_result = response["result"].get_object().get(result) == simdjson::SUCCESS;
  if (have_result) {
    have_logs = result["errorLogs"].get_array().get(error_logs) == simdjson::SUCCESS;
  }
  object errors_obj;
  if (!have_logs && response["errors"].get_object().get(errors_obj) == simdjson::SUCCESS) {
    have_logs = errors_obj["erorLogs"].get_array().get(error_logs) == simdjson::SUCCESS ||
                errors_obj["errorLogs"].get_array().get(error_logs) == simdjson::SUCCESS;
  }
  if (status == "1" && !have_logs) {
    // A whole-call error (lock, missing parameter, ...).
    auto env = parse_envelope(body);
    std::string code, message = "error";
    if (auto* e = std::get_if<Envelope>(&env); e && !e->errors.empty()) {
      code = e->errors.front().code;
      message = e->errors.front().message;
    } else if (e) {
      message = e->message;
    }
    const Outcome o = classify_people_error(code, message);
    // A lock reply arrives here, not through exchange(): the scheduler must hear of it too.
    if (o == Outcome::locked) api_.gate().limited(ep, LimitSignal::locked, std::nullopt);
    co_return CallError{o, ep + ": error " + code + ": " + message, code, std::nullopt};
  }
  if (status != "0" && status != "1" && status != "2") co_return shape_error(ep, "no envelope status", Outcome::in_doubt);

  BulkTimelogResult out;
  out.items.resize(items.size());
  std::vector<bool> failed(items.size(), false);
  if (have_logs) {
    for (element el : error_logs) {
      object o;
      if (el.get_object().get(o) != simdjson::SUCCESS) continue;
      const std::string user = field(o, "user"), date = field(o, "date"), job = field(o, "jobId"),
                        hours = field(o, "hours");
      // Match the error to the first unmatched item with the same user,
      // date and job (and hours when given).
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (failed[i] || items[i].user != user || items[i].date != date || items[i].job_id != job) continue;
        if (!hours.empty() && !items[i].hours.empty() && items[i].hours != hours) continue;
        failed[i] = true;
        auto& r = out.items[i];
        r.kind = TimelogItemResult::Kind::failed;
        r.error_code = field(o, "errorCode");
        r.message = field(o, "message");
        r.outcome = classify_people_error(r.error_code, r.message);
        break;
      }
    }
  }
  std::vector<std::string> added, edited;
  simdjson::dom::array ids;
  if (have_result && result["addedTimelogIds"].get_array().get(ids) == simdjson::SUCCESS)
    for (element id : ids) added.push_back(text(id));
  if (have_result && result["editedTimelogIds"].get_array().get(ids) == simdjson::SUCCESS)
    for (element id : ids) edited.push_back(text(id));

  std::size_t next_added = 0;
  std::size_t unmatched_errors = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (failed[i]) continue;
    auto& r = out.items[i];
    if (!items[i].timelog_id.empty() &&
        std::find(edited.begin(), edited.end(), items[i].timelog_id) != edited.end()) {
      r.kind = TimelogItemResult::Kind::edited;
      r.timelog_id = items[i].timelog_id;
    } else if (items[i].timelog_id.empty() && next_added < added.size() && !added[next_added].empty()) {
      r.kind = TimelogItemResult::Kind::added;
      r.timelog_id = added[next_added++];
      out.matched_by_order = true;
    } else {
      // An added id that is not a string or a number ({} or null) confirms
      // nothing but keeps its place (found by fuzz/people_client.cpp: the
      // item was "added" with an empty People id).
      if (items[i].timelog_id.empty() && next_added < added.size()) ++next_added;
      // Neither confirmed nor reported failed: we cannot tell what happened.
      r.kind = TimelogItemResult::Kind::failed;
      r.outcome = Outcome::in_doubt;
      r.message = "not confirmed by the reply";
      ++unmatched_errors;
    }
  }
  (void)unmatched_errors;
  co_return out;
}

boost::asio::awaitable<Expected<Page<PeopleTimelog>>> PeopleClient::get_timelogs(const TimelogQuery& q) {
  std::vector<std::pair<std::string, std::string>> p{{"user", q.user}};
  add_if(p, "jobId", q.job_id);
  add_if(p, "fromDate", q.from_date);
  add_if(p, "toDate", q.to_date);
  p.emplace_back("dateFormat", "yyyy-MM-dd");
  p.emplace_back("sIndex", std::to_string(q.s_index));
  p.emplace_back("limit", std::to_string(q.limit));
  Request req = make("gettimelogs", "/people/api/timetracker/gettimelogs", Method::get, p);
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  const Envelope& e = std::get<Envelope>(env);
  Page<PeopleTimelog> page;
  page.more = e.next_available;
  if (e.result_json.empty()) co_return no_result("people/gettimelogs");
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  if (parser.parse(e.result_json).get_array().get(arr) != simdjson::SUCCESS)
    co_return shape_error("people/gettimelogs", "result is not a list");
  for (element el : arr) {
    object o;
    if (el.get_object().get(o) != simdjson::SUCCESS) co_return shape_error("people/gettimelogs", "time log is not an object");
    PeopleTimelog t;
    t.id = field(o, "timelogId");
    t.user = field(o, "employeeMailId");
    if (t.user.empty()) t.user = field(o, "user");
    t.job_id = field(o, "jobId");
    t.date = field(o, "workDate");
    if (t.date.empty()) t.date = field(o, "date");
    t.hours = field(o, "hours");
    t.billable_status = field(o, "billingStatus");
    if (t.billable_status.empty()) t.billable_status = field(o, "billableStatus");
    t.work_item = field(o, "workItem");
    t.description = field(o, "description");
    if (t.id.empty()) co_return shape_error("people/gettimelogs", "time log without timelogId");
    page.items.push_back(std::move(t));
  }
  co_return page;
}

boost::asio::awaitable<Expected<std::vector<std::string>>> PeopleClient::delete_timelogs(
    const std::vector<std::string>& ids) {
  if (ids.empty() || ids.size() > kMaxTimelogDeletes)
    co_return permanent_error("people/deletetimelog: 1 to 1000 ids per call");
  Request req = make("deletetimelog", "/people/api/timetracker/deletetimelog", Method::post, {{"timeLogId", join(ids, ',')}});
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  std::vector<std::string> deleted;
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  if (parser.parse(std::get<Envelope>(env).result_json).get_array().get(arr) == simdjson::SUCCESS) {
    for (element el : arr) {
      object o;
      if (el.get_object().get(o) == simdjson::SUCCESS) deleted.push_back(field(o, "timeLogId"));
    }
  }
  co_return deleted;
}

boost::asio::awaitable<Expected<std::map<std::string, std::string>>> PeopleClient::record_ids_by_reference(
    const std::string& service, const std::string& entity, const std::vector<std::string>& reference_ids) {
  const std::string ep = "people/getRecordIdsByReferenceIds";
  if (reference_ids.empty() || reference_ids.size() > kMaxReferenceIds)
    co_return permanent_error(ep + ": 1 to 200 reference ids per call");
  Request req = make("getRecordIdsByReferenceIds", "/people/api/timetracker/getRecordIdsByReferenceIds",
                                    Method::get,
                                    {{"service", service}, {"entity", entity}, {"referenceId", join(reference_ids, ',')}});
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  std::map<std::string, std::string> out;
  const std::string& rj = std::get<Envelope>(env).result_json;
  if (rj.empty()) co_return out;
  simdjson::dom::parser parser;
  object o;
  if (parser.parse(rj).get_object().get(o) != simdjson::SUCCESS) co_return shape_error(ep, "result is not a map");
  for (auto [key, value] : o) {
    const std::string id = text(value);
    if (!id.empty()) out.emplace(std::string(key), id);
  }
  co_return out;
}

}  // namespace peoplesync::connectors
