// peoplesync-sandbox: serves the sandbox over TLS on a loopback address and
// prints one JSON line with its URL, CA file and a ready-to-paste zoho: block.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "net/http_server.hpp"
#include "net/tls_cert.hpp"
#include "sandbox/datefmt.hpp"
#include "sandbox/sandbox.hpp"

namespace {

constexpr const char* kHelp = R"(peoplesync-sandbox — a local, faithful Zoho (OAuth, CRM v2, People time tracker) over TLS

Usage: peoplesync-sandbox [options]

  --listen ADDR          host:port to listen on (default 127.0.0.1:0 = any free port)
  --tls-dir DIR          where the CA and server certificate live; made if missing
                         (default ./sandbox-tls)
  --plain-http           serve http:// instead (tests only)
  --seed FILE|demo:N     initial data: a JSON file (see sandbox/README.md) or a generated
                         organisation with N calls, N/5 deals, N/20 projects
  --time-scale X         every sandbox duration runs X times faster (token lifetimes,
                         limit windows, lock periods, the 24 h credit window)
  --faults SPEC          e.g. error_rate=0.05,latency_ms=20,drop_after=0.01,truncate=0.01,
                         garbage=0.01,trickle=0,drop_before=0,only=/people/
  --random-seed N        seed for faults and generated data (default 1)
  --token-lifetime-s N   access token lifetime in seconds (default 3600)
  --ms-expires-in        answer the older OAuth form: expires_in in milliseconds
  --page-token           offer CRM info.next_page_token (v3 behaviour)
  --no-page-cap          let CRM `page` go past 2000 records
  --ims-inclusive        CRM If-Modified-Since compares >= (default: strictly after)
  --no-limits            switch People thresholds and lock periods off
  --people-error-status S  HTTP status of People error replies: 200 (default) or 400
  --date-format FMT      People's company date format (default dd-MMM-yyyy): the forms
                         API (P_TimesheetJob StartDate/EndDate) accepts only it (7055
                         otherwise); getjobs, getjobdetails and gettimelogs read and
                         write dates in it unless the call gives dateFormat. Fields dd,
                         MM, MMM, yyyy separated by - / . or a space
  --timelog-echo MODE    addupdatetimelogs errorLogs: normalised (default: user = erecno,
                         jobId = the job's name, hours HH:mm, date in the company format)
                         or verbatim (each as sent)
  --timelog-work-item    gettimelogs rows carry workItem (real ones do not)
  --people-empty-list M  an empty page of getprojects/getjobs/gettimelogs/getclients:
                         no_result (default: status 0 without "result") or empty_array
  --employee-no-hit M    employee records search without a match: error_7024 (default:
                         status 1, errors {7024, "No records found"}) or empty_array ([])
  --employee-email-label L  email column label of the employee view rows (default "Email ID")
  --credits N            CRM credits per rolling 24 h (default 50000)
  --people-auth-status S People reply to a bad/expired/evicted access token (envelope,
                         code 7202): HTTP 400 (default) or 200
  --people-auth-code C   that reply's code: 7202 (default, "Invalid OAuth token") or 7213
  --grant-code-lifetime-s N  authorization codes (POST /_admin/grant_code) expire after N s
                         (default 180); single use; a bad one: HTTP 200 {"error":"invalid_code"}
  --ims-accept-z         accept If-Modified-Since (and COQL datetimes) with a bare 'Z'
                         (default: 400 INVALID_DATA {"header":"If-Modified-Since"})
  --crm-ignore-read-only PUT silently drops read-only fields (default: that record
                         INVALID_DATA {"api_name"}), for modules with field definitions
  --crm-ignore-unknown-fields  PUT silently drops api_names the module does not define
                         (default: that record INVALID_DATA {"api_name"})
  --coql-max-limit N     COQL LIMIT maximum (default 200, v2); above: 400 LIMIT_EXCEEDED
  --coql-max-reach N     COQL LIMIT + OFFSET maximum (default 10000)
  --coql-full-lookups    COQL returns lookup columns whole (default: {"id":...} only)
  -h, --help             this text

Client id, secret and refresh token accepted: sandbox-client, sandbox-secret,
sandbox-refresh-token. Admin API under /_admin/ (loopback only): see sandbox/sandbox.hpp.

OAuth: grant_type=refresh_token, or authorization_code with a code made by
POST /_admin/grant_code?code=C[&scopes=a,b] (answers access_token, refresh_token,
api_domain, token_type, expires_in). Scopes per refresh token: POST /_admin/scopes
?refresh_token=T&scopes=a,b (default: every scope). Outside its scope a call answers
CRM 401 OAUTH_SCOPE_MISMATCH or People code 7218 "Invalid OAuth Scope".
CRM: GET /crm/v2/settings/fields?module=M, GET /crm/v2/M?ids=a,b (<= 100),
POST /crm/v2/coql {"select_query": "select f from M where (a = 'x' and b > 1)
order by id asc limit 200 offset 0"} (also "limit K, N"); typed PUT per field definitions.

People employees: GET /people/api/forms/P_EmployeeView/records?searchColumn=EMPLOYEEMAILALIAS
(or EMPLOYEEID)&searchValue=V answers a bare JSON array of rows {"recordId" (the erecno),
"EmployeeID", "First Name", "Last Name", "Email ID", ...}; without a search it lists
everyone (sIndex from 1, limit <= 200). /people/api/forms/employee/getRecords is the
bulk form API (wrapped). The forms API takes Assignees as erecnos separated by ';'
(or All); addupdatetimelogs and gettimelogs take a user's email, erecno or employee id.
The seed file's format is described in sandbox/sandbox.hpp (seed_json).
)";

bool number(const std::string& s, double& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

int usage(const std::string& msg) {
  std::cerr << "peoplesync-sandbox: " << msg << "\nTry 'peoplesync-sandbox --help'.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace peoplesync;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string listen = "127.0.0.1:0", tls_dir = "sandbox-tls", seed, faults;
  bool plain = false;
  double scale = 1, random_seed = 1;
  sandbox::Behaviour b;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      std::cout << kHelp;
      return 0;
    } else if (a == "--listen") {
      if (!value(listen)) return usage("--listen needs HOST:PORT");
    } else if (a == "--tls-dir") {
      if (!value(tls_dir)) return usage("--tls-dir needs a directory");
    } else if (a == "--plain-http") {
      plain = true;
    } else if (a == "--seed") {
      if (!value(seed)) return usage("--seed needs FILE or demo:N");
    } else if (a == "--faults") {
      if (!value(faults)) return usage("--faults needs a SPEC");
    } else if (a == "--time-scale") {
      if (!value(v) || !number(v, scale) || scale <= 0) return usage("--time-scale needs a positive number");
    } else if (a == "--random-seed") {
      if (!value(v) || !number(v, random_seed)) return usage("--random-seed needs a number");
    } else if (a == "--token-lifetime-s") {
      double s = 0;
      if (!value(v) || !number(v, s) || s < 1) return usage("--token-lifetime-s needs a number >= 1");
      b.token_lifetime = Millis{static_cast<std::int64_t>(s * 1000)};
    } else if (a == "--ms-expires-in") {
      b.millisecond_expires_in = true;
    } else if (a == "--page-token") {
      b.crm_page_token = true;
    } else if (a == "--no-page-cap") {
      b.crm_page_cap = false;
    } else if (a == "--ims-inclusive") {
      b.ims_inclusive = true;
    } else if (a == "--no-limits") {
      b.people_limits = false;
    } else if (a == "--people-error-status") {
      if (!value(b.people_http_error_status) || (b.people_http_error_status != "200" && b.people_http_error_status != "400"))
        return usage("--people-error-status is 200 or 400");
    } else if (a == "--date-format") {
      if (!value(b.people_date_format) || !sandbox::datefmt::valid_pattern(b.people_date_format))
        return usage("--date-format needs a pattern of dd, MM or MMM, yyyy separated by - / . or a space");
    } else if (a == "--timelog-echo") {
      if (!value(b.timelog_echo) || (b.timelog_echo != "normalised" && b.timelog_echo != "verbatim"))
        return usage("--timelog-echo is normalised or verbatim");
    } else if (a == "--timelog-work-item") {
      b.timelog_work_item = true;
    } else if (a == "--people-empty-list") {
      if (!value(b.people_empty_list) || (b.people_empty_list != "no_result" && b.people_empty_list != "empty_array"))
        return usage("--people-empty-list is no_result or empty_array");
    } else if (a == "--employee-no-hit") {
      if (!value(b.employee_no_hit) || (b.employee_no_hit != "error_7024" && b.employee_no_hit != "empty_array"))
        return usage("--employee-no-hit is error_7024 or empty_array");
    } else if (a == "--employee-email-label") {
      if (!value(b.employee_email_label) || b.employee_email_label.empty()) return usage("--employee-email-label needs a label");
    } else if (a == "--people-auth-status") {
      if (!value(b.people_auth_http_status) || (b.people_auth_http_status != "200" && b.people_auth_http_status != "400"))
        return usage("--people-auth-status is 200 or 400");
    } else if (a == "--people-auth-code") {
      if (!value(b.people_auth_code) || (b.people_auth_code != "7202" && b.people_auth_code != "7213"))
        return usage("--people-auth-code is 7202 or 7213");
    } else if (a == "--grant-code-lifetime-s") {
      double s = 0;
      if (!value(v) || !number(v, s) || s < 1) return usage("--grant-code-lifetime-s needs a number >= 1");
      b.grant_code_lifetime = Millis{static_cast<std::int64_t>(s * 1000)};
    } else if (a == "--ims-accept-z") {
      b.crm_ims_refuse_z = false;
    } else if (a == "--crm-ignore-read-only") {
      b.crm_refuse_read_only = false;
    } else if (a == "--crm-ignore-unknown-fields") {
      b.crm_refuse_unknown_fields = false;
    } else if (a == "--coql-max-limit" || a == "--coql-max-reach") {
      double n = 0;
      if (!value(v) || !number(v, n) || n < 1 || n > 1e7) return usage(a + " needs a number >= 1");
      (a == "--coql-max-limit" ? b.coql_max_limit : b.coql_max_reach) = static_cast<int>(n);
    } else if (a == "--coql-full-lookups") {
      b.coql_lookup_id_only = false;
    } else if (a == "--credits") {
      double c = 0;
      if (!value(v) || !number(v, c) || c < 0) return usage("--credits needs a number");
      b.crm_daily_credits = static_cast<std::int64_t>(c);
    } else {
      return usage("unknown option '" + a + "'");
    }
  }
  const auto colon = listen.rfind(':');
  double port = 0;
  if (colon == std::string::npos || !number(listen.substr(colon + 1), port) || port < 0 || port > 65535)
    return usage("--listen needs HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);

  try {
    sandbox::ScaledClock clock(scale);
    sandbox::Sandbox sb(clock, b, static_cast<std::uint64_t>(random_seed));
    if (!faults.empty()) {
      std::string error;
      auto f = sandbox::parse_faults(faults, &error);
      if (!f) return usage(error);
      sb.set_faults(*f);
    }
    if (seed.rfind("demo:", 0) == 0) {
      double n = 0;
      if (!number(seed.substr(5), n) || n < 1) return usage("--seed demo:N needs N >= 1");
      sb.seed_demo(static_cast<int>(n));
    } else if (!seed.empty()) {
      std::ifstream in(seed);
      if (!in) return usage("cannot read seed file " + seed);
      std::stringstream ss;
      ss << in.rdbuf();
      if (auto err = sb.seed_json(ss.str())) return usage("seed file " + seed + ": " + *err);
    }
    net::ServerOptions opt;
    opt.host = host;
    opt.port = static_cast<std::uint16_t>(port);
    if (!plain) opt.tls = net::ensure_tls_files(tls_dir);
    boost::asio::io_context io;
    net::HttpServer server(io, opt, [&](const net::HttpRequest& r) { return sb.handle(r); });
    const std::string url = server.base_url();
    const std::string ca = plain ? "" : std::string(opt.tls->ca_cert);
    std::string block = "zoho:\n  accounts_url: " + url + "\n  crm_url: " + url + "\n  people_url: " + url +
                        "\n  client_id: " + b.client_id + "\n  client_secret: " + b.client_secret +
                        "\n  refresh_token: " + b.refresh_tokens.front() + "\n";
    if (!plain) block += "  ca_file: " + ca + "\n";
    json::Writer w;
    w.begin_object().field("url", url).field("ca_file", ca).field("time_scale", scale).field("config", block).end_object();
    std::cout << w.str() << std::endl;
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      server.stop();
      io.stop();
    });
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "peoplesync-sandbox: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
