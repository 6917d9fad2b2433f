#pragma once
// What a pass or a failed preflight comes to for the operator: the exit
// code, the one-line summary (run history, STATUS=), the table printed after
// --run-once, the plan printed by --dry-run, the demo's totals.
#include <iosfwd>
#include <string>
#include <vector>

#include "daemon/runtime.hpp"
#include "sync/engine.hpp"
#include "sync/preflight.hpp"

namespace peoplesync::runtime {

int exit_code_of(sync::RunOutcome o);
int exit_code_of(sync::Check::Kind k);

// The failed checks, one line each with its fix.
std::vector<std::string> preflight_failures(const sync::PreflightReport& pf);

// "deals: read 3, created 1, updated 0, dead 0; calls: ..."
std::string summary_line(const sync::RunReport& r);

void print_table(const sync::RunReport& r, std::ostream& out);
void print_plan(const sync::RunReport& r, bool as_json, std::ostream& out);

void add_totals(PassTotals& totals, const sync::RunReport& r);

}  // namespace peoplesync::runtime
