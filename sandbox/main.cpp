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
  --credits N            CRM credits per rolling 24 h (default 50000)
  -h, --help             this text

Client id, secret and refresh token accepted: sandbox-client, sandbox-secret,
sandbox-refresh-token. Admin API under /_admin/ (loopback only): see sandbox/README.md.
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
