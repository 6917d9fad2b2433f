// The sandbox's admin API (/_admin/..., loopback only, no auth) and seeding.
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "common/json.hpp"
#include "common/timefmt.hpp"
#include "sandbox/datefmt.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/util.hpp"

namespace peoplesync::sandbox {
namespace {

bool loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0 ||
         address.empty();  // in-process calls (tests) have no socket
}

std::string str(simdjson::dom::object o, const char* key) {
  std::string_view v;
  if (o[key].get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  std::int64_t i = 0;
  if (o[key].get_int64().get(i) == simdjson::SUCCESS) return std::to_string(i);
  return "";
}

std::map<std::string, std::string> refs_of(simdjson::dom::object o) {
  std::map<std::string, std::string> out;
  simdjson::dom::object r;
  if (o["refs"].get_object().get(r) == simdjson::SUCCESS)
    for (auto [k, v] : r) {
      std::string_view sv;
      if (v.get_string().get(sv) == simdjson::SUCCESS) out[std::string(k)] = std::string(sv);
    }
  return out;
}

// The Behaviour switches a JSON seed may set (sandbox.hpp documents each).
std::optional<std::string> seed_behaviour(simdjson::dom::object root, Behaviour& b) {
  auto text = [&](const char* key, std::string& out, std::initializer_list<const char*> allowed) -> std::optional<std::string> {
    std::string_view v;
    if (root[key].get_string().get(v) != simdjson::SUCCESS) return std::nullopt;
    if (allowed.size() && std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return v == a; }))
      return std::string(key) + ": '" + std::string(v) + "' is not one of the allowed values";
    out = std::string(v);
    return std::nullopt;
  };
  std::string format = b.people_date_format;
  if (auto err = text("date_format", format, {})) return err;
  if (!datefmt::valid_pattern(format))
    return "date_format: '" + format + "' is not a date pattern (dd, MM, MMM, yyyy with - / . or space)";
  b.people_date_format = format;
  if (auto err = text("timelog_echo", b.timelog_echo, {"normalised", "verbatim"})) return err;
  if (auto err = text("people_empty_list", b.people_empty_list, {"no_result", "empty_array"})) return err;
  if (auto err = text("employee_no_hit", b.employee_no_hit, {"error_7024", "empty_array"})) return err;
  if (auto err = text("employee_email_label", b.employee_email_label, {})) return err;
  bool work_item = false;
  if (root["timelog_work_item"].get_bool().get(work_item) == simdjson::SUCCESS) b.timelog_work_item = work_item;
  return std::nullopt;
}

std::string capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

std::optional<std::string> Sandbox::add_employee(Employee e) {
  if (e.email.find('@') == std::string::npos) return "'" + e.email + "' is not an email";
  if (employee_of(e.email)) return "'" + e.email + "' is already an employee";
  if (!e.erecno.empty() && employee_of(e.erecno)) return "erecno " + e.erecno + " is already taken";
  if (!e.employee_id.empty() && employee_of(e.employee_id)) return "employee id " + e.employee_id + " is already taken";
  if (e.erecno.empty()) e.erecno = next_id();
  for (std::size_t n = employees_.size() + 1; e.employee_id.empty(); ++n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "EMP%03zu", n);
    if (!employee_of(buf)) e.employee_id = buf;
  }
  if (e.first_name.empty()) {
    // "ann.lee@example.com" -> Ann Lee
    const std::string local = e.email.substr(0, e.email.find('@'));
    const auto dot = local.find('.');
    e.first_name = capitalised(local.substr(0, dot));
    if (e.last_name.empty() && dot != std::string::npos) e.last_name = capitalised(local.substr(dot + 1));
  }
  employees_.push_back(std::move(e));
  return std::nullopt;
}

const Sandbox::Employee* Sandbox::seed_employee(const std::string& who) {
  if (const Employee* e = employee_of(who)) return e;
  if (who.find('@') == std::string::npos || add_employee({"", "", who, "", ""})) return nullptr;
  return &employees_.back();
}

