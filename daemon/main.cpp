// peoplesync: the process entry point. Wires the real clock, environment and
// streams into run_app() and nothing else.
#include <iostream>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "daemon/app.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  peoplesync::SystemClock clock;
  peoplesync::AppIo io{std::cout, std::cerr, peoplesync::config::process_env, clock};
  const int code = peoplesync::run_app(args, io);
  std::cout.flush();
  return code;
}
