#pragma once
// Process exit codes (PRODUCT.md "Command line"); sysexits-compatible where
// one exists.
namespace peoplesync {

enum class ExitCode : int {
  ok = 0,
  usage = 2,            // bad command line
  dead_letters = 4,     // run finished, but records were dead-lettered
  temporary = 75,       // could not finish now (locked endpoint, network); safe to re-run
  auth = 77,            // authorisation refused (bad refresh token, scope mismatch)
  config = 78,          // config error
};

constexpr int to_int(ExitCode c) { return static_cast<int>(c); }

}  // namespace peoplesync