void Sandbox::seed_demo(int n) {
  // A realistic organisation, deterministic for a given seed: users, client
  // accounts, projects synced from Zoho Projects (each with its reference id),
  // CRM deals pointing at those projects, and calls on the deals.
  modules_.clear();
  deleted_.clear();
  clients_.clear();
  projects_.clear();
  jobs_.clear();
  timelogs_.clear();
  employees_.clear();
  const SysTime now = crm_now();
  const std::vector<std::string> users{"ann.lee@example.com", "bo.chen@example.com", "cara.diaz@example.com",
                                       "dev.patel@example.com", "eli.moss@example.com"};
  const int n_accounts = std::max(1, n / 50);
  const int n_projects = std::max(1, n / 20);
  const int n_deals = std::max(1, n / 5);
  for (int i = 0; i < n_accounts; ++i) {
    const std::string id = next_id();
    clients_.push_back({id, "Account " + std::to_string(i + 1), {{"Zoho CRM", std::to_string(4150868000000100000ULL + i)}}});
    CrmRecord acc{std::to_string(4150868000000100000ULL + i), now - std::chrono::hours(24 * 90), now - std::chrono::hours(24 * 90), {}};
    acc.fields["Account_Name"] = json::quote("Account " + std::to_string(i + 1));
    modules_["Accounts"].push_back(std::move(acc));
  }
  for (int i = 0; i < n_projects; ++i) {
    // Every tenth project is completed; every seventh has not reached People yet
    // (its Zoho Projects reference is not synced, so resolution must wait).
    Project p{next_id(), "Project " + std::to_string(i + 1), clients_[static_cast<std::size_t>(i % n_accounts)].id,
              i % 10 == 9 ? "Completed" : "In-Progress", {{"Zoho Projects", std::to_string(112674000000221000ULL + i)}}};
    if (i % 7 != 6) projects_.push_back(std::move(p));
  }
  const std::vector<std::string> stages{"Closed Won", "Delivery", "Completed", "Negotiation", "Closed Won"};
  std::vector<std::string> deal_ids;
  for (int i = 0; i < n_deals; ++i) {
    const std::string id = std::to_string(4150868000002000000ULL + i);
    const std::string& owner = users[static_cast<std::size_t>(rng_() % users.size())];
    const SysTime created = now - std::chrono::hours(24 * 60) + std::chrono::minutes(i);
    CrmRecord d{id, created, created + std::chrono::minutes(5), {}};
    d.fields["Deal_Name"] = json::quote("Deal " + std::to_string(i + 1));
    d.fields["Stage"] = json::quote(stages[static_cast<std::size_t>(rng_() % stages.size())]);
    d.fields["Closing_Date"] = json::quote(format_utc_iso_seconds(now + std::chrono::hours(24 * 30)).substr(0, 10));
    d.fields["Project_Ref"] = json::quote(std::to_string(112674000000221000ULL + static_cast<std::uint64_t>(i % n_projects)));
    d.fields["Account_Name"] = "{\"name\":" + json::quote("Account " + std::to_string(i % n_accounts + 1)) +
                               ",\"id\":" + json::quote(std::to_string(4150868000000100000ULL + static_cast<std::uint64_t>(i % n_accounts))) + "}";
    d.fields["Owner"] = "{\"name\":" + json::quote(owner.substr(0, owner.find('@'))) + ",\"id\":\"4150868000000374001\",\"email\":" +
                        json::quote(owner) + "}";
    d.fields["Amount"] = std::to_string(1000 + (rng_() % 50) * 100);
    modules_["Deals"].push_back(std::move(d));
    deal_ids.push_back(id);
  }
  for (int i = 0; i < n; ++i) {
    const std::string id = std::to_string(4150868000003000000ULL + i);
    const std::string& owner = users[static_cast<std::size_t>(rng_() % users.size())];
    const std::size_t deal = static_cast<std::size_t>(rng_() % deal_ids.size());
    const SysTime start = now - std::chrono::hours(24 * 28) + std::chrono::minutes(static_cast<int>(rng_() % (27 * 24 * 60)));
    // Several calls share one Modified_Time second, as bulk edits do in CRM.
    const SysTime modified = now - std::chrono::hours(24 * 20) + std::chrono::seconds(i / 3);
    CrmRecord c{id, modified - std::chrono::minutes(1), modified, {}};
    c.fields["Subject"] = json::quote("Call " + std::to_string(i + 1));
    std::string st = format_utc_iso_seconds(start);
    st.pop_back();
    c.fields["Call_Start_Time"] = json::quote(st + "+00:00");
    c.fields["Call_Duration_in_seconds"] = std::to_string(300 + (rng_() % 24) * 300);
    c.fields["Call_Type"] = json::quote("Outbound");
    c.fields["Owner"] = "{\"name\":" + json::quote(owner.substr(0, owner.find('@'))) + ",\"id\":\"4150868000000374001\",\"email\":" +
                        json::quote(owner) + "}";
    c.fields["What_Id"] = "{\"name\":" + json::quote("Deal " + std::to_string(deal + 1)) + ",\"id\":" + json::quote(deal_ids[deal]) + "}";
    c.fields["$se_module"] = json::quote("Deals");
    modules_["Calls"].push_back(std::move(c));
  }
  // One People employee per demo user (made last: the other ids stay as they were).
  for (const auto& u : users) seed_employee(u);
  seed_demo_fields();  // CRM field definitions of Deals, Calls, Accounts (auth.cpp)
}

