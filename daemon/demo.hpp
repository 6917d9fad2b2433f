#pragma once
// `peoplesync demo`: starts peoplesync-sandbox seeded with demo:N data, runs
// the example config of PRODUCT.md once (the backfill) and again (the
// incremental pass), prints what was read and written and the API calls per
// endpoint as the sandbox counted them, and stops everything it started.
#include <iosfwd>

#include "common/clock.hpp"

namespace peoplesync::demo {

int run(int n, const Clock& clock, std::ostream& out, std::ostream& err);

}  // namespace peoplesync::demo
