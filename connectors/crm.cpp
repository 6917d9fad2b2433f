#include "connectors/crm.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <charconv>
#include <cstdio>

#include "common/text.hpp"
#include "common/json.hpp"
#include "common/timefmt.hpp"
#include "connectors/scopes.hpp"

namespace peoplesync::connectors {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

Value to_value(element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE: return Value{};
    case simdjson::dom::element_type::BOOL: return Value::boolean(bool(e));
    case simdjson::dom::element_type::INT64: return Value::number(std::to_string(std::int64_t(e)));
    case simdjson::dom::element_type::UINT64: return Value::number(std::to_string(std::uint64_t(e)));
    case simdjson::dom::element_type::DOUBLE: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.15g", double(e));
      return Value::number(buf);
    }
    case simdjson::dom::element_type::STRING: return Value::string(std::string(std::string_view(e)));
    case simdjson::dom::element_type::ARRAY: {
      Value::Array a;
      for (element item : simdjson::dom::array(e)) a.push_back(to_value(item));
      return Value::array(std::move(a));
    }
    case simdjson::dom::element_type::OBJECT: {
      Value::Object o;
      for (auto [k, v] : simdjson::dom::object(e)) o.emplace(std::string(k), to_value(v));
      return Value::object(std::move(o));
    }
  }
  return Value{};
}

std::string str(object o, std::string_view key) {
  element e;
  if (o[key].get(e) != simdjson::SUCCESS) return "";
  const Value v = to_value(e);
  return v.text();
}

CallError crm_error(const std::string& endpoint, int status, std::string_view body, bool write) {
  simdjson::dom::parser parser;
  object o;
  std::string code, message;
  // An empty string_view may have no data at all: simdjson must not see it.
  if (!body.empty() && parser.parse(body.data(), body.size()).get_object().get(o) == simdjson::SUCCESS) {
    code = str(o, "code");
    message = str(o, "message");
  }
  Outcome outcome = Outcome::permanent;
  if (code.empty() && status >= 200 && status < 300) outcome = write ? Outcome::in_doubt : Outcome::retry;
  std::string text = endpoint + ": HTTP " + std::to_string(status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  if (code.empty()) text += ": unexpected reply";
  return CallError{outcome, text, code, std::nullopt};
}

// ZohoApi names the catalogue endpoint ("crm: HTTP 503"); an operator needs
// the module too ("crm Deals: HTTP 503").
CallError name_module(CallError e, const std::string& where) {
  static constexpr std::string_view kPrefix = "crm: ";
  if (std::string_view(e.message).substr(0, kPrefix.size()) == kPrefix)
    e.message = where + ": " + e.message.substr(kPrefix.size());
  return e;
}

// The If-Modified-Since value for a watermark (see CrmWatermark).
std::optional<std::string> header_for(const CrmWatermark& w) {
  if (w.time.empty()) return std::nullopt;
  auto t = parse_iso8601(w.time);
  if (!t) return w.time;
  return format_utc_iso_offset(w.ids_at_time.empty() ? *t : *t - std::chrono::seconds(1));
}

}  // namespace

std::string crm_if_modified_since(const std::string& iso_time) {
  auto t = parse_iso8601(iso_time);
  return t ? format_utc_iso_offset(*t) : iso_time;
}

