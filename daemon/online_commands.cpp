// The one-shot online commands (`check --online`, `auth --code`) and the
// demo's HTTPS GET, each on an io_context of its own with the production
// transport.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include "connectors/beast_transport.hpp"
#include "connectors/crm.hpp"
#include "connectors/oauth.hpp"
#include "connectors/people.hpp"
#include "daemon/exit_codes.hpp"
#include "daemon/metered_transport.hpp"
#include "daemon/run_report.hpp"
#include "daemon/runtime.hpp"
#include "sync/preflight.hpp"

namespace peoplesync::runtime {

namespace {

// The production transport of a one-shot command (check --online, auth).
std::unique_ptr<connectors::Transport> command_transport(const config::Config& cfg, boost::asio::io_context& io) {
  connectors::TransportOptions topt;
  topt.connect_timeout = cfg.zoho.timeouts.connect;
  topt.request_timeout = cfg.zoho.timeouts.request;
  topt.ca_file = cfg.zoho.ca_file;
  return connectors::make_beast_transport(io.get_executor(), topt);
}

}  // namespace

int check_online(const config::Config& cfg, const Clock& clock, std::ostream& out) {
  boost::asio::io_context io;
  auto transport = command_transport(cfg, io);
  connectors::AsioSleeper sleeper;
  SystemRandom random;
  connectors::TokenProvider tokens(*transport, cfg.zoho, clock, sleeper, random);
  tokens.set_max_attempts(3);
  connectors::ZohoApi api(*transport, tokens, clock, sleeper, random, connectors::BackoffPolicy{Millis{500}, Millis{5000}, 2});
  connectors::CrmClient crm(api, cfg.zoho.crm_url);
  connectors::PeopleClient people(api, cfg.zoho.people_url, cfg.people.date_format);
  sync::PreflightReport report;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        report = co_await sync::preflight(cfg, tokens, crm, people, clock);
        io.stop();
      },
      boost::asio::detached);
  io.run();
  out << sync::format_report(report);
  return report.ok() ? to_int(ExitCode::ok) : exit_code_of(report.worst());
}

namespace {

// Writes `text` to `path` as a new file of mode 0600, atomically (a temporary
// file in the same directory, then rename); the error text on failure.
std::optional<std::string> write_private_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());  // created 0600
  if (fd < 0) return "cannot create a file beside " + path + ": " + std::strerror(errno);
  const std::string line = text + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = written ? errno : saved;
    ::unlink(tmp.c_str());
    return "cannot write " + path + ": " + std::strerror(e);
  }
  return std::nullopt;
}

}  // namespace

int auth_with_code(const config::Config& cfg, const std::string& code, const Clock& clock, std::ostream& out,
                   std::ostream& err) {
  if (!cfg.zoho.refresh_token_file) {
    err << "peoplesync auth: zoho.refresh_token_file is not set in " << cfg.file
        << ": set it to where the refresh token goes (e.g. /etc/peoplesync/refresh_token)\n";
    return to_int(ExitCode::config);
  }
  if (cfg.zoho.client_id.empty() || cfg.zoho.client_secret.empty()) {
    err << "peoplesync auth: zoho.client_id and zoho.client_secret are needed to exchange the code\n";
    return to_int(ExitCode::config);
  }
  boost::asio::io_context io;
  auto transport = command_transport(cfg, io);
  connectors::AsioSleeper sleeper;
  SystemRandom random;
  config::Zoho zoho = cfg.zoho;
  int code_out = to_int(ExitCode::ok);
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto got = co_await connectors::exchange_grant_code(*transport, zoho, code);
        if (auto* e = std::get_if<connectors::CallError>(&got)) {
          err << "peoplesync auth: " << e->message << "\n";
          code_out = e->outcome == connectors::Outcome::auth ? to_int(ExitCode::auth) : to_int(ExitCode::temporary);
          io.stop();
          co_return;
        }
        const auto& reply = std::get<connectors::TokenReply>(got);
        if (auto problem = write_private_file(*zoho.refresh_token_file, reply.refresh_token)) {
          err << "peoplesync auth: " << *problem << "\n";
          code_out = to_int(ExitCode::config);
          io.stop();
          co_return;
        }
        out << "refresh token stored in " << *zoho.refresh_token_file << " (mode 0600)\n";
        if (!reply.api_domain.empty() && reply.api_domain != zoho.crm_url)
          out << "note: Zoho says this account's API host is " << reply.api_domain << ", but zoho.crm_url is "
              << zoho.crm_url << ": check zoho.data_center\n";
        // Tried once: a refresh with the new token.
        zoho.refresh_token.value = reply.refresh_token;
        zoho.refresh_token.source = "zoho.refresh_token_file " + *zoho.refresh_token_file;
        connectors::TokenProvider tokens(*transport, zoho, clock, sleeper, random);
        tokens.set_max_attempts(2);
        auto t = co_await tokens.access_token();
        if (auto* e = std::get_if<connectors::CallError>(&t)) {
          err << "peoplesync auth: the new refresh token did not work: " << e->message << "\n";
          code_out = e->outcome == connectors::Outcome::auth ? to_int(ExitCode::auth) : to_int(ExitCode::temporary);
        } else {
          out << "ok: the refresh token works (an access token was obtained from " << zoho.accounts_url << ")\n";
        }
        io.stop();
      },
      boost::asio::detached);
  io.run();
  return code_out;
}

std::optional<std::string> https_get(const std::string& base_url, const std::string& target,
                                     const std::optional<std::string>& ca_file) {
  boost::asio::io_context io;
  connectors::TransportOptions topt;
  topt.ca_file = ca_file;
  topt.request_timeout = Millis{10'000};
  auto transport = connectors::make_beast_transport(io.get_executor(), topt);
  std::optional<std::string> body;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        connectors::Request r;
        r.base_url = base_url;
        r.target = target;
        auto res = co_await transport->send(r);
        if (auto* ok = std::get_if<connectors::Response>(&res); ok && ok->status == 200) body = ok->body;
        io.stop();
      },
      boost::asio::detached);
  io.run();
  return body;
}

}  // namespace peoplesync::runtime
