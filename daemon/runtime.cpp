#include "daemon/runtime.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

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
#include <set>
#include <sstream>

#include "common/json.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "config/loader.hpp"
#include "daemon/health.hpp"
#include "daemon/notify.hpp"
#include "connectors/beast_transport.hpp"
#include "connectors/crm.hpp"
#include "connectors/oauth.hpp"
#include "connectors/people.hpp"
#include "daemon/exit_codes.hpp"
#include "state/store.hpp"
#include "sync/engine.hpp"
#include "sync/preflight.hpp"
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

// Counts every request on the wire (retries included) per endpoint and
// status, with its duration, for /metrics.
class MeteredTransport final : public connectors::Transport {
 public:
  MeteredTransport(connectors::Transport& inner, metrics::Registry& m, const Clock& clock)
      : inner_(inner), m_(m), clock_(clock) {}
  asio::awaitable<connectors::Result> send(connectors::Request request) override {
    const std::string endpoint = request.endpoint.empty() ? "other" : request.endpoint;
    const auto start = clock_.steady_now();
    connectors::Result r = co_await inner_.send(std::move(request));
    const double secs = std::chrono::duration<double>(clock_.steady_now() - start).count();
    std::string code;
    if (const auto* ok = std::get_if<connectors::Response>(&r)) code = std::to_string(ok->status);
    else code = std::string(connectors::to_string(std::get<connectors::Failure>(r).kind));
    m_.inc(metrics::api_requests_total, {endpoint, code});
    m_.observe(metrics::api_request_duration_seconds, {endpoint}, secs);
    if (endpoint == "accounts/token") {
      const auto* ok = std::get_if<connectors::Response>(&r);
      const bool granted = ok && ok->status == 200 && ok->body.find("\"access_token\"") != std::string::npos;
      m_.inc(metrics::token_refresh_total, {granted ? "ok" : "error"});
    }
    co_return r;
  }

