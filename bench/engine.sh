#!/usr/bin/env bash
# The engine benchmark (issue 6 item 8): backfills demo:N (N CRM calls, N/5
# deals, N/20 projects) from the sandbox with its limits switched off, using
# the PRODUCT.md example config with the daemon's own limits switched off too,
# and prints records per second, CPU seconds per 1,000 records, peak RSS of
# the peoplesync process, and the API calls made (the sandbox's count) against
# the theoretical minimum; then two re-polls: pass 2 (the deals the write-back
# touched are read back, nothing is written) and pass 3 (nothing changed:
# one 304 per CRM stream). Pass 2 waits BENCH_SETTLE_S (61) seconds first:
# the engine stores a complete CRM watermark (the one that makes the next
# poll a 304) only once it is a minute old, since CRM times have whole seconds.
#
# Usage: bench/engine.sh [N]          (default 10000)
# Environment: PEOPLESYNC_BUILD_DIR (default ./build), BENCH_KEEP=1 keeps the
# work directory (state file, logs, stats snapshots), BENCH_SETTLE_S.
set -euo pipefail
n=${1:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PEOPLESYNC_BUILD_DIR:-$root/build}
# shellcheck source=tests/e2e/lib.sh
source "$root/tests/e2e/lib.sh"
report="$root/bench/engine_report.py"
peoplesync=$build/daemon/peoplesync
sandbox=$build/sandbox/peoplesync-sandbox
for b in "$peoplesync" "$sandbox"; do
  [[ -x "$b" ]] || { echo "bench: $b not built (scripts/build.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/peoplesync-bench-XXXXXX)
cleanup() {
  e2e_stop_sandbox
  if [[ "${BENCH_KEEP:-}" == 1 ]]; then echo "bench: work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

e2e_start_sandbox "$sandbox" "$work" "$n" --no-limits --credits 100000000
e2e_write_config "$work/config.yaml" "$work/state.db" warn
echo "bench: demo:$n on $SB_URL (sandbox limits off, daemon limits off)"

e2e_admin GET /stats >"$work/stats0.json"
failed=0
for pass in 1 2 3; do
  if [[ $pass == 2 ]]; then sleep "${BENCH_SETTLE_S:-61}"; fi
  python3 "$report" rusage "$work/rusage$pass.json" -- \
    "$peoplesync" --run-once -c "$work/config.yaml" >"$work/pass$pass.out" 2>"$work/pass$pass.log" || true
  e2e_admin GET /stats >"$work/stats$pass.json"
  if [[ $pass == 1 ]]; then
    python3 "$report" minimum --url "$SB_URL" --ca "$SB_CA" >"$work/minimum.json"
  fi
  rc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rc"])' "$work/rusage$pass.json")
  if [[ $rc != 0 && $rc != 4 ]]; then
    echo "bench: pass $pass exited $rc:" >&2
    sed 's/^/  /' "$work/pass$pass.out" >&2
    grep -v 'dead-lettered' "$work/pass$pass.log" | tail -n 5 >&2
    failed=1
    break
  fi
done
echo "pass 1 as the daemon reported it:"
sed 's/^/  /' "$work/pass1.out"
python3 "$report" summary "$work"
exit $failed
