// The sandbox core: request routing, fault injection, OAuth, CRM v2 and the
// admin API. The People time tracker lives in people.cpp, seeding in seed.cpp.
#include "sandbox/sandbox.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "common/json.hpp"
#include "common/timefmt.hpp"
#include "sandbox/util.hpp"

namespace peoplesync::sandbox {

// ---------------------------------------------------------------- clock

ScaledClock::ScaledClock(double scale)
    : scale_(scale), start_(std::chrono::steady_clock::now()), epoch_(std::chrono::system_clock::now()) {}

SysTime ScaledClock::now() const {
  const auto real = std::chrono::steady_clock::now() - start_;
  return epoch_ + std::chrono::duration_cast<std::chrono::milliseconds>(real * scale_);
}

std::chrono::steady_clock::time_point ScaledClock::steady_now() const {
  const auto real = std::chrono::steady_clock::now() - start_;
  return start_ + std::chrono::duration_cast<std::chrono::milliseconds>(real * scale_);
}

// ---------------------------------------------------------------- faults

std::optional<FaultSettings> parse_faults(const std::string& spec, std::string* error) {
  FaultSettings f;
  for (const auto& [key, value] : net::parse_params(replace_all(spec, ",", "&"))) {
    double v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    const bool number = ec == std::errc{} && p == value.data() + value.size();
    auto rate = [&](double& out) {
      if (!number || v < 0 || v > 1) {
        *error = "fault '" + key + "' needs a probability between 0 and 1";
        return false;
      }
      out = v;
      return true;
    };
    if (key == "error_rate") { if (!rate(f.error_rate)) return std::nullopt; }
    else if (key == "drop_before") { if (!rate(f.drop_before)) return std::nullopt; }
    else if (key == "drop_after") { if (!rate(f.drop_after)) return std::nullopt; }
    else if (key == "truncate") { if (!rate(f.truncate)) return std::nullopt; }
    else if (key == "garbage") { if (!rate(f.garbage)) return std::nullopt; }
    else if (key == "trickle") { if (!rate(f.trickle)) return std::nullopt; }
    else if (key == "latency_ms") {
      if (!number || v < 0) { *error = "latency_ms needs a number"; return std::nullopt; }
      f.latency = Millis{static_cast<std::int64_t>(v)};
    } else if (key == "only") {
      f.only_path = value;
    } else if (!key.empty()) {
      *error = "unknown fault '" + key +
               "' (error_rate, drop_before, drop_after, truncate, garbage, trickle, latency_ms, only)";
      return std::nullopt;
    }
  }
  return f;
}

// ---------------------------------------------------------------- core

Sandbox::Sandbox(const Clock& clock, Behaviour behaviour, std::uint64_t seed)
    : clock_(clock), b_(std::move(behaviour)), rng_(seed) {
  // People thresholds (calls per minute). C: documented on the vendor pages;
  // U: not published, 20 (the strictest documented value) assumed.
  const std::map<std::string, int> defaults{
      {"getRecordIdsByReferenceIds", 50}, {"getprojects", 20},   {"getclients", 20},  {"modifyjobstatus", 20},
      {"addupdatetimelogs", 30},          {"insertRecord", 100}, {"deletetimelog", 20}, {"getjobs", 20},
      {"gettimelogs", 20},                {"getjobdetails", 20}, {"addjob", 20},       {"modifyjob", 20},
      {"deletejob", 20},                  {"updateRecord", 100},
      // C: employee view records (fetch-record.html) 30, bulk getRecords 400.
      {"records", 30},                    {"getRecords", 400}};
  for (const auto& [k, v] : defaults) b_.thresholds.emplace(k, v);
}

void Sandbox::set_faults(const FaultSettings& f) { faults_ = f; }

std::string Sandbox::next_id() { return std::to_string(617735000000000000ULL + (++id_counter_) * 1009); }

std::string Sandbox::token_string() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string t = "1000.";
  for (int i = 0; i < 32; ++i) t.push_back(kHex[rng_() % 16]);
  t.push_back('.');
  for (int i = 0; i < 32; ++i) t.push_back(kHex[rng_() % 16]);
  return t;
}

