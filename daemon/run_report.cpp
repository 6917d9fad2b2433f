#include "daemon/run_report.hpp"

#include <iomanip>
#include <ostream>
#include <sstream>

#include "common/json.hpp"
#include "daemon/exit_codes.hpp"

namespace peoplesync::runtime {

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

void add_totals(PassTotals& totals, const sync::RunReport& r) {
  for (const auto& x : r.streams) {
    totals.read += x.read;
    totals.created += x.created;
    totals.updated += x.updated;
    totals.status_changes += x.status_changes;
    totals.deleted += x.deleted;
    totals.unchanged += x.unchanged;
    totals.dead_lettered += x.dead_lettered;
    totals.parked += x.parked;
    totals.calls += x.api_calls;
    totals.not_modified_streams += x.not_modified ? 1 : 0;
  }
}

}  // namespace peoplesync::runtime
