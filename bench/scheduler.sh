#!/usr/bin/env bash
# The scheduler benchmark: builds peoplesync-bench-scheduler and saturates the
# sandbox's addupdatetimelogs (30/min) and getRecordIdsByReferenceIds
# (50/min) over TLS, with a sliding 60 s window and time scaled 10x, then
# kills and restarts the client mid-window on the same state file. Prints the
# share of each ceiling and the lock replies; exits non-zero on any lock.
#
#   bench/scheduler.sh                 both runs (about two minutes of wall time)
#   bench/scheduler.sh --controls      also the two control runs that must be locked:
#                                      thresholds 20 % over, and restarts without state
#   SCALE=5 MINUTES=20 bench/scheduler.sh   slower, longer runs
# PEOPLESYNC_BUILD_DIR chooses the build directory (default ./build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PEOPLESYNC_BUILD_DIR:-$root/build}
scale=${SCALE:-10}
minutes=${MINUTES:-10}
controls=0
[[ "${1:-}" == "--controls" ]] && controls=1

# Configure as scripts/build.sh does, then build only the benchmark and what it needs.
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
cmake -S "$root" -B "$build" -G Ninja -DPEOPLESYNC_WERROR="$werror" >/dev/null
cmake --build "$build" -j "${PEOPLESYNC_JOBS:-2}" --target peoplesync-bench-scheduler >/dev/null
bench="$build/bench/peoplesync-bench-scheduler"

status=0
echo "== saturation"
"$bench" --scale "$scale" --minutes "$minutes" || status=1
echo
echo "== kill and restart mid-window (3 restarts, same state file)"
"$bench" --scale "$scale" --minutes "$minutes" --restarts 3 || status=1
if (( controls )); then
  echo
  echo "== control: thresholds 20 % above the documented ones (locks expected)"
  if "$bench" --scale 30 --minutes 5 --limit-factor 1.2; then echo "control run was NOT locked"; status=1; fi
  echo
  echo "== control: restarts without the state file (locks expected)"
  if "$bench" --scale 30 --minutes 5 --restarts 3 --no-state; then echo "control run was NOT locked"; status=1; fi
fi
exit $status