std::string Sandbox::endpoint_of(const std::string& path) const {
  if (path == "/oauth/v2/token") return "accounts/token";
  if (path.rfind("/_admin", 0) == 0) return "admin";
  if (path.rfind("/crm/v2/", 0) == 0) return "crm";
  std::string p = path;
  if (p.rfind("/people/api/", 0) == 0) p = p.substr(11);
  else if (p.rfind("/api/", 0) == 0) p = p.substr(4);
  else return "";
  // "/timetracker/getjobs" -> "getjobs"; "/forms/json/P_TimesheetJob/insertRecord" -> "insertRecord"
  return p.substr(p.rfind('/') + 1);
}

// The name admin stats count a request under, the same whether the request
// was served, refused (401) or hit by an injected 5xx: "accounts/token",
// "crm/{module}", "crm/{module}/deleted", "crm/{module}/update",
// "people/{endpoint}"; anything else by its path.
std::string Sandbox::stats_key(const net::HttpRequest& r, const std::string& endpoint) const {
  if (endpoint.empty()) return r.path;
  if (endpoint != "crm") return endpoint == "accounts/token" ? endpoint : "people/" + endpoint;
  const std::string rest = r.path.substr(8);  // after "/crm/v2/"
  const auto slash = rest.find('/');
  const std::string module = "crm/" + rest.substr(0, slash);
  if (slash != std::string::npos) return module + rest.substr(slash);
  return r.method == "PUT" ? module + "/update" : module;
}

net::HttpReply Sandbox::handle(const net::HttpRequest& r) {
  const std::string endpoint = endpoint_of(r.path);
  if (endpoint == "admin") return admin(r);
  std::uniform_real_distribution<double> dice(0, 1);
  const bool faulty = faults_.only_path.empty() || r.path.find(faults_.only_path) != std::string::npos;
  auto roll = [&](double p, const char* name) {
    if (!faulty || p <= 0 || dice(rng_) >= p) return false;
    ++faults_injected_[name];
    return true;
  };
  if (roll(faults_.drop_before, "drop_before")) {
    net::HttpReply reply;
    reply.fault = net::Fault::close_without_reply;
    return reply;
  }
  if (roll(faults_.error_rate, "error")) {
    static constexpr int kCodes[] = {500, 502, 503};
    net::HttpReply reply;
    reply.status = kCodes[rng_() % 3];
    reply.content_type = "text/html";
    reply.body = "<html><body><h1>" + std::to_string(reply.status) + "</h1></body></html>";
    // The request reached the server: it counts as a call of its endpoint.
    auto& st = stats_[stats_key(r, endpoint)];
    ++st.calls;
    ++st.errors[std::to_string(reply.status)];
    return reply;
  }
  net::HttpReply reply = route(r, endpoint);
  if (faulty) reply.delay = faults_.latency;
  if (roll(faults_.drop_after, "drop_after")) reply.fault = net::Fault::close_without_reply;
  else if (roll(faults_.truncate, "truncate")) reply.fault = net::Fault::truncate_body;
  else if (roll(faults_.garbage, "garbage")) {
    reply.content_type = "text/html";
    reply.body = "<html><body>Service temporarily unavailable</body></html>";
  } else if (roll(faults_.trickle, "trickle")) {
    reply.fault = net::Fault::trickle;
    reply.trickle_interval = Millis{200};
  }
  return reply;
}

net::HttpReply Sandbox::route(const net::HttpRequest& r, const std::string& endpoint) {
  if (endpoint == "accounts/token") return oauth(r);
  if (endpoint.empty()) return json_reply(404, crm_error_body("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"));
  if (!authorised(r)) return unauthorised(r, endpoint);
  if (auto refused = check_scope(r, endpoint)) return std::move(*refused);
  if (endpoint == "crm") {
    // /crm/v2/settings/fields, /crm/v2/coql, /crm/v2/{module}[/deleted]
    const std::string rest = r.path.substr(8);
    if (rest == "settings/fields" || rest == "coql") {
      if (rest == "coql" ? r.method == "POST" : r.method == "GET") return rest == "coql" ? crm_coql(r) : crm_fields(r);
      return json_reply(400, crm_error_body("INVALID_REQUEST_METHOD", "The http request method type is not a valid one"));
    }
    const auto slash = rest.find('/');
    const std::string module = rest.substr(0, slash);
    if (module.empty()) return json_reply(400, crm_error_body("INVALID_MODULE", "the module name given seems to be invalid"));
    if (slash != std::string::npos) {
      if (rest.substr(slash) == "/deleted" && r.method == "GET") return crm_deleted(r, module);
      return json_reply(404, crm_error_body("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"));
    }
    if (r.method == "GET") return crm_get(r, module);
    if (r.method == "PUT") return crm_put(r, module);
    return json_reply(400, crm_error_body("INVALID_REQUEST_METHOD", "The http request method type is not a valid one"));
  }
  // People: parameters from the query string and a form body alike.
  net::Params params = r.query;
  const auto ct = r.header("Content-Type").value_or("");
  if (!r.body.empty() && ct.find("application/x-www-form-urlencoded") != std::string::npos) {
    for (auto& kv : net::parse_params(r.body)) params.push_back(std::move(kv));
  }
  return people(r, endpoint, params);
}

