// The sandbox's OAuth scopes, People's auth-failure replies, the
// authorization_code grant, and the admin calls and seed keys that feed them.
// Evidence: shared/api/BEHAVIOUR.md ("scopes per endpoint", "People auth
// errors") and the lead's /tmp/evidence-crm.md.
#include <simdjson.h>

#include <algorithm>

#include "common/json.hpp"
#include "common/timefmt.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/util.hpp"

namespace peoplesync::sandbox {
namespace {

using Scopes = std::optional<std::set<std::string>>;

// People's envelope for an error (errors as an object, as the auth replies seen show).
net::HttpReply people_envelope_error(int status, const std::string& uri, const std::string& code,
                                     const std::string& message) {
  return json_reply(status, "{\"response\":{\"message\":\"Error\",\"uri\":" + json::quote(uri) +
                                ",\"errors\":{\"code\":" + code + ",\"message\":" + json::quote(message) +
                                "},\"status\":1}}");
}

// "/people/api/timetracker/getjobs" -> "/api/timetracker/getjobs" (People's `uri`).
std::string people_uri(const std::string& path) {
  return path.rfind("/people/", 0) == 0 ? path.substr(7) : path;
}

// The scopes that admit a People endpoint (any one suffices); empty: no check.
std::vector<std::string> people_scopes(const std::string& endpoint) {
  static const std::set<std::string> reads{"getprojects", "getjobs", "getjobdetails", "gettimelogs", "getclients",
                                           "getRecordIdsByReferenceIds"};
  const std::string tt = "ZOHOPEOPLE.timetracker.";
  if (reads.count(endpoint)) return {tt + "READ", tt + "ALL"};
  if (endpoint == "addupdatetimelogs") return {tt + "ALL", tt + "CREATE", tt + "UPDATE"};
  if (endpoint == "addjob") return {tt + "ALL", tt + "CREATE"};
  if (endpoint == "modifyjob" || endpoint == "modifyjobstatus") return {tt + "ALL", tt + "UPDATE"};
  if (endpoint == "deletejob" || endpoint == "deletetimelog") return {tt + "ALL", tt + "DELETE"};
  // C: the forms API needs the forms scopes; the time-tracker scope does not cover it.
  if (endpoint == "insertRecord") return {"ZOHOPEOPLE.forms.CREATE", "ZOHOPEOPLE.forms.ALL"};
  if (endpoint == "updateRecord") return {"ZOHOPEOPLE.forms.UPDATE", "ZOHOPEOPLE.forms.ALL"};
  // Employee records: the view records API (".../P_EmployeeView/records") and the bulk getRecords.
  if (endpoint == "records" || endpoint == "getRecords")
    return {"ZOHOPEOPLE.forms.READ", "ZOHOPEOPLE.forms.ALL", "ZOHOPEOPLE.employee.ALL"};
  return {};
}

std::vector<std::string> crm_module_scopes(const std::string& module, const std::string& op) {
  const std::string m = "ZohoCRM.modules." + lower(module) + ".";
  return {"ZohoCRM.modules.ALL", "ZohoCRM.modules." + op, m + "ALL", m + op};
}

// The scopes that admit a CRM request; empty: no check (the handler answers).
std::vector<std::string> crm_scopes(const net::HttpRequest& r) {
  const std::string rest = r.path.substr(8);  // after "/crm/v2/"
  if (rest == "settings/fields")
    return {"ZohoCRM.settings.fields.READ", "ZohoCRM.settings.fields.ALL", "ZohoCRM.settings.ALL"};
  // COQL also needs read on the module of the query: checked by crm_coql.
  if (rest == "coql") return {"ZohoCRM.coql.READ"};
  const std::string module = rest.substr(0, rest.find('/'));
  if (module.empty()) return {};
  if (r.method == "GET") return crm_module_scopes(module, "READ");
  if (r.method == "PUT") return crm_module_scopes(module, "UPDATE");
  return {};
}

// "a,b c" (comma or space separated) -> lowercased set.
std::set<std::string> scope_set(const std::string& list) {
  std::set<std::string> out;
  for (const auto& s : split_list(replace_all(list, " ", ",")))
    out.insert(lower(s));
  return out;
}

std::optional<std::string> scope_array(simdjson::dom::element e, std::set<std::string>& out) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) return "a scope list must be an array of strings";
  for (auto s : arr) {
    std::string_view v;
    if (s.get_string().get(v) != simdjson::SUCCESS) return "a scope list must be an array of strings";
    out.insert(lower(std::string(v)));
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------- scopes

const Sandbox::Token* Sandbox::token_of(const net::HttpRequest& r) const {
  const auto h = r.header("Authorization");
  const std::string prefix = "Zoho-oauthtoken ";
  if (!h || h->rfind(prefix, 0) != 0) return nullptr;
  auto it = tokens_.find(h->substr(prefix.size()));
  return it == tokens_.end() ? nullptr : &it->second;
}

bool Sandbox::has_scope(const net::HttpRequest& r, const std::vector<std::string>& any_of) const {
  const Token* t = token_of(r);
  if (!t) return false;
  if (!t->scopes) return true;
  return std::any_of(any_of.begin(), any_of.end(), [&](const std::string& s) { return t->scopes->count(lower(s)); });
}

std::optional<net::HttpReply> Sandbox::check_scope(const net::HttpRequest& r, const std::string& endpoint) {
  const auto needed = endpoint == "crm" ? crm_scopes(r) : people_scopes(endpoint);
  if (needed.empty() || has_scope(r, needed)) return std::nullopt;
  return scope_mismatch(r, endpoint, false);
}

net::HttpReply Sandbox::scope_mismatch(const net::HttpRequest& r, const std::string& endpoint, bool call_counted) {
  auto& st = stats_[stats_key(r, endpoint)];
  if (!call_counted) ++st.calls;
  ++scope_mismatches_;
  if (endpoint == "crm") {
    // C: HTTP 401 OAUTH_SCOPE_MISMATCH; C2: this body.
    ++st.errors["OAUTH_SCOPE_MISMATCH"];
    return json_reply(401, crm_error_body("OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL"));
  }
  // C2: People's code 7218 "Invalid OAuth Scope"; U: its HTTP status.
  ++st.errors["7218"];
  return people_envelope_error(b_.people_http_error_status == "400" ? 400 : 200, people_uri(r.path), "7218",
                               "Invalid OAuth Scope");
}

net::HttpReply Sandbox::unauthorised(const net::HttpRequest& r, const std::string& endpoint) {
  auto& st = stats_[stats_key(r, endpoint)];
  ++st.calls;
  if (endpoint == "crm") {
    ++st.errors["INVALID_TOKEN"];
    return json_reply(401, crm_error_body("INVALID_TOKEN", "invalid oauth token"));
  }
  // C2: People answers in its own envelope, 7202 (or 7213), HTTP 400 (or 200).
  const std::string code = b_.people_auth_code == "7213" ? "7213" : "7202";
  ++st.errors[code];
  return people_envelope_error(b_.people_auth_http_status == "200" ? 200 : 400, people_uri(r.path), code,
                               "Invalid OAuth token");
}

// ---------------------------------------------------------------- authorization_code

net::HttpReply Sandbox::oauth_code(const std::string& code) {
  auto it = grant_codes_.find(code);
  if (it == grant_codes_.end() || clock_.now() >= it->second.expires) {
    // C2: a bad, expired or used code: HTTP 200 invalid_code.
    if (it != grant_codes_.end()) grant_codes_.erase(it);
    ++stats_["accounts/token"].errors["invalid_code"];
    return json_reply(200, R"({"error":"invalid_code"})");
  }
  const Scopes scopes = it->second.scopes;
  grant_codes_.erase(it);  // single use
  const std::string refresh = token_string();
  b_.refresh_tokens.push_back(refresh);
  if (scopes) scopes_[refresh] = *scopes;
  return issue_tokens(refresh, true);
}

// ---------------------------------------------------------------- admin and seed

std::optional<net::HttpReply> Sandbox::admin_meta(const net::HttpRequest& r, const std::string& path) {
  if (path == "/scopes" && r.method == "POST") {
    // ?refresh_token=T&scopes=a,b,c ("all" = every scope); T becomes a valid refresh token.
    const std::string token = r.param("refresh_token").value_or("");
    if (token.empty()) return json_reply(400, R"({"error":"refresh_token=T&scopes=a,b,c"})");
    const std::string list = r.param("scopes").value_or("all");
    if (list == "all") scopes_.erase(token);
    else scopes_[token] = scope_set(list);
    if (std::find(b_.refresh_tokens.begin(), b_.refresh_tokens.end(), token) == b_.refresh_tokens.end())
      b_.refresh_tokens.push_back(token);
    return json_reply(200, R"({"ok":true})");
  }
  if (path == "/grant_code" && r.method == "POST") {
    // ?code=C[&scopes=a,b]: C is exchangeable once, for grant_code_lifetime.
    const std::string code = r.param("code").value_or("");
    if (code.empty()) return json_reply(400, R"({"error":"code=C[&scopes=a,b]"})");
    GrantCode g{std::nullopt, clock_.now() + b_.grant_code_lifetime};
    if (auto list = r.param("scopes"); list && *list != "all") g.scopes = scope_set(*list);
    grant_codes_[code] = std::move(g);
    return json_reply(200, "{\"ok\":true,\"expires_in_sec\":" + std::to_string(b_.grant_code_lifetime.count() / 1000) + "}");
  }
  const std::string suffix = "/mass_update";
  if (path.rfind("/crm/", 0) == 0 && r.method == "POST" && path.size() > 5 + suffix.size() &&
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return admin_mass_update(r, path.substr(5, path.size() - 5 - suffix.size()));
  return std::nullopt;
}

// POST /_admin/crm/{module}/mass_update?count=N[&touch=M][&at=TIME], body an
// optional JSON object of field values for the new records ("{n}" in a string
// becomes the record's number, 1..N). Creates N records and stamps the first
// M existing ones (by id) with ONE Modified_Time second: now, or `at`.
net::HttpReply Sandbox::admin_mass_update(const net::HttpRequest& r, const std::string& module) {
  int count = 0, touch = 0;
  if (auto v = r.param("count"); v && (!to_int(*v, count) || count < 0 || count > 1'000'000))
    return json_reply(400, R"({"error":"count=N with 0 <= N <= 1000000"})");
  if (auto v = r.param("touch"); v && (!to_int(*v, touch) || touch < 0))
    return json_reply(400, R"({"error":"touch=M with M >= 0"})");
  SysTime stamp = crm_now();
  if (auto at = r.param("at")) {
    auto t = parse_iso8601(*at);
    if (!t) return json_reply(400, R"({"error":"at must be an ISO-8601 time"})");
    stamp = std::chrono::floor<std::chrono::seconds>(*t);
  }
  std::map<std::string, std::string> values;
  if (!r.body.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::object o;
    if (parser.parse(r.body).get_object().get(o) != simdjson::SUCCESS)
      return json_reply(400, R"({"error":"body must be a JSON object"})");
    for (auto [k, v] : o)
      if (k != "id" && k != "Created_Time" && k != "Modified_Time") values[std::string(k)] = std::string(simdjson::minify(v));
  }
  auto& records = modules_[module];
  std::vector<CrmRecord*> existing;
  for (auto& rec : records) existing.push_back(&rec);
  std::sort(existing.begin(), existing.end(), [](const CrmRecord* a, const CrmRecord* b) {
    return a->id.size() != b->id.size() ? a->id.size() < b->id.size() : a->id < b->id;
  });
  for (int i = 0; i < touch && i < static_cast<int>(existing.size()); ++i) existing[static_cast<std::size_t>(i)]->modified = stamp;
  json::Writer w;
  w.begin_object().field("ok", true).field("modified_time", format_utc_iso_offset(stamp));
  w.field("touched", static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(touch), existing.size())));
  w.key("ids").begin_array();
  for (int i = 1; i <= count; ++i) {
    CrmRecord rec{next_id(), stamp, stamp, {}};
    for (const auto& [k, raw] : values) rec.fields[k] = replace_all(raw, "{n}", std::to_string(i));
    w.value(rec.id);
    records.push_back(std::move(rec));
  }
  w.end_array().end_object();
  return json_reply(200, w.str());
}

// Seed keys: "scopes": {"<refresh token>": [scopes]}, "grant_codes":
// {"<code>": [scopes]}, "fields": {"<Module>": [{"api_name", "data_type",
// "field_label"?, "read_only"?, "pick_list_values"?: [strings], "id"?}]}.
std::optional<std::string> Sandbox::seed_meta_json(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(text).get_object().get(root) != simdjson::SUCCESS) return "seed file is not a JSON object";
  fields_.clear();
  simdjson::dom::object o;
  if (root["scopes"].get_object().get(o) == simdjson::SUCCESS)
    for (auto [token, list] : o) {
      std::set<std::string> set;
      if (auto err = scope_array(list, set)) return "scopes: " + *err;
      scopes_[std::string(token)] = std::move(set);
      if (std::find(b_.refresh_tokens.begin(), b_.refresh_tokens.end(), token) == b_.refresh_tokens.end())
        b_.refresh_tokens.emplace_back(token);
    }
  if (root["grant_codes"].get_object().get(o) == simdjson::SUCCESS)
    for (auto [code, list] : o) {
      std::set<std::string> set;
      if (auto err = scope_array(list, set)) return "grant_codes: " + *err;
      grant_codes_[std::string(code)] = GrantCode{std::move(set), clock_.now() + b_.grant_code_lifetime};
    }
  if (root["fields"].get_object().get(o) == simdjson::SUCCESS)
    for (auto [module, list] : o) {
      simdjson::dom::array arr;
      if (list.get_array().get(arr) != simdjson::SUCCESS) return "fields." + std::string(module) + " must be a list";
      auto& defs = fields_[std::string(module)];
      for (auto e : arr) {
        CrmField f;
        std::string_view v;
        if (e["api_name"].get_string().get(v) != simdjson::SUCCESS) return "fields: each entry needs an api_name";
        f.api_name = std::string(v);
        f.data_type = e["data_type"].get_string().get(v) == simdjson::SUCCESS ? std::string(v) : "text";
        f.label = e["field_label"].get_string().get(v) == simdjson::SUCCESS ? std::string(v) : replace_all(f.api_name, "_", " ");
        f.id = e["id"].get_string().get(v) == simdjson::SUCCESS ? std::string(v)
                                                                 : std::to_string(4150868000000002000ULL + ++field_counter_);
        bool ro = false;
        if (e["read_only"].get_bool().get(ro) == simdjson::SUCCESS) f.read_only = ro;
        simdjson::dom::array values;
        if (e["pick_list_values"].get_array().get(values) == simdjson::SUCCESS)
          for (auto pv : values)
            if (pv.get_string().get(v) == simdjson::SUCCESS) f.pick_list.emplace_back(v);
        defs.push_back(std::move(f));
      }
    }
  return std::nullopt;
}

