#pragma once
// A scripted Zoho for engine tests, over FakeTransport: the accounts server's
// token endpoint answers by itself; every other request is routed by its path
// (no query) to a reply the test set, and recorded. A request to a path no
// route answers is recorded in unrouted() and fails at the transport, so a
// test can tell that the engine asked something it did not expect.
//
// The reply bodies built here are shaped as Zoho sends them (People's
// {"response":{...}} envelope, CRM's {"data":[...],"info":{...}}), never in a
// shape only the clients accept: see tests/connectors/*_test.cpp.
#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/timefmt.hpp"
#include "connectors/http.hpp"
#include "support/fake_transport.hpp"

namespace peoplesync::testing {

// The value of `key` in a form body or a query string, percent-decoded.
inline std::string param_value(std::string_view params, std::string_view key) {
  std::size_t at = 0;
  while (at <= params.size()) {
    const std::size_t end = std::min(params.find('&', at), params.size());
    const std::string_view pair = params.substr(at, end - at);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == key) {
      std::string out;
      const std::string_view v = pair.substr(eq + 1);
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '%' && i + 2 < v.size()) {
          out.push_back(static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16)));
          i += 2;
        } else {
          out.push_back(v[i] == '+' ? ' ' : v[i]);
        }
      }
      return out;
    }
    at = end + 1;
  }
  return "";
}

// A parameter of a request, wherever the client put it (query or form body).
inline std::string request_param(const connectors::Request& r, std::string_view key) {
  const auto q = r.target.find('?');
  if (q != std::string::npos) {
    std::string v = param_value(std::string_view(r.target).substr(q + 1), key);
    if (!v.empty()) return v;
  }
  return param_value(r.body, key);
}

inline std::string path_of(const connectors::Request& r) { return r.target.substr(0, r.target.find('?')); }

inline connectors::Response json_reply(int status, std::string body) {
  connectors::Response r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/json;charset=UTF-8"});
  r.body = std::move(body);
  return r;
}

// People: a successful reply carrying `result` (a JSON value).
inline connectors::Response people_result(const std::string& result_json) {
  return json_reply(200, R"({"response":{"result":)" + result_json +
                             R"(,"message":"Data fetched successfully","status":0}})");
}

// People: an error reply, `errors` as an object as the forms API sends it.
inline connectors::Response people_error(const std::string& code, const std::string& message) {
  return json_reply(200, R"({"response":{"message":"Error occurred","errors":{"code":)" + code +
                             R"(,"message":")" + message + R"("},"status":1}})");
}

class FakeZoho {
 public:
  using Route = std::function<connectors::Result(const connectors::Request&)>;

  FakeZoho(std::string accounts_url, std::string crm_url, std::string people_url)
      : accounts_(std::move(accounts_url)), crm_(std::move(crm_url)), people_(std::move(people_url)) {
    transport.on([this](const connectors::Request& r) { return answer(r); });
  }
  FakeZoho(const FakeZoho&) = delete;
  FakeZoho& operator=(const FakeZoho&) = delete;

  FakeTransport transport;

  // Answers requests to `path` (e.g. "/people/api/timetracker/getjobs").
  void on(const std::string& path, Route route) { routes_[path] = std::move(route); }
  // Answers requests to `path` with the same reply each time.
  void on_reply(const std::string& path, connectors::Response reply) {
    routes_[path] = [reply](const connectors::Request&) -> connectors::Result { return reply; };
  }

  // Requests routed to `path`, in order (token grants are not recorded).
  std::vector<connectors::Request> calls(const std::string& path) const {
    std::vector<connectors::Request> out;
    for (const auto& r : calls_)
      if (path_of(r) == path) out.push_back(r);
    return out;
  }
  std::size_t count(const std::string& path) const { return calls(path).size(); }
  const std::vector<connectors::Request>& all_calls() const { return calls_; }
  const std::vector<std::string>& unrouted() const { return unrouted_; }
  int grants() const { return grants_; }

 private:
  connectors::Result answer(const connectors::Request& r) {
    const std::string path = path_of(r);
    if (r.base_url == accounts_ && path == "/oauth/v2/token") {
      ++grants_;
      return json_reply(200, R"({"access_token":"fake-access-)" + std::to_string(grants_) +
                                 R"(","api_domain":"https://www.zohoapis.example","token_type":"Bearer","expires_in":3600})");
    }
    // Each API on its own host, as the config says.
    const bool host_ok = (path.rfind("/people/", 0) == 0 && r.base_url == people_) ||
                         (path.rfind("/crm/", 0) == 0 && r.base_url == crm_);
    auto it = routes_.find(path);
    if (!host_ok || it == routes_.end()) {
      unrouted_.push_back(r.base_url + r.target);
      return connectors::Failure{connectors::TransportFailure::protocol, "FakeZoho: no route for " + r.base_url + path};
    }
    calls_.push_back(r);
    return it->second(r);
  }

  std::string accounts_, crm_, people_;
  std::map<std::string, Route> routes_;
  std::vector<connectors::Request> calls_;
  std::vector<std::string> unrouted_;
  int grants_ = 0;
};

// One CRM module's records as GET /crm/v2/{Module} serves them: sorted by
// Modified_Time, only those modified after If-Modified-Since (304 when none),
// on one page.
class FakeCrmModule {
 public:
  struct Record {
    std::string id, modified_time;
    std::string fields_json;  // more members of the record object, e.g. R"("Deal_Name":"A")"
  };
  std::vector<Record> records;

  void put(std::string id, std::string modified_time, std::string fields_json) {
    std::erase_if(records, [&](const Record& x) { return x.id == id; });
    records.push_back({std::move(id), std::move(modified_time), std::move(fields_json)});
  }

  connectors::Result answer(const connectors::Request& r) const {
    std::optional<SysTime> since;
    if (auto h = r.header("If-Modified-Since")) since = parse_iso8601(*h);
    std::vector<const Record*> hits;
    for (const auto& rec : records)
      if (!since || *parse_iso8601(rec.modified_time) > *since) hits.push_back(&rec);
    if (hits.empty()) return json_reply(304, "");
    std::stable_sort(hits.begin(), hits.end(), [](const Record* a, const Record* b) {
      return *parse_iso8601(a->modified_time) < *parse_iso8601(b->modified_time);
    });
    std::string body = R"({"data":[)";
    for (std::size_t i = 0; i < hits.size(); ++i) {
      body += (i ? "," : "") + std::string(R"({"id":")") + hits[i]->id + R"(","Modified_Time":")" +
              hits[i]->modified_time + '"' + (hits[i]->fields_json.empty() ? "" : ",") + hits[i]->fields_json + "}";
    }
    body += R"(],"info":{"per_page":200,"count":)" + std::to_string(hits.size()) +
            R"(,"page":1,"more_records":false}})";
    return json_reply(200, body);
  }
};

}  // namespace peoplesync::testing