bool Sandbox::authorised(const net::HttpRequest& r) const {
  const auto h = r.header("Authorization");
  const std::string prefix = "Zoho-oauthtoken ";
  if (!h || h->rfind(prefix, 0) != 0) return false;
  auto it = tokens_.find(h->substr(prefix.size()));
  return it != tokens_.end() && clock_.now() < it->second.expires;
}

// ---------------------------------------------------------------- OAuth

net::HttpReply Sandbox::oauth(const net::HttpRequest& r) {
  auto& st = stats_["accounts/token"];
  ++st.calls;
  net::Params p = r.query;
  for (auto& kv : net::parse_params(r.body)) p.push_back(std::move(kv));
  auto get = [&](const char* k) -> std::string {
    for (const auto& [kk, v] : p)
      if (kk == k) return v;
    return "";
  };
  if (r.method != "POST") return json_reply(405, R"({"error":"invalid_request"})");
  const std::string grant = get("grant_type");
  if (grant != "refresh_token" && grant != "authorization_code")
    return json_reply(200, R"({"error":"unsupported_grant_type"})");
  if (get("client_id") != b_.client_id || get("client_secret") != b_.client_secret) {
    ++st.errors["invalid_client"];
    return json_reply(200, R"({"error":"invalid_client"})");
  }
  // A Self Client's code exchange; redirect_uri is not needed (C) and ignored.
  if (grant == "authorization_code") return oauth_code(get("code"));
  const std::string refresh = get("refresh_token");
  const bool known = std::find(b_.refresh_tokens.begin(), b_.refresh_tokens.end(), refresh) != b_.refresh_tokens.end();
  if (!known || revoked_.count(refresh)) {
    // C: a bad or revoked refresh token answers HTTP 200 with invalid_code.
    ++st.errors["invalid_code"];
    return json_reply(200, R"({"error":"invalid_code"})");
  }
  return issue_tokens(refresh, false);
}

net::HttpReply Sandbox::issue_tokens(const std::string& refresh, bool with_refresh_token) {
  auto& st = stats_["accounts/token"];
  const SysTime now = clock_.now();
  auto& issued = issued_[refresh];
  std::erase_if(issued, [&](SysTime t) { return now - t >= std::chrono::minutes(10); });
  if (static_cast<int>(issued.size()) >= b_.tokens_per_window) {
    // C: the throttle reply, also HTTP 200.
    ++st.errors["throttled"];
    return json_reply(200,
                      R"({"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"})");
  }
  issued.push_back(now);
  const std::string access = token_string();
  Token token{refresh, now, now + b_.token_lifetime, std::nullopt};
  if (auto it = scopes_.find(refresh); it != scopes_.end()) token.scopes = it->second;
  tokens_[access] = std::move(token);
  auto& active = active_[refresh];
  active.push_back(access);
  while (static_cast<int>(active.size()) > b_.max_active_tokens) {
    tokens_.erase(active.front());  // C: the 16th token evicts the oldest
    active.erase(active.begin());
  }
  json::Writer w;
  w.begin_object().field("access_token", access);
  if (with_refresh_token) w.field("refresh_token", refresh);
  const std::int64_t secs = b_.token_lifetime.count() / 1000;
  if (b_.millisecond_expires_in) {
    w.field("expires_in", secs * 1000).field("expires_in_sec", secs);
  } else {
    w.field("expires_in", secs);
  }
  w.field("api_domain", "https://www.zohoapis.com").field("token_type", "Bearer").end_object();
  return json_reply(200, w.str());
}