namespace {

bool one_of(std::string_view v, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

// The JSON grammar of a number: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?
bool json_number(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') ++i;
  else if (!digits()) return false;
  if (i < s.size() && s[i] == '.' && (++i, !digits())) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

}  // namespace

std::variant<Value, std::string> crm_typed_value(const CrmField& f, const std::string& text) {
  const std::string& t = f.data_type;
  auto refuse = [&](const std::string& why) {
    return "field " + f.api_name + " (" + t + ") cannot take '" + text + "': " + why;
  };
  if (f.read_only) return "field " + f.api_name + " is read-only in CRM";
  if (one_of(t, {"integer", "bigint"})) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc{} && p == text.data() + text.size()) return Value::number(std::to_string(v));
    double d = 0;
    auto [p2, ec2] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec2 == std::errc{} && p2 == text.data() + text.size() && d == static_cast<double>(static_cast<std::int64_t>(d)) &&
        d > -9e15 && d < 9e15)
      return Value::number(std::to_string(static_cast<std::int64_t>(d)));
    return refuse("not a whole number");
  }
  if (one_of(t, {"double", "currency", "decimal", "percent"})) {
    if (json_number(text)) return Value::number(text);
    double d = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc{} || p != text.data() + text.size() || !std::isfinite(d)) return refuse("not a number");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", d);
    return Value::number(buf);
  }
  if (t == "boolean") {
    const std::string l = ascii_lower(text);
    if (one_of(l, {"true", "yes", "1"})) return Value::boolean(true);
    if (one_of(l, {"false", "no", "0"})) return Value::boolean(false);
    return refuse("not true or false");
  }
  if (t == "date") {
    auto d = parse_iso8601(text);
    if (!d) return refuse("not a date (yyyy-MM-dd)");
    return Value::string(text.size() == 10 ? text : format_utc_iso_seconds(*d).substr(0, 10));
  }
  if (t == "datetime") {
    auto d = parse_iso8601(text);
    if (!d) return refuse("not a date and time (ISO-8601)");
    return Value::string(format_utc_iso_offset(*d));
  }
  if (one_of(t, {"lookup", "ownerlookup", "multiselectpicklist", "multiselectlookup", "subform", "fileupload",
                 "imageupload", "userlookup", "profileimage"}))
    return refuse("a template gives text, and this type takes an object or a list");
  return Value::string(text);  // text, textarea, picklist, email, phone, website, ...
}

Value value_from_json(std::string_view json) {
  simdjson::dom::parser parser;
  element e;
  // Empty: a null data pointer is undefined behaviour inside simdjson (fuzz/template.cpp).
  if (json.empty() || parser.parse(json.data(), json.size()).get(e) != simdjson::SUCCESS) return Value{};
  return to_value(e);
}

Expected<CrmPage> parse_records_page(int http_status, std::string_view body, const std::string& endpoint) {
  CrmPage page;
  if (http_status == 304) {
    page.status = CrmPage::Status::not_modified;
    return page;
  }
  if (http_status == 204) {
    page.status = CrmPage::Status::no_content;
    return page;
  }
  if (http_status != 200) return crm_error(endpoint, http_status, body, false);
  simdjson::dom::parser parser;
  object root;
  simdjson::dom::array data;
  if (body.empty() || parser.parse(body.data(), body.size()).get_object().get(root) != simdjson::SUCCESS ||
      root["data"].get_array().get(data) != simdjson::SUCCESS)
    return CallError{Outcome::retry, endpoint + ": unexpected reply: no \"data\" list", "", std::nullopt};
  for (element e : data) {
    object o;
    if (e.get_object().get(o) != simdjson::SUCCESS)
      return CallError{Outcome::retry, endpoint + ": unexpected reply: record is not an object", "", std::nullopt};
    CrmRecord r;
    r.id = str(o, "id");
    r.modified_time = str(o, "Modified_Time");
    if (r.id.empty() || !parse_iso8601(r.modified_time))
      return CallError{Outcome::retry, endpoint + ": unexpected reply: record without id or Modified_Time", "",
                       std::nullopt};
    r.fields = to_value(e);
    page.records.push_back(std::move(r));
  }
  object info;
  if (root["info"].get_object().get(info) == simdjson::SUCCESS) {
    bool more = false;
    if (info["more_records"].get_bool().get(more) == simdjson::SUCCESS) page.more = more;
    page.next_page_token = str(info, "next_page_token");
  }
  return page;
}

CrmClient::CrmClient(ZohoApi& api, std::string crm_url) : api_(api), crm_url_(std::move(crm_url)) {}

boost::asio::awaitable<Expected<CrmPage>> CrmClient::get_page(const CrmQuery& q) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!q.fields.empty()) {
    // With `fields`, CRM answers only the fields named (and id): the walk
    // needs Modified_Time on every record, so it is always asked for.
    std::string f;
    for (const auto& x : q.fields) f += (f.empty() ? "" : ",") + x;
    if (std::find(q.fields.begin(), q.fields.end(), "Modified_Time") == q.fields.end()) f += ",Modified_Time";
    params.emplace_back("fields", f);
  }
  params.emplace_back("sort_by", "Modified_Time");
  params.emplace_back("sort_order", "asc");
  params.emplace_back("per_page", std::to_string(q.per_page));
  if (!q.page_token.empty()) params.emplace_back("page_token", q.page_token);
  else params.emplace_back("page", std::to_string(q.page));
  Request r;
  r.base_url = crm_url_;
  r.target = "/crm/v2/" + url_encode(q.module) + "?" + query_string(params);
  r.endpoint = "crm";
  r.scope = scopes::crm_module(q.module, false);
  if (q.if_modified_since) r.headers.push_back({"If-Modified-Since", crm_if_modified_since(*q.if_modified_since)});
  ApiResult res = co_await api_.call(std::move(r));
  if (auto* e = std::get_if<CallError>(&res)) co_return name_module(std::move(*e), "crm " + q.module);
  const Response& http = std::get<Response>(res);
  co_return parse_records_page(http.status, http.body, "crm " + q.module);
}