void Sandbox::seed_demo_fields() {
  fields_.clear();
  auto def = [&](const std::string& module, const std::string& api_name, const std::string& type, bool ro = false,
                 std::vector<std::string> values = {}) {
    fields_[module].push_back(CrmField{api_name, replace_all(api_name, "_", " "), type,
                                       std::to_string(4150868000000002000ULL + ++field_counter_), ro, std::move(values)});
  };
  auto system = [&](const std::string& module) {
    def(module, "Owner", "ownerlookup");
    def(module, "Created_By", "ownerlookup", true);
    def(module, "Modified_By", "ownerlookup", true);
    def(module, "Created_Time", "datetime", true);
    def(module, "Modified_Time", "datetime", true);
  };
  system("Deals");
  def("Deals", "Deal_Name", "text");
  def("Deals", "Stage", "picklist", false,
      {"Qualification", "Negotiation", "Closed Won", "Delivery", "Completed", "Closed Lost"});
  def("Deals", "Closing_Date", "date");
  def("Deals", "Amount", "currency");
  def("Deals", "Account_Name", "lookup");
  def("Deals", "Project_Ref", "text");
  def("Deals", "Hours_Logged", "double");
  def("Deals", "Job_Status", "picklist", false, {"In-Progress", "Completed"});
  def("Deals", "Description", "textarea");
  system("Calls");
  def("Calls", "Subject", "text");
  def("Calls", "Call_Type", "picklist", false, {"Outbound", "Inbound", "Missed"});
  def("Calls", "Call_Start_Time", "datetime");
  def("Calls", "Call_Duration", "text");
  def("Calls", "Call_Duration_in_seconds", "integer");
  def("Calls", "What_Id", "lookup");
  def("Calls", "Description", "textarea");
  system("Accounts");
  def("Accounts", "Account_Name", "text");
}

}  // namespace peoplesync::sandbox