// ---------------------------------------------------------------- CRM

bool Sandbox::take_credits(int n) {
  const SysTime now = clock_.now();
  std::erase_if(credit_log_, [&](SysTime t) { return now - t >= std::chrono::hours(24); });
  if (static_cast<std::int64_t>(credit_log_.size()) + n > b_.crm_daily_credits) return false;
  for (int i = 0; i < n; ++i) credit_log_.push_back(now);
  return true;
}

namespace {

std::string crm_time(SysTime t) {
  std::string s = format_utc_iso_seconds(t);
  s.pop_back();
  return s + "+00:00";
}

std::optional<SysTime> parse_ims(const std::string& h) {
  if (auto t = parse_iso8601(h)) return t;
  return parse_http_date(h);
}

}  // namespace

// C: If-Modified-Since carries an ISO-8601 time with a numeric offset; C2:
// RFC 1123 dates are accepted too. A bare 'Z' is refused (crm_ims_refuse_z).
std::optional<net::HttpReply> Sandbox::read_ims(const net::HttpRequest& r, const std::string& stats_key,
                                                std::optional<SysTime>& since) {
  const auto h = r.header("If-Modified-Since");
  if (!h) return std::nullopt;
  since = parse_ims(*h);
  const bool bare_z = !h->empty() && (h->back() == 'Z' || h->back() == 'z') && h->find('T') != std::string::npos;
  if (since && !(bare_z && b_.crm_ims_refuse_z)) return std::nullopt;
  ++stats_[stats_key].errors["INVALID_DATA"];
  return json_reply(400, crm_error_body("INVALID_DATA", "invalid data", R"({"header":"If-Modified-Since"})"));
}