 private:
  connectors::Transport& inner_;
  metrics::Registry& m_;
  const Clock& clock_;
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

int exit_code_of(sync::Check::Kind k) {
  switch (k) {
    case sync::Check::Kind::auth: return to_int(ExitCode::auth);
    case sync::Check::Kind::config: return to_int(ExitCode::config);
    case sync::Check::Kind::temporary: return to_int(ExitCode::temporary);
  }
  return to_int(ExitCode::temporary);
}

std::vector<std::string> preflight_failures(const sync::PreflightReport& pf) {
  std::vector<std::string> out;
  for (const auto& c : pf.checks)
    if (c.status == sync::Check::Status::failed)
      out.push_back(c.name + ": " + c.detail + (c.fix.empty() ? "" : " (fix: " + c.fix + ")"));
  return out;
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

namespace {

// Everything that is built from one config; rebuilt when SIGHUP brings a new one.
struct Stack {
  Stack(const config::Config& cfg, state::Store& store, connectors::Transport& transport, const Clock& clock,
        connectors::Sleeper& sleeper, connectors::Random& random, const sync::EngineOptions& eo, bool one_shot)
      : tokens(transport, cfg.zoho, clock, sleeper, random),
        api(transport, tokens, clock, sleeper, random),
        scheduler(cfg.limits, &store, clock, sleeper),
        crm(api, cfg.zoho.crm_url),
        people(api, cfg.zoho.people_url, cfg.people.date_format),
        engine(cfg, store, crm, people, clock, eo) {
    api.set_gate(scheduler);
    // A one-shot run does not sit out a long outage of the accounts server.
    if (one_shot) tokens.set_max_attempts(3);
  }
  connectors::TokenProvider tokens;
  connectors::ZohoApi api;
  sync::Scheduler scheduler;
  connectors::CrmClient crm;
  connectors::PeopleClient people;
  sync::Engine engine;
};

std::vector<status::EndpointLive> endpoints_live(const sync::Scheduler& s) {
  std::vector<status::EndpointLive> out;
  for (const auto& e : s.snapshot()) {
    status::EndpointLive l;
    l.endpoint = e.endpoint;
    l.budget_per_minute = e.per_minute;
    l.calls_last_minute = e.calls_in_window;
    l.tokens_available = e.per_minute > 0 ? std::max(0, e.per_minute - e.calls_in_window) : 0;
    l.locked_until = e.paused_until;
    l.waiting = e.queued;
    l.in_flight = e.in_flight;
    l.daily_used = e.daily_used;
    l.daily_budget = e.daily_budget;
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

int run(const config::Config& initial, state::Store& store, const RunOptions& options, const Clock& clock,
        std::ostream& out, PassTotals* totals) {
  log::Logger log("daemon");
  asio::io_context io;
  const bool daemon = options.mode == RunOptions::Mode::daemon;
  // The config in force; SIGHUP swaps in a new one between passes. (Aliasing
  // pointer: the caller owns the initial config.)
  config::ConfigPtr cfg(std::shared_ptr<const config::Config>{}, &initial);
  config::ConfigPtr pending;

  metrics::Registry registry;
  registry.set(metrics::build_info, {PEOPLESYNC_VERSION}, 1);
  connectors::TransportOptions topt;
  topt.connect_timeout = cfg->zoho.timeouts.connect;
  topt.request_timeout = cfg->zoho.timeouts.request;
  topt.io_timeout = std::min(cfg->zoho.timeouts.request, Millis{30'000});
  topt.ca_file = cfg->zoho.ca_file;
  std::unique_ptr<connectors::Transport> tls;
  try {
    tls = connectors::make_beast_transport(io.get_executor(), topt);
  } catch (const std::exception& e) {
    log.error("cannot set up TLS: {}", e.what());
    return to_int(ExitCode::config);
  }
  MeteredTransport transport(*tls, registry, clock);
  connectors::AsioSleeper sleeper;
  SystemRandom random;

  sync::EngineOptions eo;
  eo.dry_run = options.mode == RunOptions::Mode::dry_run;
  eo.since = options.since;
  eo.streams = options.streams;
  auto stack = std::make_unique<Stack>(*cfg, store, transport, clock, sleeper, random, eo, !daemon);

  // Live view for /status, /metrics and the TTY.
  status::Live live;
  live.started_at = clock.now();
  bool ready = false;
  std::map<std::string, sync::StreamReport> last_seen;  // for counter deltas
  const bool tty = options.progress_on_tty && ::isatty(STDERR_FILENO) == 1;
  auto on_progress = [&](const sync::StreamReport& r) {
    auto& prev = last_seen[r.stream];
    if (r.read < prev.read) prev = sync::StreamReport{};  // a new pass
    registry.inc(metrics::records_read_total, {r.stream}, static_cast<double>(r.read - prev.read));
    auto written = [&](const char* op, std::int64_t now, std::int64_t before) {
      if (now > before) registry.inc(metrics::records_written_total, {r.stream, op, "ok"}, static_cast<double>(now - before));
    };
    written("create", r.created, prev.created);
    written("update", r.updated, prev.updated);
    written("status", r.status_changes, prev.status_changes);
    written("delete", r.deleted, prev.deleted);
    if (r.dead_lettered > prev.dead_lettered)
      registry.inc(metrics::records_written_total, {r.stream, "any", "dead_letter"},
                   static_cast<double>(r.dead_lettered - prev.dead_lettered));
    if (r.unchanged > prev.unchanged)
      registry.inc(metrics::records_written_total, {r.stream, "any", "unchanged"},
                   static_cast<double>(r.unchanged - prev.unchanged));
    status::StreamLive* sl = nullptr;
    for (auto& x : live.streams)
      if (x.stream == r.stream) sl = &x;
    if (!sl) {
      live.streams.push_back({});
      sl = &live.streams.back();
      sl->stream = r.stream;
    }
    sl->running = true;
    sl->records_read += r.read - prev.read;
    sl->records_written += (r.created + r.updated + r.status_changes + r.deleted) -
                           (prev.created + prev.updated + prev.status_changes + prev.deleted);
    sl->records_unchanged += r.unchanged - prev.unchanged;
    sl->records_dead_lettered += r.dead_lettered - prev.dead_lettered;
    prev = r;
    if (tty)
      std::fprintf(stderr, "\r\033[K%s: read %lld, created %lld, updated %lld, waiting %lld, dead %lld, calls %lld",
                   r.stream.c_str(), static_cast<long long>(r.read), static_cast<long long>(r.created),
                   static_cast<long long>(r.updated), static_cast<long long>(r.parked),
                   static_cast<long long>(r.dead_lettered), static_cast<long long>(r.api_calls));
  };
  stack->engine.on_progress(on_progress);

  notify::Notifier notifier;
  std::unique_ptr<health::HealthServer> health_server;
  // Counter deltas: the scheduler's figures since it was built (a reload
  // builds a new one, whose figures start again from 0).
  std::map<std::string, double> waits_reported;
  std::map<std::string, std::int64_t> locks_reported;
  auto refresh_live = [&] {
    live.ready = ready;
    live.endpoints = endpoints_live(stack->scheduler);
    for (const auto& e : stack->scheduler.snapshot()) {
      auto& waited = waits_reported[e.endpoint];
      if (e.wait_seconds < waited) waited = 0;
      registry.inc(metrics::ratelimit_wait_seconds_total, {e.endpoint}, e.wait_seconds - waited);
      waited = e.wait_seconds;
      auto& seen = locks_reported[e.endpoint];
      if (e.lock_count < seen) seen = 0;
      registry.inc(metrics::ratelimit_locks_total, {e.endpoint}, static_cast<double>(e.lock_count - seen));
      seen = e.lock_count;
    }
  };
  if (daemon && cfg->service.listen) {
    health::Providers p;
    p.ready = [&] { return ready; };
    p.metrics = [&] {
      refresh_live();
      health::refresh_gauges(registry, health::StatusInput{&store, cfg, live}, clock.now());
      return registry.render();
    };
    p.status = [&] {
      refresh_live();
      return health::StatusInput{&store, cfg, live};
    };
    try {
      health_server = std::make_unique<health::HealthServer>(io, health::options_from(*cfg->service.listen), p, clock);
      log.info("health and metrics on {}", health_server->base_url());
    } catch (const std::exception& e) {
      log.error("cannot listen on {}:{}: {}", cfg->service.listen->host, cfg->service.listen->port, e.what());
      return to_int(ExitCode::config);
    }
  }

  const char* mode = options.mode == RunOptions::Mode::daemon     ? "daemon"
                     : options.mode == RunOptions::Mode::dry_run ? "dry-run"
                                                                 : "run-once";
  int exit_code = 0;
  bool stopping = false;
  asio::steady_timer poll_timer(io);
  asio::steady_timer drain_timer(io);
  asio::steady_timer watchdog_timer(io);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::signal_set hup(io);
  if (daemon) hup.add(SIGHUP);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log.info("signal {}: finishing the write in flight, committing, stopping", sig);
    stopping = true;
    notifier.stopping();
    stack->engine.request_stop();
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
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      notifier.reloading();
      auto lr = config::load_config(cfg->file, {});
      if (!lr.ok()) {
        log.error("SIGHUP: the new config has {} error(s); keeping the one in force", lr.errors.size());
        for (const auto& e : lr.errors) log.error("  {}", e.format());
      } else {
        log.info("SIGHUP: new config loaded; it applies from the next pass");
        // Fixed at start (the transport, the health server, the logger and
        // the state file are not rebuilt): say so rather than seem to apply them.
        for (const auto& c : config::restart_only_changes(*cfg, *lr.config))
          log.warn("SIGHUP: {} takes effect only after a restart; the running value stays in force", c);
        pending = lr.config;
        poll_timer.cancel();
      }
      notifier.ready();
      wait_hup();
    });
  };
  if (daemon) wait_hup();
  // Lives as long as the io_context runs: the timer's handler calls it again
  // (a std::function local to the `if` below was gone when the first
  // WATCHDOG_USEC/2 elapsed, and the daemon crashed there).
  std::function<void()> watchdog_tick;
  if (daemon) {
    if (auto every = notifier.watchdog_interval()) {
      watchdog_tick = [&, every = *every] {
        notifier.watchdog();
        watchdog_timer.expires_after(every);
        watchdog_timer.async_wait([&](const boost::system::error_code& e) {
          if (!e) watchdog_tick();
        });
      };
      watchdog_tick();
    }
  }

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        if (daemon) {
          // READY=1 once config, state and a first token are there.
          for (;;) {
            auto t = co_await stack->tokens.access_token();
            if (std::holds_alternative<std::string>(t)) break;
            const auto& e = std::get<connectors::CallError>(t);
            if (e.outcome == connectors::Outcome::auth) {
              log.error("{}", e.message);
              exit_code = to_int(ExitCode::auth);
              stopping = true;
              break;
            }
            log.warn("no access token yet ({}); trying again in 30 s", e.message);
            poll_timer.expires_after(std::chrono::seconds(30));
            co_await poll_timer.async_wait(asio::as_tuple(asio::use_awaitable));
            if (stopping) break;
          }
          // READY=1 for systemd: the service is up. /readyz turns 200 only
          // once the preflight below has passed.
          if (!stopping) notifier.ready();
        }
        bool preflight_ok = eo.dry_run;  // a dry run writes nothing: no preflight
        while (!stopping) {
          if (pending) {
            cfg = pending;
            pending.reset();
            stack = std::make_unique<Stack>(*cfg, store, transport, clock, sleeper, random, eo, !daemon);
            stack->engine.on_progress(on_progress);
            preflight_ok = false;  // a reload is checked again before it writes
          }
          if (!preflight_ok) {
            const sync::PreflightReport pf =
                co_await sync::preflight(*cfg, stack->tokens, stack->crm, stack->people, clock);
            live.preflight_failures = preflight_failures(pf);
            preflight_ok = pf.ok();
            if (daemon) ready = preflight_ok;
            if (!preflight_ok) {
              for (const auto& f : live.preflight_failures) log.error("preflight: {}", f);
              if (!daemon) {
                out << "preflight failed; nothing was written:\n" << sync::format_report(pf);
                exit_code = exit_code_of(pf.worst());
                // The run happened and failed: the run history (`status`,
                // "Recent runs") says so rather than showing no run at all.
                store.finish_run(store.begin_run(mode), exit_code,
                                 "preflight failed, nothing was written: " + live.preflight_failures.front());
                break;
              }
              live.summary = "preflight failed, nothing is written: " + live.preflight_failures.front();
              notifier.status(live.summary);
              if (stopping) break;
              log.info("preflight runs again in {}", config::format_duration(cfg->service.poll_interval));
              poll_timer.expires_after(cfg->service.poll_interval);
              co_await poll_timer.async_wait(asio::as_tuple(asio::use_awaitable));
              continue;
            }
            log.info("preflight: {} check(s) passed", pf.checks.size());
            if (options.on_preflight_passed) options.on_preflight_passed();
          }
          const std::int64_t run_id = eo.dry_run ? 0 : store.begin_run(mode);
          const SysTime started = clock.now();
          for (auto& x : live.streams) x.last_run_started = started;
          sync::RunReport report = co_await stack->engine.run_once();
          if (tty) std::fprintf(stderr, "\r\033[K");
          exit_code = stopping && report.outcome == sync::RunOutcome::temporary ? to_int(ExitCode::ok)
                                                                                  : exit_code_of(report.outcome);
          const std::string line = summary_line(report);
          if (!eo.dry_run) store.finish_run(run_id, exit_code, line);
          const SysTime finished = clock.now();
          for (const auto& x : report.streams) {
            on_progress(x);
            for (auto& l : live.streams) {
              if (l.stream != x.stream) continue;
              l.running = false;
              l.last_run_finished = finished;
              l.last_run_outcome = x.completed ? (x.dead_lettered ? std::to_string(x.dead_lettered) + " dead letters" : "ok")
                                               : x.error;
              if (x.completed) l.last_success = finished;
              if (daemon) l.next_run = finished + cfg->service.poll_interval;
            }
            last_seen.erase(x.stream);
            if (totals) {
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
          live.summary = std::string(sync::to_string(report.outcome)) + ": " + line;
          notifier.status(live.summary);
          if (!daemon) {
            if (eo.dry_run) print_plan(report, options.json, out);
            else print_table(report, out);
            break;
          }
          if (report.outcome == sync::RunOutcome::auth) {
            exit_code = to_int(ExitCode::auth);
            break;
          }
          if (stopping) break;
          log.info("pass done ({}); next in {}", to_string(report.outcome),
                   config::format_duration(cfg->service.poll_interval));
          poll_timer.expires_after(cfg->service.poll_interval);
          co_await poll_timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        if (daemon && exit_code != to_int(ExitCode::auth)) exit_code = to_int(ExitCode::ok);
        signals.cancel();
        hup.cancel();
        drain_timer.cancel();
        watchdog_timer.cancel();
        if (health_server) health_server->stop();
        io.stop();  // idle keep-alive connections and their timers go with it
      },
      asio::detached);
  io.run();
  // A stop that had to abandon calls in flight ends here, with the exit code
  // of the last finished pass still set (4 after dead letters): a requested
  // stop is a clean exit.
  if (daemon && stopping && exit_code != to_int(ExitCode::auth)) exit_code = to_int(ExitCode::ok);
  stack->scheduler.flush();
  if (stopping) log.info("stopped");
  return exit_code;
}

}  // namespace peoplesync::runtime

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
