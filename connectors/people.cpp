#include "connectors/people.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <cctype>
#include <cstdio>

#include "common/text.hpp"
#include "common/json.hpp"
#include "common/timefmt.hpp"
#include "connectors/scopes.hpp"

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

// People says "no records" in two ways besides an empty list (C2): status 0
// without a "result" key, and the forms API's code 7024. Both are an empty
// page. (A reconcile that reads such a page finds nothing: the intent is
// dropped and the record read again, which is right when People holds
// nothing; a server that drops "result" from a full page is not one we can
// guard against by shape.)
constexpr std::string_view kNoRecordsCode = "7024";

// Built outside coroutine bodies: g++ 12 miscompiles aggregate
// initialisation from string literals inside co_return.
CallError permanent_error(std::string message) {
  return CallError{Outcome::permanent, std::move(message), "", std::nullopt};
}

std::string lower(std::string_view s) { return ascii_lower(s); }

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

// People answers authorisation failures in its own envelope (C2): 7202 or
// 7213 for a token it no longer takes (refresh once and repeat), 7218 for a
// token without the scope. Only bodies that mention one of them are parsed.
AuthSignal people_auth_check(const Response& res) {
  const std::string_view b = res.body;
  if (b.find("720") == std::string_view::npos && b.find("721") == std::string_view::npos) return AuthSignal::none;
  auto env = parse_envelope(b);
  const auto* e = std::get_if<Envelope>(&env);
  if (!e || e->status != 1) return AuthSignal::none;
  for (const auto& err : e->errors) {
    if (err.code == "7218") return AuthSignal::scope_missing;
    if (err.code == "7202" || err.code == "7213") return AuthSignal::token_rejected;
  }
  return AuthSignal::none;
}

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

namespace {

// Does an errorLog's echo of one value fit what an item sent? People echoes
// items as it stored them (C2): an email in another case, the erecno or
// employee id for an email, the job's name for its id, "01:00" for "1:00",
// the date in the company format. yes: the same value; no: certainly another
// item; unknown: the echo is in a form this side cannot compare.
enum class Fit { yes, no, unknown };

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Fit fit_user(const std::string& echo, const std::string& sent) {
  if (echo.empty()) return Fit::unknown;
  if (lower(echo) == lower(sent)) return Fit::yes;
  // Two emails that differ are two people, and so are two erecnos; an
  // erecno echoed for an email or an employee id (or the reverse) cannot be
  // compared here.
  const bool e_mail = echo.find('@') != std::string::npos, s_mail = sent.find('@') != std::string::npos;
  if (e_mail && s_mail) return Fit::no;
  if (!e_mail && !s_mail && all_digits(echo) == all_digits(sent)) return Fit::no;
  return Fit::unknown;
}

Fit fit_job(const std::string& echo, const std::string& sent) {
  if (echo.empty()) return Fit::unknown;
  if (echo == sent) return Fit::yes;
  return all_digits(echo) ? Fit::no : Fit::unknown;  // a name echoed for the id
}

Fit fit_date(const std::string& echo, const std::string& sent, const std::string& company_format) {
  if (echo.empty()) return Fit::unknown;
  if (echo == sent) return Fit::yes;
  auto d = parse_date_pattern(echo, "yyyy-MM-dd");
  if (!d) d = parse_date_pattern(echo, company_format);
  if (!d) return Fit::unknown;
  return *d == sent ? Fit::yes : Fit::no;
}


Fit fit_hours(const std::string& echo, const std::string& sent) {
  if (echo.empty() || sent.empty()) return Fit::unknown;
  const int a = minutes_of(echo), b = minutes_of(sent);
  if (a < 0 || b < 0) return Fit::unknown;
  return a == b ? Fit::yes : Fit::no;
}

bool may_be(const EchoedError& e, const TimelogInput& t, const std::string& company_format) {
  return fit_user(e.user, t.user) != Fit::no && fit_job(e.job_id, t.job_id) != Fit::no &&
         fit_date(e.date, t.date, company_format) != Fit::no && fit_hours(e.hours, t.hours) != Fit::no;
}

}  // namespace