net::HttpReply Sandbox::crm_get(const net::HttpRequest& r, const std::string& module) {
  auto& st = stats_["crm/" + module];
  ++st.calls;
  if (!take_credits(1)) {
    ++st.errors["TOO_MANY_REQUESTS"];
    return json_reply(429, crm_error_body("TOO_MANY_REQUESTS", "API credits exhausted for the day"));
  }
  auto param = [&](const char* k) { return r.param(k); };
  if (auto ids = param("ids")) return crm_get_ids(r, module, *ids);
  int per_page = 200;
  int page = 1;
  if (auto v = param("per_page")) {
    if (!to_int(*v, per_page) || per_page < 1 || per_page > 200) {
      ++st.errors["INVALID_DATA"];
      return json_reply(400, crm_error_body("INVALID_DATA", "invalid data", R"({"param_name":"per_page"})"));
    }
  }
  const auto token_param = param("page_token");
  if (auto v = param("page")) {
    if (token_param) {
      ++st.errors["AMBIGUITY_DURING_PROCESSING"];
      return json_reply(400, crm_error_body("AMBIGUITY_DURING_PROCESSING", "both page and page_token are given"));
    }
    if (!to_int(*v, page) || page < 1) {
      ++st.errors["INVALID_DATA"];
      return json_reply(400, crm_error_body("INVALID_DATA", "invalid data", R"({"param_name":"page"})"));
    }
  }
  const std::string sort_by = param("sort_by").value_or("id");
  const std::string sort_order = param("sort_order").value_or("desc");
  if ((sort_by != "id" && sort_by != "Created_Time" && sort_by != "Modified_Time") ||
      (sort_order != "asc" && sort_order != "desc")) {
    ++st.errors["INVALID_DATA"];
    return json_reply(400, crm_error_body("INVALID_DATA", "invalid data", R"({"param_name":"sort_by"})"));
  }
  std::optional<SysTime> since;
  if (auto refused = read_ims(r, "crm/" + module, since)) return std::move(*refused);
  auto& records = modules_[module];
  if (records.empty()) return json_reply(204, "");  // C: 204, empty body, when there are no records
  std::vector<const CrmRecord*> hits;
  for (const auto& rec : records) {
    if (since && (b_.ims_inclusive ? rec.modified < *since : rec.modified <= *since)) continue;
    hits.push_back(&rec);
  }
  if (hits.empty()) return json_reply(304, "");  // C: 304, empty body, when nothing changed
  auto key = [&](const CrmRecord* x) {
    return sort_by == "Modified_Time" ? x->modified : sort_by == "Created_Time" ? x->created : SysTime{};
  };
  std::stable_sort(hits.begin(), hits.end(), [&](const CrmRecord* a, const CrmRecord* b) {
    const auto ka = key(a), kb = key(b);
    if (ka != kb) return sort_order == "asc" ? ka < kb : ka > kb;
    const bool id_less = a->id.size() != b->id.size() ? a->id.size() < b->id.size() : a->id < b->id;
    const bool id_greater = a->id.size() != b->id.size() ? a->id.size() > b->id.size() : a->id > b->id;
    return sort_order == "asc" || sort_by != "id" ? id_less : id_greater;
  });
  // Where this page starts: a page token (v3 behaviour, behind a switch) or page.
  std::size_t offset = 0;
  const std::string query_key = module + "|" + sort_by + "|" + sort_order + "|" + r.header("If-Modified-Since").value_or("");
  if (token_param) {
    auto it = page_tokens_.find(*token_param);
    if (!b_.crm_page_token || it == page_tokens_.end() || it->second.first.substr(0, it->second.first.find('#')) != query_key) {
      ++st.errors["INVALID_DATA"];
      return json_reply(400, crm_error_body("INVALID_DATA", "invalid page_token"));
    }
    if (clock_.now() > it->second.second) {
      ++st.errors["EXPIRED_VALUE"];
      return json_reply(400, crm_error_body("EXPIRED_VALUE", "page_token expired"));
    }
    offset = std::stoul(it->second.first.substr(it->second.first.find('#') + 1));
  } else {
    offset = static_cast<std::size_t>(page - 1) * static_cast<std::size_t>(per_page);
    if (b_.crm_page_cap && offset + static_cast<std::size_t>(per_page) > 2000) {
      ++st.errors["DISCRETE_PAGINATION_LIMIT_EXCEEDED"];
      return json_reply(400, crm_error_body("DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                                            "you cannot fetch more than 2000 records using page; use page_token"));
    }
  }
  std::vector<std::string> fields;
  if (auto f = param("fields")) {
    for (std::size_t pos = 0; pos <= f->size();) {
      const auto comma = f->find(',', pos);
      const std::string name = f->substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (!name.empty()) fields.push_back(name);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (fields.size() > 50) {
      ++st.errors["LIMIT_EXCEEDED"];
      return json_reply(400, crm_error_body("LIMIT_EXCEEDED", "at most 50 fields"));
    }
  }
  std::string body = R"({"data":[)";
  std::size_t count = 0;
  for (std::size_t i = offset; i < hits.size() && count < static_cast<std::size_t>(per_page); ++i, ++count) {
    if (count) body += ',';
    body += record_json(*hits[i], fields);
  }
  body += "]";
  const bool more = offset + count < hits.size();
  body += R"(,"info":{"per_page":)" + std::to_string(per_page) + R"(,"count":)" + std::to_string(count) +
          R"(,"page":)" + std::to_string(page) + R"(,"sort_by":")" + sort_by + R"(","sort_order":")" + sort_order +
          R"(","more_records":)" + (more ? "true" : "false");
  if (more && b_.crm_page_token) {
    const std::string t = token_string();
    page_tokens_[t] = {query_key + "#" + std::to_string(offset + count), clock_.now() + std::chrono::hours(24)};
    body += R"(,"next_page_token":")" + t + "\"";
  }
  body += "}}";
  net::HttpReply reply = json_reply(200, body);
  // C: X-API-CREDITS-REMAINING once half the allowance is used.
  const auto used = static_cast<std::int64_t>(credit_log_.size());
  if (used * 2 >= b_.crm_daily_credits)
    reply.headers.emplace_back("X-API-CREDITS-REMAINING", std::to_string(b_.crm_daily_credits - used));
  return reply;
}

