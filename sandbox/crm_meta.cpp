// CRM field metadata (GET /crm/v2/settings/fields), typed updates (PUT
// /crm/v2/{module}) and reads by id (GET /crm/v2/{module}?ids=...).
// Evidence: /tmp/evidence-crm.md (a), (b) and "?ids=".
#include <simdjson.h>

#include <algorithm>

#include "common/json.hpp"
#include "common/timefmt.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/util.hpp"

namespace peoplesync::sandbox {
namespace {

// C/U: the json_type CRM shows beside each data_type.
std::string json_type_of(const std::string& data_type) {
  if (data_type == "integer" || data_type == "bigint") return "integer";
  if (data_type == "double" || data_type == "currency" || data_type == "decimal" || data_type == "percent")
    return "double";
  if (data_type == "boolean") return "boolean";
  if (data_type == "lookup" || data_type == "ownerlookup") return "jsonobject";
  if (data_type == "multiselectpicklist" || data_type == "multiselectlookup") return "jsonarray";
  return "string";
}

// A data_type for a stored raw value (modules seeded without field definitions).
std::string data_type_of_raw(const std::string& raw) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(raw).get(e) != simdjson::SUCCESS) return "text";
  switch (e.type()) {
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64: return "integer";
    case simdjson::dom::element_type::DOUBLE: return "double";
    case simdjson::dom::element_type::BOOL: return "boolean";
    case simdjson::dom::element_type::OBJECT: return "lookup";
    case simdjson::dom::element_type::ARRAY: return "multiselectpicklist";
    default: return "text";
  }
}

bool digits(std::string_view s, std::size_t from, std::size_t n) {
  if (s.size() < from + n) return false;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(from), s.begin() + static_cast<std::ptrdiff_t>(from + n),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// "yyyy-MM-dd"
bool crm_date(std::string_view s) {
  return s.size() == 10 && digits(s, 0, 4) && s[4] == '-' && digits(s, 5, 2) && s[7] == '-' && digits(s, 8, 2) &&
         parse_iso8601(s).has_value();
}

// "yyyy-MM-ddTHH:mm:ss±HH:MM"
bool crm_datetime(std::string_view s) {
  return s.size() == 25 && crm_date(s.substr(0, 10)) && s[10] == 'T' && digits(s, 11, 2) && s[13] == ':' &&
         digits(s, 14, 2) && s[16] == ':' && digits(s, 17, 2) && (s[19] == '+' || s[19] == '-') && digits(s, 20, 2) &&
         s[22] == ':' && digits(s, 23, 2) && parse_iso8601(s).has_value();
}

// Does a JSON value fit a CRM data_type? (null clears any field.)
bool value_fits(const std::string& data_type, simdjson::dom::element v) {
  using T = simdjson::dom::element_type;
  const T t = v.type();
  if (t == T::NULL_VALUE) return true;
  const std::string json_type = json_type_of(data_type);
  if (json_type == "integer") return t == T::INT64 || t == T::UINT64;
  if (json_type == "double") return t == T::INT64 || t == T::UINT64 || t == T::DOUBLE;
  if (json_type == "boolean") return t == T::BOOL;
  if (json_type == "jsonarray") return t == T::ARRAY;
  if (json_type == "jsonobject") {
    // A lookup takes {"id": "..."} (U: also the bare id as a string).
    std::string_view id;
    return (t == T::OBJECT && v["id"].get_string().get(id) == simdjson::SUCCESS) || t == T::STRING;
  }
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return false;
  if (data_type == "date") return crm_date(s);
  if (data_type == "datetime") return crm_datetime(s);
  return true;
}

std::string field_json(const Sandbox::CrmField& f) {
  json::Writer w;
  w.begin_object().field("api_name", f.api_name).field("field_label", f.label).field("display_label", f.label);
  w.field("data_type", f.data_type).field("json_type", json_type_of(f.data_type));
  w.field("read_only", f.read_only).field("field_read_only", f.read_only).field("id", f.id);
  w.field("custom_field", false).field("visible", true).field("length", f.data_type == "textarea" ? 32000 : 255);
  w.key("decimal_place");
  if (json_type_of(f.data_type) == "double") w.value(2);
  else w.null();
  w.key("lookup").begin_object().end_object().key("pick_list_values").begin_array();
  for (const auto& v : f.pick_list)
    w.begin_object().field("display_value", v).field("actual_value", v).end_object();
  w.end_array().end_object();
  return w.str();
}

std::string record_error(const std::string& api_name, const std::string& expected) {
  json::Writer w;
  w.begin_object().field("code", "INVALID_DATA").key("details").begin_object();
  if (!expected.empty()) w.field("expected_data_type", expected);
  w.field("api_name", api_name).end_object().field("message", "invalid data").field("status", "error").end_object();
  return w.str();
}

}  // namespace