boost::asio::awaitable<Expected<CrmWalkStats>> CrmClient::read_modified(const std::string& module,
                                                                         const std::vector<std::string>& fields,
                                                                         const CrmWatermark& from, CrmBatchSink sink) {
  CrmWalkStats stats;
  CrmWatermark at = from;
  std::optional<SysTime> at_time = at.time.empty() ? std::nullopt : parse_iso8601(at.time);
  // A complete watermark means every record up to and including its time is
  // done: a server whose If-Modified-Since compares >= answers the records of
  // that second again, and they must not be handed over twice.
  std::optional<SysTime> done_through = from.ids_at_time.empty() ? at_time : std::nullopt;
  std::optional<SysTime> crowded_done;  // a second walked by id
  CrmQuery q;
  q.module = module;
  q.fields = fields;
  q.if_modified_since = header_for(at);
  q.page = 1;
  for (;;) {
    Expected<CrmPage> got = co_await get_page(q);
    ++stats.calls;
    if (auto* e = std::get_if<CallError>(&got)) {
      if (e->vendor_code != "DISCRETE_PAGINATION_LIMIT_EXCEEDED") co_return *e;
      // The server stopped paging (2000 records): restart from the watermark.
      if (q.page == 1 && q.page_token.empty())
        co_return CallError{Outcome::permanent,
                            "crm " + module + ": the paging cap was hit on page 1; cannot advance", e->vendor_code,
                            std::nullopt};
      q.if_modified_since = header_for(at);
      q.page = 1;
      q.page_token.clear();
      continue;
    }
    CrmPage& page = std::get<CrmPage>(got);
    // The walk is over when the server has nothing more: everything up to the
    // watermark is done.
    auto finish = [&] {
      stats.reached = at;
      stats.reached.ids_at_time.clear();
      return stats;
    };
    if (page.status != CrmPage::Status::records) {
      stats.not_modified = stats.calls == 1 && page.status == CrmPage::Status::not_modified;
      co_return finish();
    }
    // Keep only records after the watermark, or at it and not yet handed over.
    std::vector<CrmRecord> fresh;
    for (auto& r : page.records) {
      const SysTime t = *parse_iso8601(r.modified_time);
      if (done_through && t <= *done_through) continue;
      if (at_time && (t < *at_time || (t == *at_time && at.ids_at_time.count(r.id)))) continue;
      if (!at_time || t > *at_time) {
        at_time = t;
        at.time = r.modified_time;
        at.ids_at_time.clear();
      }
      at.ids_at_time.insert(r.id);
      fresh.push_back(std::move(r));
    }
    stats.records += static_cast<int>(fresh.size());
    if (!fresh.empty() && !co_await sink(fresh, at)) {
      stats.reached = at;
      co_return stats;
    }
    if (!page.more) co_return finish();
    if (!page.next_page_token.empty()) {
      q.page_token = page.next_page_token;
      continue;
    }
    if (!fresh.empty()) {
      // Ask again from the watermark, not for the next page: a record edited
      // in CRM during the walk moves to the end and a deleted one goes, so
      // every later record moves back and page N+1 would start past records
      // never handed over, which the watermark would then pass for good. The
      // cost is the records of the watermark's second read again (ties).
      q.if_modified_since = header_for(at);
      q.page = 1;
      continue;
    }
    // Nothing new on this page (a tie of a page or more at the watermark):
    // the next page of the same query, while `page` reaches.
    if (q.page * q.per_page >= kPageCap && q.page_token.empty()) {
      // More than 2000 records share the watermark's second (a mass update)
      // and no page_token: walk that second by id (COQL), then go on after it.
      if (crowded_done && at_time && *at_time == *crowded_done) {
        // The server compares If-Modified-Since with >=: it keeps answering
        // the second already walked; CRM times are whole seconds, so asking
        // from the next second is asking for what is after it.
        q.if_modified_since = format_utc_iso_offset(*at_time + std::chrono::seconds(1));
        q.page = 1;
        continue;
      }
      if (!at_time)
        co_return CallError{Outcome::permanent, "crm " + module + ": the paging cap was hit before any record", "",
                            std::nullopt};
      auto walked = co_await walk_second(module, fields, at, sink, stats);
      if (auto* e = std::get_if<CallError>(&walked)) co_return *e;
      if (!std::get<bool>(walked)) {
        stats.reached = at;
        co_return stats;
      }
      crowded_done = at_time;
      done_through = at_time;  // every record of that second is handed over
      at.ids_at_time.clear();
      q.if_modified_since = header_for(at);
      q.page = 1;
      continue;
    }
    ++q.page;
  }
}