std::optional<std::string> Sandbox::seed_json(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(text).get_object().get(root) != simdjson::SUCCESS) return "seed file is not a JSON object";
  modules_.clear();
  deleted_.clear();
  clients_.clear();
  projects_.clear();
  jobs_.clear();
  timelogs_.clear();
  employees_.clear();
  if (auto err = seed_behaviour(root, b_)) return err;
  const SysTime now = clock_.now();
  simdjson::dom::array arr;
  if (root["employees"].get_array().get(arr) == simdjson::SUCCESS)
    for (auto e : arr) {
      simdjson::dom::object o;
      if (e.get_object().get(o) != simdjson::SUCCESS) return "employees: each entry must be an object";
      if (auto err = add_employee({str(o, "erecno"), str(o, "employee_id"), str(o, "email"), str(o, "first_name"),
                                   str(o, "last_name")}))
        return "employees: " + *err;
    }
  if (root["users"].get_array().get(arr) == simdjson::SUCCESS)
    for (auto e : arr) {
      std::string_view u;
      if (e.get_string().get(u) == simdjson::SUCCESS && !seed_employee(std::string(u)))
        return "users: '" + std::string(u) + "' is not an email";
    }
  if (root["clients"].get_array().get(arr) == simdjson::SUCCESS)
    for (auto e : arr) {
      simdjson::dom::object o;
      if (e.get_object().get(o) != simdjson::SUCCESS) return "clients: each entry must be an object";
      clients_.push_back({str(o, "id").empty() ? next_id() : str(o, "id"), str(o, "name"), refs_of(o)});
    }
  if (root["projects"].get_array().get(arr) == simdjson::SUCCESS)
    for (auto e : arr) {
      simdjson::dom::object o;
      if (e.get_object().get(o) != simdjson::SUCCESS) return "projects: each entry must be an object";
      const std::string status = str(o, "status");
      projects_.push_back({str(o, "id").empty() ? next_id() : str(o, "id"), str(o, "name"), str(o, "client_id"),
                           status.empty() ? "In-Progress" : status, refs_of(o)});
    }
  if (root["jobs"].get_array().get(arr) == simdjson::SUCCESS)
    for (auto e : arr) {
      simdjson::dom::object o;
      if (e.get_object().get(o) != simdjson::SUCCESS) return "jobs: each entry must be an object";
      Job j;
      j.id = str(o, "id").empty() ? next_id() : str(o, "id");
      j.name = str(o, "name");
      j.project_id = str(o, "project_id");
      j.status = str(o, "status").empty() ? "In-Progress" : str(o, "status");
      j.from_date = str(o, "from_date");
      j.to_date = str(o, "to_date");
      j.description = str(o, "description");
      if ((!j.from_date.empty() && !parse_iso8601(j.from_date)) || (!j.to_date.empty() && !parse_iso8601(j.to_date)))
        return "jobs: from_date and to_date are yyyy-MM-dd";
      j.refs = refs_of(o);
      simdjson::dom::array as;
      if (o["assignees"].get_array().get(as) == simdjson::SUCCESS)
        for (auto a : as) {
          std::string_view who;
          if (a.get_string().get(who) != simdjson::SUCCESS) continue;
          const Employee* emp = seed_employee(std::string(who));
          if (!emp) return "jobs: assignee '" + std::string(who) + "' is no employee's email, erecno or employee id";
          j.assignees.push_back({emp->erecno, "", ""});
        }
      jobs_.push_back(std::move(j));
    }
  if (root["timelogs"].get_array().get(arr) == simdjson::SUCCESS)
    for (auto e : arr) {
      simdjson::dom::object o;
      if (e.get_object().get(o) != simdjson::SUCCESS) return "timelogs: each entry must be an object";
      const Employee* who = seed_employee(str(o, "user"));
      if (!who) return "timelogs: user '" + str(o, "user") + "' is no employee's email, erecno or employee id";
      timelogs_.push_back({str(o, "id").empty() ? next_id() : str(o, "id"), who->erecno, str(o, "job_id"),
                           str(o, "date"), str(o, "hours"), "billable", str(o, "work_item"), ""});
    }
  simdjson::dom::object crm;
  if (root["crm"].get_object().get(crm) == simdjson::SUCCESS)
    for (auto [module, records] : crm) {
      simdjson::dom::array list;
      if (records.get_array().get(list) != simdjson::SUCCESS) return "crm." + std::string(module) + " must be a list";
      for (auto e : list) {
        simdjson::dom::object o;
        if (e.get_object().get(o) != simdjson::SUCCESS) return "crm records must be objects";
        CrmRecord rec{str(o, "id").empty() ? next_id() : str(o, "id"), now, now, {}};
        if (auto t = parse_iso8601(str(o, "Created_Time"))) rec.created = *t;
        if (auto t = parse_iso8601(str(o, "Modified_Time"))) rec.modified = *t;
        for (auto [k, v] : o)
          if (k != "id" && k != "Created_Time" && k != "Modified_Time") rec.fields[std::string(k)] = simdjson::minify(v);
        modules_[std::string(module)].push_back(std::move(rec));
      }
    }
  return seed_meta_json(text);  // "scopes", "grant_codes", "fields" (auth.cpp)
}

