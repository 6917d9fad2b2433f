#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/CMakeLists.txt) with clang++-14 into
# ./build-fuzz: the project's libraries with -fsanitize=fuzzer-no-link,address,undefined,
# the targets with -fsanitize=fuzzer. Needs the Debian packages clang-14 and
# libclang-rt-14-dev (installed here when missing, through scripts/install-deps.sh).
# Extra arguments go to the CMake configure step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PEOPLESYNC_FUZZ_BUILD_DIR:-$root/build-fuzz}
PEOPLESYNC_EXTRA_PACKAGES="${PEOPLESYNC_EXTRA_PACKAGES:-} clang-14 libclang-rt-14-dev" "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DPEOPLESYNC_FUZZ=ON -DPEOPLESYNC_BUILD_TESTS=OFF -DPEOPLESYNC_WERROR=OFF \
  "$@" >/dev/null
cmake --build "$build" -j "${PEOPLESYNC_JOBS:-2}" --target fuzzers