BulkTimelogResult match_bulk_result(const std::vector<TimelogInput>& items, const std::vector<EchoedError>& errors,
                                    const std::vector<std::string>& added, const std::vector<std::string>& edited,
                                    const std::string& company_format) {
  BulkTimelogResult out;
  out.items.resize(items.size());
  std::vector<bool> failed(items.size(), false);
  // Claim errors that fit exactly one unclaimed item, until nothing changes:
  // the order of the errorLogs must not decide which item an error is for.
  std::vector<bool> error_done(errors.size(), false);
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t e = 0; e < errors.size(); ++e) {
      if (error_done[e]) continue;
      std::size_t hits = 0, which = 0;
      for (std::size_t i = 0; i < items.size(); ++i)
        if (!failed[i] && may_be(errors[e], items[i], company_format)) ++hits, which = i;
      if (hits != 1) continue;
      failed[which] = error_done[e] = progress = true;
      auto& r = out.items[which];
      r.kind = TimelogItemResult::Kind::failed;
      r.error_code = errors[e].code;
      r.message = errors[e].message;
      r.outcome = classify_people_error(r.error_code, r.message);
    }
  }
  // Errors that each fit several items (two refused items of one date and
  // length, echoed with an erecno and a job name) cannot be claimed one by
  // one. But when nothing was added or edited and as many errors are left as
  // items, every item left failed for sure; only which error is whose is
  // unknown. All the same error: it is each one's. Different ones: each item
  // gets all of them as its reason, and is permanent only if all of them are
  // (else it waits and is sent again: nothing of it is in People). Without
  // this, such a batch stayed in doubt however often it was read back and
  // sent again, and the stream stopped.
  {
    std::vector<std::size_t> left_items, left_errors;
    for (std::size_t i = 0; i < items.size(); ++i)
      if (!failed[i]) left_items.push_back(i);
    for (std::size_t e = 0; e < errors.size(); ++e)
      if (!error_done[e]) left_errors.push_back(e);
    const auto fits_some_error = [&](std::size_t i) {
      return std::any_of(left_errors.begin(), left_errors.end(),
                         [&](std::size_t e) { return may_be(errors[e], items[i], company_format); });
    };
    if (!left_errors.empty() && added.empty() && edited.empty() && left_errors.size() == left_items.size() &&
        std::all_of(left_items.begin(), left_items.end(), fits_some_error)) {
      std::set<std::pair<std::string, std::string>> distinct;
      bool all_permanent = true;
      for (std::size_t e : left_errors) {
        distinct.insert({errors[e].code, errors[e].message});
        all_permanent &= classify_people_error(errors[e].code, errors[e].message) == Outcome::permanent;
      }
      std::string code, message;
      for (const auto& [c, m] : distinct) {
        code += (code.empty() ? "" : "|") + c;
        message += (message.empty() ? "" : "; or ") + (c.empty() ? m : c + " " + m);
      }
      if (distinct.size() > 1) {
        message = "refused with one of: " + message;
      } else {
        code = distinct.begin()->first;
        message = distinct.begin()->second;
      }
      for (std::size_t i : left_items) {
        failed[i] = true;
        auto& r = out.items[i];
        r.kind = TimelogItemResult::Kind::failed;
        r.error_code = code;
        r.message = message;
        r.outcome = distinct.size() == 1 ? classify_people_error(code, message)
                    : all_permanent      ? Outcome::permanent
                                         : Outcome::retry;
      }
      for (std::size_t e : left_errors) error_done[e] = true;
    }
  }
  const bool errors_exact = std::all_of(error_done.begin(), error_done.end(), [](bool b) { return b; });
  std::vector<std::size_t> adds;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (failed[i]) continue;
    auto& r = out.items[i];
    if (!items[i].timelog_id.empty()) {
      if (std::find(edited.begin(), edited.end(), items[i].timelog_id) != edited.end()) {
        r.kind = TimelogItemResult::Kind::edited;
        r.timelog_id = items[i].timelog_id;
      } else {
        r.outcome = Outcome::in_doubt;
        r.message = "the edit is neither confirmed nor refused by the reply";
      }
      continue;
    }
    adds.push_back(i);
  }
  // Added ids go to items by position only when every other item is
  // accounted for exactly: each error matched to one item, one id per add.
  // Anything less and those adds are in doubt: People is read back
  // (gettimelogs) before anything is sent again.
  const bool by_position = errors_exact && adds.size() == added.size();
  for (std::size_t k = 0; k < adds.size(); ++k) {
    auto& r = out.items[adds[k]];
    if (by_position && !added[k].empty()) {
      r.kind = TimelogItemResult::Kind::added;
      r.timelog_id = added[k];
      continue;
    }
    r.kind = TimelogItemResult::Kind::failed;
    r.outcome = Outcome::in_doubt;
    r.message = by_position ? "the added id is not a string or a number"
                            : "the reply's added ids and errors cannot be matched to the items exactly";
  }
  out.matched_by_order = by_position && adds.size() > 1;
  return out;
}

