#include "connectors/crm.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>

#include "common/json.hpp"
#include "common/timefmt.hpp"

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
  if (w.ids_at_time.empty()) return w.time;
  auto t = parse_iso8601(w.time);
  if (!t) return w.time;
  std::string s = format_utc_iso_seconds(*t - std::chrono::seconds(1));
  s.pop_back();  // 'Z'
  return s + "+00:00";
}

}  // namespace

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
  if (q.if_modified_since) r.headers.push_back({"If-Modified-Since", *q.if_modified_since});
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
  const std::optional<SysTime> done_through = from.ids_at_time.empty() ? at_time : std::nullopt;
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
    // the next page of the same query.
    if (q.page * q.per_page >= kPageCap) {
      // `page` reaches only the first 2000 records: continue from the
      // watermark instead of asking for page 11.
      if (!fresh.empty() || q.page_token.empty()) {
        q.if_modified_since = header_for(at);
        q.page = 1;
        if (fresh.empty())
          co_return CallError{Outcome::permanent,
                              "crm " + module + ": more than 2000 records share Modified_Time " + at.time +
                                  " and the server offers no page_token",
                              "", std::nullopt};
        continue;
      }
    }
    ++q.page;
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
  if (since) r.headers.push_back({"If-Modified-Since", *since});
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

boost::asio::awaitable<Expected<std::vector<CrmUpdateResult>>> CrmClient::update(
    const std::string& module, const std::vector<CrmUpdate>& records) {
  const std::string ep = "crm " + module + " update";
  if (records.empty() || records.size() > kMaxUpdate)
    co_return CallError{Outcome::permanent, ep + ": 1 to 100 records per call", "", std::nullopt};
  json::Writer w;
  w.begin_object().key("data").begin_array();
  for (const auto& rec : records) {
    w.begin_object().field("id", rec.id);
    for (const auto& [k, v] : rec.fields) w.field(k, v);
    w.end_object();
  }
  w.end_array().end_object();
  Request r;
  r.method = Method::put;
  r.base_url = crm_url_;
  r.target = "/crm/v2/" + url_encode(module);
  r.content_type = "application/json";
  r.body = w.str();
  r.idempotent = false;
  r.endpoint = "crm";
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