boost::asio::awaitable<Expected<std::vector<std::string>>> CrmClient::coql_ids(const std::string& module,
                                                                              const std::string& time,
                                                                              const std::string& after_id) {
  const std::string ep = "crm " + module + " coql";
  // An id cursor needs no offset, so no COQL offset limit applies.
  const std::string query = "select id from " + module + " where (Modified_Time = '" + crm_if_modified_since(time) +
                            "' and id > '" + after_id + "') order by id asc limit " + std::to_string(kCoqlLimit);
  json::Writer w;
  w.begin_object().field("select_query", query).end_object();
  Request r;
  r.method = Method::post;
  r.base_url = crm_url_;
  r.target = "/crm/v2/coql";
  r.content_type = "application/json";
  r.body = w.str();
  r.idempotent = true;  // a read, though a POST
  r.endpoint = "crm";
  r.scope = std::string(scopes::kCrmCoql);
  ApiResult res = co_await api_.call(std::move(r));
  if (auto* e = std::get_if<CallError>(&res)) co_return name_module(std::move(*e), ep);
  const Response& http = std::get<Response>(res);
  std::vector<std::string> ids;
  if (http.status == 204) co_return ids;
  if (http.status != 200) co_return crm_error(ep, http.status, http.body, false);
  simdjson::dom::parser parser;
  object root;
  simdjson::dom::array data;
  if (parser.parse(http.body).get_object().get(root) != simdjson::SUCCESS ||
      root["data"].get_array().get(data) != simdjson::SUCCESS)
    co_return CallError{Outcome::retry, ep + ": unexpected reply: no \"data\" list", "", std::nullopt};
  for (element e : data) {
    object o;
    if (e.get_object().get(o) == simdjson::SUCCESS && !str(o, "id").empty()) ids.push_back(str(o, "id"));
  }
  co_return ids;
}

boost::asio::awaitable<Expected<CrmPage>> CrmClient::get_by_ids(const std::string& module,
                                                                const std::vector<std::string>& fields,
                                                                const std::vector<std::string>& ids) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ",") + id;
  params.emplace_back("ids", list);
  if (!fields.empty()) {
    std::string f;
    for (const auto& x : fields) f += (f.empty() ? "" : ",") + x;
    if (std::find(fields.begin(), fields.end(), "Modified_Time") == fields.end()) f += ",Modified_Time";
    params.emplace_back("fields", f);
  }
  Request r;
  r.base_url = crm_url_;
  r.target = "/crm/v2/" + url_encode(module) + "?" + query_string(params);
  r.endpoint = "crm";
  r.scope = scopes::crm_module(module, false);
  ApiResult res = co_await api_.call(std::move(r));
  if (auto* e = std::get_if<CallError>(&res)) co_return name_module(std::move(*e), "crm " + module);
  const Response& http = std::get<Response>(res);
  co_return parse_records_page(http.status, http.body, "crm " + module);
}

