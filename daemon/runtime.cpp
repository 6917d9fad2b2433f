#include "daemon/runtime.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <random>
#include <sstream>

#include "common/json.hpp"
#include "common/log.hpp"
#include "connectors/beast_transport.hpp"
#include "connectors/crm.hpp"
#include "connectors/people.hpp"
#include "daemon/exit_codes.hpp"
#include "state/store.hpp"
#include "sync/engine.hpp"
#include "sync/scheduler.hpp"

namespace peoplesync::runtime {
namespace {

namespace asio = boost::asio;

class SystemRandom final : public connectors::Random {
 public:
  SystemRandom() : rng_(std::random_device{}()) {}
  double uniform() override { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

 private:
  std::mt19937_64 rng_;
};

int exit_code_of(sync::RunOutcome o) {
  switch (o) {
    case sync::RunOutcome::ok: return to_int(ExitCode::ok);
    case sync::RunOutcome::dead_letters: return to_int(ExitCode::dead_letters);
    case sync::RunOutcome::temporary: return to_int(ExitCode::temporary);
    case sync::RunOutcome::auth: return to_int(ExitCode::auth);
  }
  return to_int(ExitCode::temporary);
}

std::string summary_line(const sync::RunReport& r) {
  std::ostringstream s;
  for (const auto& x : r.streams) {
    if (s.tellp() > 0) s << "; ";
    s << x.stream << ": read " << x.read << ", created " << x.created << ", updated " << x.updated << ", dead "
      << x.dead_lettered << (x.completed ? "" : " (stopped)");
  }
  return s.str();
}

void print_table(const sync::RunReport& r, std::ostream& out) {
  out << std::left << std::setw(14) << "stream" << std::right << std::setw(8) << "read" << std::setw(9) << "created"
      << std::setw(9) << "updated" << std::setw(8) << "status" << std::setw(9) << "deleted" << std::setw(11)
      << "unchanged" << std::setw(9) << "waiting" << std::setw(6) << "dead" << std::setw(7) << "calls"
      << "  state\n";
  for (const auto& x : r.streams) {
    out << std::left << std::setw(14) << x.stream << std::right << std::setw(8) << x.read << std::setw(9)
        << x.created << std::setw(9) << x.updated << std::setw(8) << x.status_changes << std::setw(9) << x.deleted
        << std::setw(11) << x.unchanged << std::setw(9) << x.parked << std::setw(6) << x.dead_lettered
        << std::setw(7) << x.api_calls << "  "
        << (x.completed ? (x.not_modified ? "done (304: unchanged)" : "done") : "stopped: " + x.error) << "\n";
  }
}

void print_plan(const sync::RunReport& r, bool as_json, std::ostream& out) {
  if (as_json) {
    json::Writer w;
    w.begin_object().key("streams").begin_array();
    for (const auto& x : r.streams) {
      w.begin_object()
          .field("stream", x.stream)
          .field("read", x.read)
          .field("creates", x.created)
          .field("updates", x.updated)
          .field("status_changes", x.status_changes)
          .field("deletes", x.deleted)
          .field("unchanged", x.unchanged)
          .field("filtered", x.filtered)
          .field("waiting", x.parked)
          .field("dead_letters", x.dead_lettered)
          .field("api_calls", x.api_calls)
          .field("complete", x.completed);
      if (!x.error.empty()) w.field("error", x.error);
      w.key("first_items").begin_array();
      for (const auto& p : x.plan) w.value(p);
      w.end_array().end_object();
    }
    w.end_array().end_object();
    out << w.str() << "\n";
    return;
  }
  out << "dry run: nothing was written to Zoho or to the state file\n";
  for (const auto& x : r.streams) {
    out << "\n" << x.stream << ": " << x.read << " read, " << x.created << " to create, " << x.updated
        << " to update, " << x.status_changes << " status changes, " << x.deleted << " deletes, " << x.unchanged
        << " unchanged, " << x.filtered << " filtered out, " << x.parked << " waiting, " << x.dead_lettered
        << " would be dead-lettered; " << x.api_calls << " read calls made\n";
    if (!x.error.empty()) out << "  stopped: " << x.error << "\n";
    for (const auto& p : x.plan) out << "  " << p << "\n";
  }
}

}  // namespace

int run(const config::Config& cfg, state::Store& store, const RunOptions& options, const Clock& clock,
        std::ostream& out, PassTotals* totals) {
  log::Logger log("daemon");
  asio::io_context io;
  connectors::TransportOptions topt;
  topt.connect_timeout = cfg.zoho.timeouts.connect;
  topt.request_timeout = cfg.zoho.timeouts.request;
  topt.io_timeout = std::min(cfg.zoho.timeouts.request, Millis{30'000});
  topt.ca_file = cfg.zoho.ca_file;
  std::unique_ptr<connectors::Transport> transport;
  try {
    transport = connectors::make_beast_transport(io.get_executor(), topt);
  } catch (const std::exception& e) {
    log.error("cannot set up TLS: {}", e.what());
    return to_int(ExitCode::config);
  }
  connectors::AsioSleeper sleeper;
  SystemRandom random;
  connectors::TokenProvider tokens(*transport, cfg.zoho, clock, sleeper, random);
  connectors::ZohoApi api(*transport, tokens, clock, sleeper, random);
  sync::Scheduler scheduler(cfg.limits, &store, clock, sleeper);
  api.set_gate(scheduler);
  connectors::CrmClient crm(api, cfg.zoho.crm_url);
  connectors::PeopleClient people(api, cfg.zoho.people_url);

  sync::EngineOptions eo;
  eo.dry_run = options.mode == RunOptions::Mode::dry_run;
  eo.since = options.since;
  eo.streams = options.streams;
  sync::Engine engine(cfg, store, crm, people, clock, eo);

  const bool tty = options.progress_on_tty && ::isatty(STDERR_FILENO) == 1;
  if (tty) {
    engine.on_progress([](const sync::StreamReport& r) {
      std::fprintf(stderr, "\r\033[K%s: read %lld, created %lld, updated %lld, waiting %lld, dead %lld, calls %lld",
                   r.stream.c_str(), static_cast<long long>(r.read), static_cast<long long>(r.created),
                   static_cast<long long>(r.updated), static_cast<long long>(r.parked),
                   static_cast<long long>(r.dead_lettered), static_cast<long long>(r.api_calls));
    });
  }

  const char* mode = options.mode == RunOptions::Mode::daemon     ? "daemon"
                     : options.mode == RunOptions::Mode::dry_run ? "dry-run"
                                                                 : "run-once";
  int exit_code = 0;
  bool stopping = false;
  asio::steady_timer poll_timer(io);
  asio::steady_timer drain_timer(io);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log.info("signal {}: finishing the write in flight, committing, stopping", sig);
    stopping = true;
    engine.request_stop();
    poll_timer.cancel();
    // Whatever is still in flight after the grace period is abandoned: its
    // intent is in the outbox and is reconciled at the next start.
    drain_timer.expires_after(std::chrono::seconds(9));
    drain_timer.async_wait([&](const boost::system::error_code& e) {
      if (!e) {
        log.warn("in-flight calls did not finish within the grace period; abandoning them (outbox keeps them)");
        io.stop();
      }
    });
  });

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          const std::int64_t run_id = eo.dry_run ? 0 : store.begin_run(mode);
          sync::RunReport report = co_await engine.run_once();
          if (tty) std::fprintf(stderr, "\r\033[K");
          exit_code = stopping && report.outcome == sync::RunOutcome::temporary ? to_int(ExitCode::ok)
                                                                                  : exit_code_of(report.outcome);
          if (!eo.dry_run) store.finish_run(run_id, exit_code, summary_line(report));
          if (totals) {
            for (const auto& x : report.streams) {
              totals->read += x.read;
              totals->created += x.created;
              totals->updated += x.updated;
              totals->status_changes += x.status_changes;
              totals->deleted += x.deleted;
              totals->unchanged += x.unchanged;
              totals->dead_lettered += x.dead_lettered;
              totals->parked += x.parked;
              totals->calls += x.api_calls;
              totals->not_modified_streams += x.not_modified ? 1 : 0;
            }
          }
          if (options.mode != RunOptions::Mode::daemon) {
            if (eo.dry_run) print_plan(report, options.json, out);
            else print_table(report, out);
            break;
          }
          if (stopping) break;
          log.info("pass done ({}); next in {}", to_string(report.outcome),
                   config::format_duration(cfg.service.poll_interval));
          poll_timer.expires_after(cfg.service.poll_interval);
          co_await poll_timer.async_wait(asio::as_tuple(asio::use_awaitable));
          if (stopping) break;
        }
        signals.cancel();
        drain_timer.cancel();
        io.stop();  // idle keep-alive connections and their timers go with it
      },
      asio::detached);
  io.run();
  if (stopping) log.info("stopped");
  return exit_code;
}

}  // namespace peoplesync::runtime

namespace peoplesync::runtime {

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
