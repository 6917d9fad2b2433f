#pragma once
// The peoplesync command line as a function: arguments in, exit code out,
// with output streams, environment and clock injected so tests run it
// in-process. main() only wires the real ones.
#include <iosfwd>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/loader.hpp"

namespace peoplesync {

struct AppIo {
  std::ostream& out;
  std::ostream& err;
  config::GetEnv getenv;
  const Clock& clock;
  bool log_to_stderr = true;  // tests keep the log sink they installed
};

int run_app(const std::vector<std::string>& args, AppIo& io);

}  // namespace peoplesync