const std::vector<Sandbox::CrmField>* Sandbox::fields_of(const std::string& module) const {
  auto it = fields_.find(module);
  return it == fields_.end() || it->second.empty() ? nullptr : &it->second;
}

bool Sandbox::module_known(const std::string& module) const {
  return fields_.count(module) || modules_.count(module);
}

// GET /crm/v2/settings/fields?module=X -> {"fields":[...]}; 1 credit.
net::HttpReply Sandbox::crm_fields(const net::HttpRequest& r) {
  auto& st = stats_["crm/settings/fields"];
  ++st.calls;
  if (!take_credits(1)) {
    ++st.errors["TOO_MANY_REQUESTS"];
    return json_reply(429, crm_error_body("TOO_MANY_REQUESTS", "API credits exhausted for the day"));
  }
  const std::string module = r.param("module").value_or("");
  if (module.empty()) {
    ++st.errors["REQUIRED_PARAM_MISSING"];
    return json_reply(400, crm_error_body("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                                          R"({"param":"module"})"));
  }
  if (!module_known(module)) {
    ++st.errors["INVALID_MODULE"];
    return json_reply(400, crm_error_body("INVALID_MODULE", "the module name given seems to be invalid"));
  }
  std::vector<CrmField> derived;
  const std::vector<CrmField>* defs = fields_of(module);
  if (!defs) {
    // No definitions seeded: the system fields plus what the records hold.
    std::map<std::string, std::string> seen;
    if (auto it = modules_.find(module); it != modules_.end())
      for (const auto& rec : it->second)
        for (const auto& [name, raw] : rec.fields)
          if (!seen.count(name) && name.front() != '$') seen[name] = data_type_of_raw(raw);
    std::uint64_t n = 0;
    auto add = [&](const std::string& name, const std::string& type, bool ro) {
      derived.push_back(CrmField{name, replace_all(name, "_", " "), type, std::to_string(4150868000000001000ULL + ++n), ro, {}});
    };
    add("Created_Time", "datetime", true);
    add("Modified_Time", "datetime", true);
    for (const auto& [name, type] : seen) add(name, type, false);
    defs = &derived;
  }
  std::string body = R"({"fields":[)";
  for (std::size_t i = 0; i < defs->size(); ++i) body += (i ? "," : "") + field_json((*defs)[i]);
  return json_reply(200, body + "]}");
}

// The INVALID_DATA record reply for one api_name and raw JSON value, or
// nullopt when it is acceptable. Only for modules with field definitions.
std::optional<std::string> Sandbox::put_field_error(const std::string& module, const std::string& api_name,
                                                    const std::string& raw_value) const {
  const auto* defs = fields_of(module);
  if (!defs) return std::nullopt;
  auto it = std::find_if(defs->begin(), defs->end(), [&](const CrmField& f) { return f.api_name == api_name; });
  if (it == defs->end()) {
    if (!b_.crm_refuse_unknown_fields) return std::nullopt;
    return record_error(api_name, "");
  }
  if (it->read_only) return b_.crm_refuse_read_only ? std::optional<std::string>(record_error(api_name, "")) : std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element v;
  if (parser.parse(raw_value).get(v) != simdjson::SUCCESS || !value_fits(it->data_type, v))
    return record_error(api_name, it->data_type);  // C2: expected_data_type is the field's data_type
  return std::nullopt;
}

// One record of a PUT: its reply object; `ok` tells success. Values are
// checked first, so a refused record changes nothing.
std::string Sandbox::put_record(const std::string& module, const std::string& raw_record, bool& ok) {
  ok = false;
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  std::string_view id;
  if (parser.parse(raw_record).get_object().get(o) != simdjson::SUCCESS ||
      o["id"].get_string().get(id) != simdjson::SUCCESS)
    return R"({"code":"MANDATORY_NOT_FOUND","details":{"api_name":"id"},"message":"required field not found","status":"error"})";
  auto& records = modules_[module];
  auto it = std::find_if(records.begin(), records.end(), [&](const CrmRecord& x) { return x.id == id; });
  if (it == records.end())
    return R"({"code":"INVALID_DATA","details":{"id":)" + json::quote(id) +
           R"(},"message":"the related id given seems to be invalid","status":"error"})";
  std::map<std::string, std::string> values;
  const auto* defs = fields_of(module);
  for (auto [k, v] : o) {
    if (k == "id") continue;
    const std::string name(k), raw(simdjson::minify(v));
    if (auto error = put_field_error(module, name, raw)) return *error;
    // Ignored (switches off): read-only and unknown fields are not stored.
    const bool defined = !defs || std::any_of(defs->begin(), defs->end(), [&](const CrmField& f) {
                           return f.api_name == name && !f.read_only;
                         });
    if (defined) values[name] = raw;
  }
  for (auto& [name, raw] : values) it->fields[name] = std::move(raw);
  it->modified = crm_now();
  ok = true;
  const std::string modified = format_utc_iso_offset(it->modified), created = format_utc_iso_offset(it->created);
  return R"({"code":"SUCCESS","details":{"Modified_Time":)" + json::quote(modified) +
         R"(,"Modified_By":{"name":"API","id":"1"},"Created_Time":)" + json::quote(created) + R"(,"id":)" +
         json::quote(it->id) + R"(,"Created_By":{"name":"API","id":"1"}},"message":"record updated","status":"success"})";
}

// GET /crm/v2/{module}?ids=a,b,c[&fields=...]: those records, in the order
// asked (missing ids are absent), at most 100 ids (C for v1's idlist, U for
// v2: more -> 400 LIMIT_EXCEEDED); 204 when none exists. page, sort and
// If-Modified-Since do not apply. The credit is taken by crm_get.
net::HttpReply Sandbox::crm_get_ids(const net::HttpRequest& r, const std::string& module, const std::string& ids) {
  auto& st = stats_["crm/" + module];
  const auto wanted = split_list(ids);
  if (wanted.size() > 100) {
    ++st.errors["LIMIT_EXCEEDED"];
    return json_reply(400, crm_error_body("LIMIT_EXCEEDED", "the number of ids exceeds the limit",
                                          R"({"param_name":"ids","maximum":100})"));
  }
  std::vector<std::string> fields;
  if (auto f = r.param("fields")) fields = split_list(*f);
  if (fields.size() > 50) {
    ++st.errors["LIMIT_EXCEEDED"];
    return json_reply(400, crm_error_body("LIMIT_EXCEEDED", "at most 50 fields"));
  }
  const auto& records = modules_[module];
  std::string body = R"({"data":[)";
  std::set<std::string> done;
  std::int64_t count = 0;
  for (const auto& id : wanted) {
    if (!done.insert(id).second) continue;
    auto it = std::find_if(records.begin(), records.end(), [&](const CrmRecord& x) { return x.id == id; });
    if (it == records.end()) continue;
    body += (count++ ? "," : "") + record_json(*it, fields);
  }
  if (count == 0) return json_reply(204, "");
  body += R"(],"info":{"per_page":200,"count":)" + std::to_string(count) + R"(,"page":1,"more_records":false}})";
  return json_reply(200, body);
}

}  // namespace peoplesync::sandbox