boost::asio::awaitable<Expected<bool>> CrmClient::walk_second(const std::string& module,
                                                              const std::vector<std::string>& fields,
                                                              CrmWatermark& at, CrmBatchSink& sink,
                                                              CrmWalkStats& stats) {
  const SysTime second = *parse_iso8601(at.time);
  std::string cursor = "0";
  for (;;) {
    auto got = co_await coql_ids(module, at.time, cursor);
    ++stats.calls;
    if (auto* e = std::get_if<CallError>(&got)) co_return *e;
    const auto& ids = std::get<std::vector<std::string>>(got);
    if (ids.empty()) co_return true;
    cursor = ids.back();
    std::vector<std::string> wanted;
    for (const auto& id : ids)
      if (!at.ids_at_time.count(id)) wanted.push_back(id);
    for (std::size_t i = 0; i < wanted.size(); i += kMaxIds) {
      const std::vector<std::string> chunk(wanted.begin() + static_cast<std::ptrdiff_t>(i),
                                           wanted.begin() + static_cast<std::ptrdiff_t>(std::min(wanted.size(), i + kMaxIds)));
      auto page = co_await get_by_ids(module, fields, chunk);
      ++stats.calls;
      if (auto* e = std::get_if<CallError>(&page)) co_return *e;
      std::vector<CrmRecord> fresh;
      for (auto& r : std::get<CrmPage>(page).records) {
        // Edited since the COQL read: the walk after this second brings it.
        if (*parse_iso8601(r.modified_time) != second || at.ids_at_time.count(r.id)) continue;
        at.ids_at_time.insert(r.id);
        fresh.push_back(std::move(r));
      }
      stats.records += static_cast<int>(fresh.size());
      if (!fresh.empty() && !co_await sink(fresh, at)) co_return false;
    }
    if (ids.size() < static_cast<std::size_t>(kCoqlLimit)) co_return true;
  }
}

boost::asio::awaitable<Expected<Page<CrmDeleted>>> CrmClient::get_deleted(const std::string& module,
                                                                          const std::optional<std::string>& since,
                                                                          int page) {
  Request r;
  r.base_url = crm_url_;
  r.target = "/crm/v2/" + url_encode(module) + "/deleted?" +
             query_string({{"type", "all"}, {"page", std::to_string(page)}, {"per_page", "200"}});
  r.endpoint = "crm";
  r.cost = 2;  // the deleted-records API costs two credits a call
  r.scope = scopes::crm_module(module, false);
  if (since) r.headers.push_back({"If-Modified-Since", crm_if_modified_since(*since)});
  ApiResult res = co_await api_.call(std::move(r));
  if (auto* e = std::get_if<CallError>(&res)) co_return name_module(std::move(*e), "crm " + module + "/deleted");
  const Response& http = std::get<Response>(res);
  Page<CrmDeleted> out;
  if (http.status == 204 || http.status == 304) co_return out;
  if (http.status != 200) co_return crm_error("crm " + module + "/deleted", http.status, http.body, false);
  simdjson::dom::parser parser;
  object root;
  simdjson::dom::array data;
  if (parser.parse(http.body).get_object().get(root) != simdjson::SUCCESS ||
      root["data"].get_array().get(data) != simdjson::SUCCESS)
    co_return crm_error("crm " + module + "/deleted", http.status, http.body, false);
  for (element e : data) {
    object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) continue;
    out.items.push_back({str(o, "id"), str(o, "display_name"), str(o, "type"), str(o, "deleted_time")});
  }
  object info;
  bool more = false;
  if (root["info"].get_object().get(info) == simdjson::SUCCESS &&
      info["more_records"].get_bool().get(more) == simdjson::SUCCESS)
    out.more = more;
  co_return out;
}

boost::asio::awaitable<Expected<std::vector<CrmField>>> CrmClient::get_fields(const std::string& module) {
  const std::string ep = "crm " + module + " settings/fields";
  Request r;
  r.base_url = crm_url_;
  r.target = "/crm/v2/settings/fields?" + query_string({{"module", module}});
  r.endpoint = "crm";
  r.scope = std::string(scopes::kCrmFields);
  ApiResult res = co_await api_.call(std::move(r));
  if (auto* e = std::get_if<CallError>(&res)) co_return name_module(std::move(*e), ep);
  const Response& http = std::get<Response>(res);
  if (http.status != 200) co_return crm_error(ep, http.status, http.body, false);
  simdjson::dom::parser parser;
  object root;
  simdjson::dom::array fields;
  if (parser.parse(http.body).get_object().get(root) != simdjson::SUCCESS ||
      root["fields"].get_array().get(fields) != simdjson::SUCCESS)
    co_return CallError{Outcome::retry, ep + ": unexpected reply: no \"fields\" list", "", std::nullopt};
  std::vector<CrmField> out;
  for (element e : fields) {
    object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) continue;
    CrmField f{str(o, "api_name"), str(o, "field_label"), str(o, "data_type"), str(o, "json_type"), false};
    bool ro = false;
    if (o["read_only"].get_bool().get(ro) == simdjson::SUCCESS) f.read_only = ro;
    if (o["field_read_only"].get_bool().get(ro) == simdjson::SUCCESS) f.read_only = f.read_only || ro;
    if (!f.api_name.empty()) out.push_back(std::move(f));
  }
  co_return out;
}

