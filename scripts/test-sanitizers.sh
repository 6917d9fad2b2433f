#!/usr/bin/env bash
# The whole ctest suite under AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer: builds everything (g++, -O0 -g) into
# ./build-asan with -DPEOPLESYNC_SANITIZE=address,undefined and runs ctest
# there, so the tests that start peoplesync or peoplesync-sandbox as
# processes run the sanitized binaries too. Fails on any test failure and on
# any sanitizer report, including one from a child process whose output a
# test script swallowed (every report also goes to build-asan/sanitizer-logs).
#
# Usage: scripts/test-sanitizers.sh [CTEST ARGS...]
# Environment: PEOPLESYNC_ASAN_BUILD_DIR (default ./build-asan),
# PEOPLESYNC_JOBS (build jobs, default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PEOPLESYNC_ASAN_BUILD_DIR:-$root/build-asan}
"$root/scripts/install-deps.sh"

start=$SECONDS
# -O0: g++ 12 needs 2.6x the time at -O1 for the Beast/coroutine translation
# units with both sanitizers (37 s vs 96 s for connectors/beast_transport.cpp);
# the suite's run time barely changes. -g1 (line tables: reports still name
# file and line) instead of -g: 58 s instead of 76 s for that unit.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DPEOPLESYNC_SANITIZE=address,undefined -DPEOPLESYNC_WERROR=OFF >/dev/null
cmake --build "$build" -j "${PEOPLESYNC_JOBS:-2}"
built=$SECONDS
echo "test-sanitizers: build took $((built - start)) s"

logs=$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# abort_on_error: a report kills the process with SIGABRT (no test can take
# it for a clean exit); halt_on_error + -fno-sanitize-recover=all: UBSan too.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export LSAN_OPTIONS="log_path=$logs/lsan"

# container.check compares the release binary's shared libraries with the
# runtime package list; an instrumented binary needs libasan/libubsan, which
# the container rightly does not ship. Everything else runs.
status=0
ctest --test-dir "$build" --output-on-failure -j 2 -E '^container\.check$' "$@" || status=$?
echo "test-sanitizers: tests took $((SECONDS - built)) s (build + tests: $((SECONDS - start)) s)"

shopt -s nullglob
reports=("$logs"/*)
if [[ ${#reports[@]} -gt 0 ]]; then
  for r in "${reports[@]}"; do
    echo "===== sanitizer report: $r"
    cat "$r"
  done
  echo "test-sanitizers: ${#reports[@]} sanitizer report(s); see above" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "test-sanitizers: ctest failed (exit $status)" >&2
  exit "$status"
fi
echo "test-sanitizers: all tests passed, no sanitizer report"
