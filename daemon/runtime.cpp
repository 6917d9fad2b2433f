// run(): wires one config's process on one io_context (transport, metrics,
// the poll loop, the health server, signals, the watchdog) and runs it. The
// steps themselves live in their own units: poll_loop (passes and waits),
// zoho_stack (what a config builds), live_tracker (the live view and its
// counters), signals and reload (process events), run_report (what is
// printed), health and status_* (what is served).
#include "daemon/runtime.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "connectors/beast_transport.hpp"
#include "daemon/exit_codes.hpp"
#include "daemon/health.hpp"
#include "daemon/live_tracker.hpp"
#include "daemon/metered_transport.hpp"
#include "daemon/notify.hpp"
#include "daemon/pass_timer.hpp"
#include "daemon/poll_loop.hpp"
#include "daemon/reload.hpp"
#include "daemon/run_report.hpp"
#include "daemon/signals.hpp"
#include "daemon/zoho_stack.hpp"
#include "sync/preflight.hpp"

namespace peoplesync::runtime {
namespace {

namespace asio = boost::asio;

// After SIGTERM, what is still in flight this long is abandoned: its intent
// is in the outbox and is reconciled at the next start.
constexpr Millis kDrainGrace{9'000};

connectors::TransportOptions transport_options(const config::Config& cfg) {
  connectors::TransportOptions topt;
  topt.connect_timeout = cfg.zoho.timeouts.connect;
  topt.request_timeout = cfg.zoho.timeouts.request;
  topt.io_timeout = std::min(cfg.zoho.timeouts.request, Millis{30'000});
  topt.ca_file = cfg.zoho.ca_file;
  return topt;
}

LoopOptions loop_options(const RunOptions& o) {
  LoopOptions lo;
  lo.daemon = o.mode == RunOptions::Mode::daemon;
  lo.dry_run = o.mode == RunOptions::Mode::dry_run;
  lo.mode = lo.daemon ? "daemon" : lo.dry_run ? "dry-run" : "run-once";
  return lo;
}

sync::EngineOptions engine_options(const RunOptions& o) {
  sync::EngineOptions eo;
  eo.dry_run = o.mode == RunOptions::Mode::dry_run;
  eo.since = o.since;
  eo.streams = o.streams;
  return eo;
}

void print_progress_line(const sync::StreamReport& r) {
  std::fprintf(stderr, "\r\033[K%s: read %lld, created %lld, updated %lld, waiting %lld, dead %lld, calls %lld",
               r.stream.c_str(), static_cast<long long>(r.read), static_cast<long long>(r.created),
               static_cast<long long>(r.updated), static_cast<long long>(r.parked),
               static_cast<long long>(r.dead_lettered), static_cast<long long>(r.api_calls));
}

// sd_notify, the terminal and the one-shot report.
LoopHooks loop_hooks(const RunOptions& options, notify::Notifier& notifier, std::ostream& out, PassTotals* totals) {
  const bool tty = options.progress_on_tty && ::isatty(STDERR_FILENO) == 1;
  const bool one_shot = options.mode != RunOptions::Mode::daemon;
  LoopHooks h;
  h.ready = [&notifier] { notifier.ready(); };
  h.status = [&notifier](const std::string& line) { notifier.status(line); };
  h.preflight_passed = options.on_preflight_passed;
  if (tty) h.progress = print_progress_line;
  h.preflight_failed = [&out](const sync::PreflightReport& pf) {
    out << "preflight failed; nothing was written:\n" << sync::format_report(pf);
  };
  h.pass_done = [&options, &out, totals, tty, one_shot](const sync::RunReport& report) {
    if (tty) std::fprintf(stderr, "\r\033[K");
    if (totals) add_totals(*totals, report);
    if (!one_shot) return;
    if (options.mode == RunOptions::Mode::dry_run) print_plan(report, options.json, out);
    else print_table(report, out);
  };
  return h;
}

// /livez /readyz /metrics /status on service.listen; each read takes the
// scheduler's lanes afresh and renders one snapshot.
std::unique_ptr<health::HealthServer> start_health(asio::io_context& io, PollLoop& loop, LiveTracker& tracker,
                                                   metrics::Registry& registry, state::Store& store,
                                                   const Clock& clock) {
  auto input = [&loop, &tracker, &store] {
    tracker.endpoints(loop.stack().endpoints());
    tracker.live().ready = loop.ready();
    return health::StatusInput{&store, loop.config(), tracker.live()};
  };
  health::Providers p;
  p.ready = [&loop] { return loop.ready(); };
  p.metrics = [input, &registry, &clock] {
    health::refresh_gauges(registry, input(), clock.now());
    return registry.render();
  };
  p.status = input;
  const auto& listen = *loop.config()->service.listen;
  return std::make_unique<health::HealthServer>(io, health::options_from(listen), p, clock);
}

// SIGTERM/SIGINT drains and stops, the grace period's end abandons what is
// still in flight, SIGHUP reloads the config for the next pass.
SignalActions signal_actions(asio::io_context& io, PollLoop& loop, notify::Notifier& notifier) {
  SignalActions a;
  a.stop = [&loop, &notifier](int sig) {
    log::Logger("daemon").info("signal {}: finishing the write in flight, committing, stopping", sig);
    notifier.stopping();
    loop.stop();
  };
  a.grace_over = [&io] {
    log::Logger("daemon").warn(
        "in-flight calls did not finish within the grace period; abandoning them (outbox keeps them)");
    io.stop();
  };
  a.reload = [&loop, &notifier] {
    notifier.reloading();
    if (auto next = reload_config(*loop.config())) loop.reload(std::move(next));
    notifier.ready();
  };
  return a;
}

}  // namespace

int run(const config::Config& initial, state::Store& store, const RunOptions& options, const Clock& clock,
        std::ostream& out, PassTotals* totals) {
  log::Logger log("daemon");
  asio::io_context io;
  const bool daemon = options.mode == RunOptions::Mode::daemon;
  // The config in force; SIGHUP swaps in a new one between passes. (Aliasing
  // pointer: the caller owns the initial config.)
  const config::ConfigPtr cfg(std::shared_ptr<const config::Config>{}, &initial);

  metrics::Registry registry;
  registry.set(metrics::build_info, {PEOPLESYNC_VERSION}, 1);
  std::unique_ptr<connectors::Transport> tls;
  try {
    tls = connectors::make_beast_transport(io.get_executor(), transport_options(*cfg));
  } catch (const std::exception& e) {
    log.error("cannot set up TLS: {}", e.what());
    return to_int(ExitCode::config);
  }
  MeteredTransport transport(*tls, registry, clock);
  connectors::AsioSleeper sleeper;
  SystemRandom random;
  const StackDeps deps{store, transport, clock, sleeper, random, engine_options(options), !daemon};

  LiveTracker tracker(registry);
  tracker.live().started_at = clock.now();
  notify::Notifier notifier;
  AsioPassTimer timer(io.get_executor());
  PollLoop loop(
      cfg, [&deps](const config::Config& c) { return make_zoho_stack(c, deps); }, store, tracker, timer, clock,
      loop_options(options), loop_hooks(options, notifier, out, totals));

  std::unique_ptr<health::HealthServer> health_server;
  if (daemon && cfg->service.listen) {
    try {
      health_server = start_health(io, loop, tracker, registry, store, clock);
      log.info("health and metrics on {}", health_server->base_url());
    } catch (const std::exception& e) {
      log.error("cannot listen on {}:{}: {}", cfg->service.listen->host, cfg->service.listen->port, e.what());
      return to_int(ExitCode::config);
    }
  }

  Signals signals(io, daemon, kDrainGrace, signal_actions(io, loop, notifier));
  std::optional<Watchdog> watchdog;
  if (daemon)
    if (auto every = notifier.watchdog_interval()) watchdog.emplace(io, *every, [&notifier] { notifier.watchdog(); });

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await loop.run();
        signals.cancel();
        if (watchdog) watchdog->cancel();
        if (health_server) health_server->stop();
        io.stop();  // idle keep-alive connections and their timers go with it
      },
      asio::detached);
  io.run();
  // A stop that had to abandon calls in flight ends here, with the exit code
  // of the last finished pass still set (4 after dead letters): a requested
  // stop is a clean exit.
  int exit_code = loop.exit_code();
  if (daemon && loop.stopping() && exit_code != to_int(ExitCode::auth)) exit_code = to_int(ExitCode::ok);
  loop.stack().flush();
  if (loop.stopping()) log.info("stopped");
  return exit_code;
}

}  // namespace peoplesync::runtime