boost::asio::awaitable<Expected<bool>> CrmClient::probe_update(const std::string& module) {
  Request r;
  r.method = Method::put;
  r.base_url = crm_url_;
  r.target = "/crm/v2/" + url_encode(module);
  r.content_type = "application/json";
  r.body = R"({"data":[]})";
  r.endpoint = "crm";
  r.scope = scopes::crm_module(module, true);
  ApiResult res = co_await api_.call(std::move(r));
  if (auto* e = std::get_if<CallError>(&res)) co_return name_module(std::move(*e), "crm " + module + " update");
  co_return true;  // any answer but an authorisation refusal: the scope is there
}

boost::asio::awaitable<Expected<std::vector<CrmUpdateResult>>> CrmClient::update(
    const std::string& module, const std::vector<CrmUpdate>& records) {
  const std::string ep = "crm " + module + " update";
  if (records.empty() || records.size() > kMaxUpdate)
    co_return CallError{Outcome::permanent, ep + ": 1 to 100 records per call", "", std::nullopt};
  json::Writer w;
  w.begin_object().key("data").begin_array();
  for (const auto& rec : records) {
    w.begin_object().field("id", rec.id);
    for (const auto& [k, v] : rec.fields) {
      w.key(k);
      if (v.kind() == Value::Kind::number) w.raw(v.text());
      else if (v.kind() == Value::Kind::boolean) w.value(v.text() == "true");
      else if (v.is_null()) w.null();
      else w.value(v.text());
    }
    w.end_object();
  }
  w.end_array().end_object();
  Request r;
  r.method = Method::put;
  r.base_url = crm_url_;
  r.target = "/crm/v2/" + url_encode(module);
  r.content_type = "application/json";
  r.body = w.str();
  // Setting fields to values: sent twice, it changes nothing more, so it is
  // retried like a read (a 5xx in a storm costs a retry, not the pass).
  r.idempotent = true;
  r.endpoint = "crm";
  r.scope = scopes::crm_module(module, true);
  r.cost = static_cast<int>((records.size() + 9) / 10);  // one credit per 10 records
  ApiResult res = co_await api_.call(std::move(r));
  if (auto* e = std::get_if<CallError>(&res)) co_return name_module(std::move(*e), ep);
  const Response& http = std::get<Response>(res);
  simdjson::dom::parser parser;
  object root;
  simdjson::dom::array data;
  if (parser.parse(http.body).get_object().get(root) != simdjson::SUCCESS ||
      root["data"].get_array().get(data) != simdjson::SUCCESS || data.size() != records.size())
    co_return crm_error(ep, http.status, http.body, true);
  std::vector<CrmUpdateResult> out;
  std::size_t i = 0;
  for (element e : data) {
    object o;
    CrmUpdateResult item;
    item.id = records[i++].id;
    if (e.get_object().get(o) == simdjson::SUCCESS) {
      item.code = str(o, "code");
      item.message = str(o, "message");
      object details;
      if (o["details"].get_object().get(details) == simdjson::SUCCESS) {
        item.modified_time = str(details, "Modified_Time");
        const std::string id = str(details, "id");
        if (!id.empty() && id != item.id) item.outcome = Outcome::in_doubt;
      }
      const std::string status = str(o, "status");
      if (status != "success" && item.outcome == Outcome::ok)
        item.outcome = item.code == "RECORD_LOCKED" ? Outcome::retry : Outcome::permanent;
    } else {
      item.outcome = Outcome::in_doubt;
    }
    out.push_back(std::move(item));
  }
  co_return out;
}

}  // namespace peoplesync::connectors
