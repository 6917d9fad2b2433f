#pragma once
// `peoplesync demo`: starts peoplesync-sandbox seeded with demo:N data, runs
// the example config of PRODUCT.md once (the backfill) and again (the
// incremental pass), prints what was read and written and the API calls per
// endpoint as the sandbox counted them, and stops everything it started.
// The report comes before any log line: see Options.
#include <iosfwd>

#include "common/clock.hpp"
#include "common/log.hpp"

namespace peoplesync::demo {

struct Options {
  int n = 200;  // the sandbox's seed: demo:N
  // Log lines written while the demo runs are held in memory (in this format
  // and level) and the report says how many there were; they are printed on
  // `err` after the report when show_log is set or the demo failed. With
  // hold_log off the caller's log sink stays as it is (tests).
  bool hold_log = true;
  bool show_log = false;
  log::Format log_format = log::Format::text;
  log::Level log_level = log::Level::warn;
};

int run(const Options& options, const Clock& clock, std::ostream& out, std::ostream& err);

}  // namespace peoplesync::demo