net::HttpReply Sandbox::admin(const net::HttpRequest& r) {
  if (!loopback(r.remote_address)) return json_reply(403, R"({"error":"the admin API answers loopback clients only"})");
  const std::string path = r.path.substr(7);  // after "/_admin"
  // /scopes, /grant_code, /crm/{module}/mass_update (auth.cpp)
  if (auto reply = admin_meta(r, path)) return std::move(*reply);
  if (path == "/stats" && r.method == "GET") {
    json::Writer w;
    w.begin_object().key("endpoints").begin_object();
    for (const auto& [name, st] : stats_) {
      w.key(name).begin_object().field("calls", st.calls).field("lock_events", st.lock_events);
      w.field("locked_replies", st.locked_replies).field("locked", st.locked_until > clock_.now());
      w.key("errors").begin_object();
      for (const auto& [code, n] : st.errors) w.field(code, n);
      w.end_object().end_object();
    }
    w.end_object().key("faults").begin_object();
    for (const auto& [k, n] : faults_injected_) w.field(k, n);
    w.end_object().field("active_tokens", static_cast<std::int64_t>(tokens_.size()));
    w.field("crm_credits_used_24h", static_cast<std::int64_t>(credit_log_.size()));
    w.field("scope_mismatches", scope_mismatches_);
    w.field("now", format_utc_iso(clock_.now())).end_object();
    return json_reply(200, w.str());
  }
  if (path == "/reset" && r.method == "POST") {
    stats_.clear();
    scope_mismatches_ = 0;
    faults_injected_.clear();
    credit_log_.clear();
    faults_ = {};
    return json_reply(200, R"({"ok":true})");
  }
  if (path == "/seed" && r.method == "POST") {
    if (auto demo = r.param("demo")) {
      int n = 0;
      if (!to_int(*demo, n) || n < 1 || n > 1'000'000) return json_reply(400, R"({"error":"demo=N with 1 <= N <= 1000000"})");
      seed_demo(n);
    } else if (auto err = seed_json(r.body)) {
      return json_reply(400, "{\"error\":" + json::quote(*err) + "}");
    }
    return json_reply(200, R"({"ok":true})");
  }
  if (path == "/faults" && r.method == "POST") {
    std::string error;
    auto f = parse_faults(r.param("spec").value_or(r.body), &error);
    if (!f) return json_reply(400, "{\"error\":" + json::quote(error) + "}");
    faults_ = *f;
    return json_reply(200, R"({"ok":true})");
  }
  if (path == "/revoke" && r.method == "POST") {
    if (r.param("access_tokens").value_or("") == "all") {
      // Every access token issued so far stops working (401 INVALID_TOKEN),
      // as when Zoho drops sessions; refresh tokens keep working.
      const auto n = static_cast<std::int64_t>(tokens_.size());
      tokens_.clear();
      active_.clear();
      return json_reply(200, "{\"ok\":true,\"revoked\":" + std::to_string(n) + "}");
    }
    revoked_.insert(r.param("refresh_token").value_or(""));
    return json_reply(200, R"({"ok":true})");
  }
  if (path.rfind("/crm/", 0) == 0) {
    const std::string rest = path.substr(5);
    const auto slash = rest.find('/');
    const std::string module = rest.substr(0, slash);
    auto& records = modules_[module];
    if (r.method == "GET" && slash != std::string::npos && rest.substr(slash) == "/deleted") {
      json::Writer w;
      w.begin_array();
      for (const auto& d : deleted_[module])
        w.begin_object().field("id", d.id).field("display_name", d.display_name).field("deleted_time", format_utc_iso(d.deleted)).end_object();
      w.end_array();
      return json_reply(200, w.str());
    }
    if (r.method == "GET") {
      std::string out = "[";
      for (const auto& rec : records) out += (out.size() > 1 ? "," : "") + record_json(rec, {});
      return json_reply(200, out + "]");
    }
    if (r.method == "DELETE" && slash != std::string::npos) {
      const std::string id = rest.substr(slash + 1);
      auto it = std::find_if(records.begin(), records.end(), [&](const CrmRecord& x) { return x.id == id; });
      if (it == records.end()) return json_reply(404, R"({"error":"no such record"})");
      // display_name: the record's name field (fields hold raw JSON: a
      // string, or a lookup object with a "name").
      std::string name = id;
      for (const char* k : {"Subject", "Deal_Name", "Account_Name"}) {
        if (!it->fields.count(k)) continue;
        simdjson::dom::parser parser;
        simdjson::dom::element v;
        std::string_view text;
        if (parser.parse(it->fields[k]).get(v) == simdjson::SUCCESS &&
            (v.get_string().get(text) == simdjson::SUCCESS || v["name"].get_string().get(text) == simdjson::SUCCESS)) {
          name = std::string(text);
          break;
        }
      }
      deleted_[module].push_back({id, name, crm_now()});
      records.erase(it);
      return json_reply(200, R"({"ok":true})");
    }
    if (r.method == "POST") {
      // Upsert one record; Modified_Time becomes now, as in CRM.
      simdjson::dom::parser parser;
      simdjson::dom::object o;
      if (parser.parse(r.body).get_object().get(o) != simdjson::SUCCESS)
        return json_reply(400, R"({"error":"body must be a JSON object"})");
      std::string id = str(o, "id");
      auto it = std::find_if(records.begin(), records.end(), [&](const CrmRecord& x) { return x.id == id; });
      if (id.empty() || it == records.end()) {
        records.push_back({id.empty() ? next_id() : id, crm_now(), crm_now(), {}});
        it = records.end() - 1;
      }
      for (auto [k, v] : o)
        if (k != "id" && k != "Created_Time" && k != "Modified_Time") it->fields[std::string(k)] = simdjson::minify(v);
      it->modified = crm_now();
      return json_reply(200, record_json(*it, {}));
    }
  }
  if (path == "/people/projects" && r.method == "POST") {
    simdjson::dom::parser parser;
    simdjson::dom::object o;
    if (parser.parse(r.body).get_object().get(o) != simdjson::SUCCESS)
      return json_reply(400, R"({"error":"body must be a JSON object"})");
    Project p{str(o, "id").empty() ? next_id() : str(o, "id"), str(o, "name"), str(o, "client_id"),
              str(o, "status").empty() ? "In-Progress" : str(o, "status"), refs_of(o)};
    projects_.push_back(p);
    return json_reply(200, "{\"id\":" + json::quote(p.id) + "}");
  }
  if (path == "/people/employees" && r.method == "POST") {
    // {"email":..., "erecno"?, "employee_id"?, "first_name"?, "last_name"?}
    simdjson::dom::parser parser;
    simdjson::dom::object o;
    if (parser.parse(r.body).get_object().get(o) != simdjson::SUCCESS)
      return json_reply(400, R"({"error":"body must be a JSON object"})");
    if (auto err = add_employee({str(o, "erecno"), str(o, "employee_id"), str(o, "email"), str(o, "first_name"),
                                 str(o, "last_name")}))
      return json_reply(400, "{\"error\":" + json::quote(*err) + "}");
    const Employee& e = employees_.back();
    return json_reply(200, "{\"erecno\":" + json::quote(e.erecno) + ",\"employee_id\":" + json::quote(e.employee_id) + "}");
  }
  if (path.rfind("/people/", 0) == 0 && r.method == "GET") {
    const std::string what = path.substr(8);
    json::Writer w;
    w.begin_array();
    if (what == "clients") {
      for (const auto& c : clients_) w.begin_object().field("id", c.id).field("name", c.name).end_object();
    } else if (what == "projects") {
      for (const auto& p : projects_) {
        w.begin_object().field("id", p.id).field("name", p.name).field("client_id", p.client_id).field("status", p.status);
        w.key("refs").begin_object();
        for (const auto& [k, v] : p.refs) w.field(k, v);
        w.end_object().end_object();
      }
    } else if (what == "jobs") {
      for (const auto& j : jobs_) {
        w.begin_object().field("id", j.id).field("name", j.name).field("project_id", j.project_id).field("status", j.status);
        w.field("from_date", j.from_date).field("to_date", j.to_date).field("description", j.description);
        w.field("total_hours", total_hours(j.id)).key("assignees").begin_array();
        // "who": the assignee's email (the e2e checkers compare emails), with its erecno.
        for (const auto& a : j.assignees) {
          const std::string email = email_of(a.who);
          w.begin_object().field("who", email.empty() ? a.who : email).field("email", email).field("erecno", a.who);
          w.field("hours", a.hours).field("rate", a.rate).end_object();
        }
        w.end_array().end_object();
      }
    } else if (what == "timelogs") {
      for (const auto& t : timelogs_) {
        // "user": the employee's email (as the checkers compare), "erecno": what People stores.
        const std::string email = email_of(t.user);
        w.begin_object().field("id", t.id).field("user", email.empty() ? t.user : email).field("erecno", t.user);
        w.field("job_id", t.job_id).field("date", t.date);
        w.field("hours", t.hours).field("billable", t.billable).field("work_item", t.work_item).end_object();
      }
    } else if (what == "employees") {
      for (const auto& e : employees_) {
        w.begin_object().field("erecno", e.erecno).field("employee_id", e.employee_id).field("email", e.email);
        w.field("first_name", e.first_name).field("last_name", e.last_name).end_object();
      }
    } else {
      return json_reply(404, R"({"error":"clients, projects, jobs, timelogs or employees"})");
    }
    w.end_array();
    return json_reply(200, w.str());
  }
  return json_reply(404, R"({"error":"unknown admin path"})");
}

}  // namespace peoplesync::sandbox