PeopleClient::PeopleClient(ZohoApi& api, std::string people_url, std::string date_format)
    : api_(api), people_url_(std::move(people_url)), date_format_(std::move(date_format)) {}

Request PeopleClient::make(std::string_view endpoint, std::string_view path, Method m,
                           const std::vector<std::pair<std::string, std::string>>& params) const {
  Request r;
  r.method = m;
  r.base_url = people_url_;
  r.endpoint = "people/" + std::string(endpoint);
  r.scope = std::string(scopes::people(endpoint));
  r.auth_check = &people_auth_check;
  // Reads, and writes that set a state (a status, a job's fields, a
  // deletion): sending one twice changes nothing more, so ZohoApi retries
  // them on a 5xx. Adds (insertRecord, addjob, addupdatetimelogs) are never
  // resent blindly: they are in doubt and read back.
  static constexpr std::string_view kResendable[] = {"modifyjobstatus", "updateRecord", "modifyjob", "deletejob",
                                                     "deletetimelog"};
  r.idempotent = m == Method::get ||
                 std::find(std::begin(kResendable), std::end(kResendable), endpoint) != std::end(kResendable);
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
  const bool write = r.method != Method::get;
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
  // Only a read's "No records found" is an empty page: a write (updateRecord,
  // modifyjobstatus, deletejob, ...) answered 7024 was refused, and taking it
  // for success would drop the record silently.
  if (!write && e.status == 1 && !e.errors.empty() && e.errors.front().code == kNoRecordsCode) {
    e.status = 0;  // "No records found": an empty page
    e.errors.clear();
    e.result_json.clear();
  }
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
  if (e.result_json.empty()) co_return page;  // no records
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
  // Dates come back in this format rather than the company's (documented parameter).
  if (q.date_format) p.emplace_back("dateFormat", *q.date_format);
  p.emplace_back("sIndex", std::to_string(q.s_index));
  p.emplace_back("limit", std::to_string(q.limit));
  Request req = make("getjobs", "/people/api/timetracker/getjobs", Method::get, p);
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  const Envelope& e = std::get<Envelope>(env);
  Page<PeopleJob> page;
  page.more = e.next_available;
  if (e.result_json.empty()) co_return page;  // no records
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

// The forms API's inputData for P_TimesheetJob, with only the form's
// documented labels (C: anything else is refused with 7013): dates in the
// organisation's company date format (the forms API has no dateFormat
// parameter), assignees as erecnos with their hours and rates in the same
// order. There is no description label: JobInput::description goes only to
// the deprecated addjob / modifyjob. ratePerHour is each assignee's rate
// where the assignee has none.
Expected<std::string> job_input_data(const JobInput& j, const std::string& date_format, const std::string& endpoint) {
  json::Writer w;
  w.begin_object();
  if (!j.name.empty()) w.field("Job_Name", j.name);
  if (!j.project_id.empty()) w.field("Project", j.project_id);
  for (auto [label, ymd] : {std::pair{"StartDate", &j.from_date}, std::pair{"EndDate", &j.to_date}}) {
    if (ymd->empty()) continue;
    auto d = format_date_pattern(*ymd, date_format);
    if (!d) return permanent_error(endpoint + ": " + label + " '" + *ymd + "' is not a yyyy-MM-dd date");
    w.field(label, *d);
  }
  if (!j.assignees.empty()) {
    std::vector<std::string> who, hours, rates;
    bool any_hours = false, any_rate = false;
    for (const auto& a : j.assignees) {
      who.push_back(a.assigned_to);
      hours.push_back(a.hours);
      rates.push_back(a.rate.empty() ? j.rate_per_hour : a.rate);
      any_hours |= !hours.back().empty();
      any_rate |= !rates.back().empty();
    }
    w.field("Assignees", join(who, ';'));
    if (any_hours) w.field("AssigneeHours", join(hours, ';'));
    if (any_rate) w.field("AssigneeRate", join(rates, ';'));
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
  auto data = job_input_data(job, date_format_, "people/insertRecord");
  if (auto* e = std::get_if<CallError>(&data)) co_return *e;
  Request req = make("insertRecord", "/people/api/forms/json/P_TimesheetJob/insertRecord", Method::post,
                     {{"inputData", std::get<std::string>(data)}});
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  std::string id = id_from_result(std::get<Envelope>(env).result_json, "pkId");
  if (id.empty()) co_return shape_error("people/insertRecord", "no pkId in the result", Outcome::in_doubt);
  co_return id;
}

boost::asio::awaitable<Expected<std::string>> PeopleClient::update_job_record(const std::string& record_id,
                                                                             const JobInput& job) {
  auto data = job_input_data(job, date_format_, "people/updateRecord");
  if (auto* e = std::get_if<CallError>(&data)) co_return *e;
  Request req = make("updateRecord", "/people/api/forms/json/P_TimesheetJob/updateRecord", Method::post,
                     {{"recordId", record_id}, {"inputData", std::get<std::string>(data)}});
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

namespace {

// The first of `keys` present in `o`, as text.
std::string first_field(object o, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    std::string v = field(o, k);
    if (!v.empty()) return v;
  }
  return "";
}

// The employee view answers a bare JSON array of rows keyed by the view's
// column labels (C: the vendor's fetch-record page; C2: real clients), the
// erecno in "recordId".
std::optional<PeopleEmployee> parse_employee_rows(simdjson::dom::array rows, const std::string& who) {
  const bool by_email = who.find('@') != std::string::npos;
  for (element el : rows) {
    object o;
    if (el.get_object().get(o) != simdjson::SUCCESS) continue;
    PeopleEmployee e;
    e.erecno = first_field(o, {"recordId", "Zoho_ID", "erecno", "EmployeeRecordId"});
    // The email column's label depends on the view ("Email ID", "Email
    // address", "EmailID"): any column whose label says email and holds it.
    for (auto [key, value] : o)
      if (lower(key).find("email") != std::string::npos && (e.email.empty() || lower(text(value)) == lower(who)))
        e.email = text(value);
    e.employee_id = first_field(o, {"EmployeeID", "Employee ID", "Employee_ID", "EMPLOYEEID"});
    if (e.erecno.empty()) continue;
    // The search may be a "contains" match: take only the exact person.
    if (by_email ? lower(e.email) == lower(who) : e.employee_id == who) return e;
  }
  return std::nullopt;
}

}  // namespace

boost::asio::awaitable<Expected<bool>> PeopleClient::probe_write(const std::string& endpoint) {
  Request req;
  if (endpoint == "insertRecord")
    req = make(endpoint, "/people/api/forms/json/P_TimesheetJob/insertRecord", Method::post, {{"inputData", "{}"}});
  else if (endpoint == "updateRecord")
    req = make(endpoint, "/people/api/forms/json/P_TimesheetJob/updateRecord", Method::post,
               {{"recordId", "0"}, {"inputData", "{}"}});
  else if (endpoint == "addupdatetimelogs")
    req = make(endpoint, "/people/api/timetracker/addupdatetimelogs", Method::post, {{"timelogs", "[]"}});
  else if (endpoint == "modifyjobstatus")
    req = make(endpoint, "/people/api/timetracker/modifyjobstatus", Method::post,
               {{"jobId", "0"}, {"jobStatus", "In-Progress"}});
  else if (endpoint == "deletejob")
    req = make(endpoint, "/people/api/timetracker/deletejob", Method::post, {{"jobId", "0"}});
  else if (endpoint == "deletetimelog")
    req = make(endpoint, "/people/api/timetracker/deletetimelog", Method::post, {{"timeLogId", "0"}});
  else
    co_return permanent_error("people/" + endpoint + ": no probe for this endpoint");
  req.idempotent = true;  // nothing is written: a 5xx may be retried
  auto env = co_await exchange(std::move(req));
  if (auto* e = std::get_if<CallError>(&env)) {
    if (e->outcome == Outcome::permanent) co_return true;  // refused for its input: the scope is there
    co_return *e;
  }
  co_return true;
}

boost::asio::awaitable<Expected<std::optional<PeopleEmployee>>> PeopleClient::find_employee(const std::string& who) {
  const std::string ep = "people/records";
  const bool by_email = who.find('@') != std::string::npos;
  Request req = make("records", "/people/api/forms/P_EmployeeView/records", Method::get,
                     {{"searchColumn", by_email ? "EMPLOYEEMAILALIAS" : "EMPLOYEEID"}, {"searchValue", who}});
  ApiResult res = co_await api_.call(std::move(req));
  if (auto* e = std::get_if<CallError>(&res)) co_return *e;
  const std::string& body = std::get<Response>(res).body;
  // The view answers a bare list of rows; "no records" and errors come in
  // People's envelope.
  simdjson::dom::parser parser;
  simdjson::dom::array rows;
  if (!body.empty() && parser.parse(body.data(), body.size()).get_array().get(rows) == simdjson::SUCCESS)
    co_return parse_employee_rows(rows, who);
  auto env = parse_envelope(body);
  if (auto* problem = std::get_if<std::string>(&env)) co_return shape_error(ep, *problem);
  Envelope& e = std::get<Envelope>(env);
  if (e.status == 1) {
    const PeopleErrorItem first = e.errors.empty() ? PeopleErrorItem{"", e.message} : e.errors.front();
    if (first.code == kNoRecordsCode) co_return std::optional<PeopleEmployee>{};
    const Outcome o = classify_people_error(first.code, first.message);
    if (o == Outcome::locked) api_.gate().limited(ep, LimitSignal::locked, std::nullopt);
    co_return CallError{o, ep + ": error " + first.code + ": " + first.message, first.code, std::nullopt};
  }
  if (e.result_json.empty()) co_return std::optional<PeopleEmployee>{};
  simdjson::dom::parser inner;
  if (inner.parse(e.result_json).get_array().get(rows) != simdjson::SUCCESS)
    co_return shape_error(ep, "result is not a list of employee records");
  co_return parse_employee_rows(rows, who);
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

  std::vector<EchoedError> echoed;
  if (have_logs) {
    for (element el : error_logs) {
      object o;
      if (el.get_object().get(o) != simdjson::SUCCESS) continue;
      echoed.push_back({field(o, "user"), field(o, "date"), field(o, "jobId"), field(o, "hours"),
                        field(o, "errorCode"), field(o, "message")});
    }
  }
  std::vector<std::string> added, edited;
  simdjson::dom::array ids;
  if (have_result && result["addedTimelogIds"].get_array().get(ids) == simdjson::SUCCESS)
    for (element id : ids) added.push_back(text(id));
  if (have_result && result["editedTimelogIds"].get_array().get(ids) == simdjson::SUCCESS)
    for (element id : ids) edited.push_back(text(id));
  co_return match_bulk_result(items, echoed, added, edited, date_format_);
}

boost::asio::awaitable<Expected<Page<PeopleTimelog>>> PeopleClient::get_timelogs(const TimelogQuery& q) {
  std::vector<std::pair<std::string, std::string>> p{{"user", q.user}};
  add_if(p, "jobId", q.job_id);
  add_if(p, "fromDate", q.from_date);
  add_if(p, "toDate", q.to_date);
  if (q.date_format) p.emplace_back("dateFormat", *q.date_format);
  p.emplace_back("sIndex", std::to_string(q.s_index));
  p.emplace_back("limit", std::to_string(q.limit));
  Request req = make("gettimelogs", "/people/api/timetracker/gettimelogs", Method::get, p);
  auto env = co_await exchange(std::move(req));
  if (auto* err = std::get_if<CallError>(&env)) co_return *err;
  const Envelope& e = std::get<Envelope>(env);
  Page<PeopleTimelog> page;
  page.more = e.next_available;
  if (e.result_json.empty()) co_return page;  // no records
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
    t.erecno = field(o, "erecno");
    t.job_name = field(o, "jobName");
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

bool project_completed(const PeopleProject& p) { return iequals(p.status, kStatusCompleted); }

}  // namespace peoplesync::connectors