std::string Sandbox::record_json(const CrmRecord& rec, const std::vector<std::string>& fields) const {
  std::string out = "{\"id\":" + json::quote(rec.id);
  auto add = [&](const std::string& name, const std::string& raw) { out += "," + json::quote(name) + ":" + raw; };
  auto wanted = [&](const std::string& name) {
    return fields.empty() || std::find(fields.begin(), fields.end(), name) != fields.end();
  };
  if (wanted("Created_Time")) add("Created_Time", json::quote(crm_time(rec.created)));
  if (wanted("Modified_Time")) add("Modified_Time", json::quote(crm_time(rec.modified)));
  for (const auto& [name, raw] : rec.fields)
    if (wanted(name)) add(name, raw);
  return out + "}";
}

net::HttpReply Sandbox::crm_deleted(const net::HttpRequest& r, const std::string& module) {
  auto& st = stats_["crm/" + module + "/deleted"];
  ++st.calls;
  if (!take_credits(2)) {  // C: 2 credits per call
    ++st.errors["TOO_MANY_REQUESTS"];
    return json_reply(429, crm_error_body("TOO_MANY_REQUESTS", "API credits exhausted for the day"));
  }
  int page = 1, per_page = 200;
  if (auto v = r.param("page")) to_int(*v, page);
  if (auto v = r.param("per_page")) to_int(*v, per_page);
  per_page = std::clamp(per_page, 1, 200);
  page = std::max(page, 1);
  std::optional<SysTime> since;
  if (auto refused = read_ims(r, "crm/" + module + "/deleted", since)) return std::move(*refused);
  std::vector<const CrmDeleted*> hits;
  for (const auto& d : deleted_[module])
    if (!since || d.deleted > *since) hits.push_back(&d);
  if (hits.empty()) return json_reply(204, "");
  json::Writer w;
  w.begin_object().key("data").begin_array();
  const std::size_t from = static_cast<std::size_t>(page - 1) * static_cast<std::size_t>(per_page);
  std::size_t count = 0;
  for (std::size_t i = from; i < hits.size() && count < static_cast<std::size_t>(per_page); ++i, ++count) {
    w.begin_object().field("id", hits[i]->id).field("display_name", hits[i]->display_name).field("type", "recycle");
    w.key("deleted_by").begin_object().field("name", "Sandbox Admin").field("id", "1").end_object();
    w.key("created_by").begin_object().field("name", "Sandbox Admin").field("id", "1").end_object();
    w.field("deleted_time", crm_time(hits[i]->deleted)).end_object();
  }
  w.end_array().key("info").begin_object().field("per_page", per_page).field("count", static_cast<std::int64_t>(count));
  w.field("page", page).field("more_records", from + count < hits.size()).end_object().end_object();
  return json_reply(200, w.str());
}

net::HttpReply Sandbox::crm_put(const net::HttpRequest& r, const std::string& module) {
  auto& st = stats_["crm/" + module + "/update"];
  ++st.calls;
  simdjson::dom::parser parser;
  simdjson::dom::array data;
  simdjson::dom::object root;
  if (parser.parse(r.body).get_object().get(root) != simdjson::SUCCESS ||
      root["data"].get_array().get(data) != simdjson::SUCCESS) {
    ++st.errors["INVALID_DATA"];
    return json_reply(400, crm_error_body("INVALID_DATA", "the body must be {\"data\":[...]}"));
  }
  if (data.size() > 100) {
    ++st.errors["LIMIT_EXCEEDED"];
    return json_reply(400, crm_error_body("LIMIT_EXCEEDED", "at most 100 records can be updated at a time"));
  }
  if (!take_credits(static_cast<int>((data.size() + 9) / 10))) {  // C: 1 credit per 10 records
    ++st.errors["TOO_MANY_REQUESTS"];
    return json_reply(429, crm_error_body("TOO_MANY_REQUESTS", "API credits exhausted for the day"));
  }
  std::string out = R"({"data":[)";
  int ok = 0, failed = 0;
  bool first = true;
  for (simdjson::dom::element e : data) {
    if (!first) out += ',';
    first = false;
    bool record_ok = false;
    out += put_record(module, std::string(simdjson::minify(e)), record_ok);
    ++(record_ok ? ok : failed);
  }
  out += "]}";
  if (failed) st.errors["INVALID_DATA"] += failed;
  // C: mixed results come with 207.
  return json_reply(failed == 0 ? 200 : ok == 0 ? 400 : 207, out);
}

}  // namespace peoplesync::sandbox
