#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time and prints its executions
# per second. Fails when any target finds a crash, a leak, a sanitizer
# report, a timeout (10 s for one input) or runs out of memory; the input that
# did it is kept as build-fuzz/artifacts/TARGET-crash-... and the command to
# replay it is printed.
#
# Usage: fuzz/run.sh [SECONDS [TARGET...]]   (default 60 s each, all targets)
# Builds first (fuzz/build.sh). Seeds come from fuzz/corpus/TARGET (read only);
# what the fuzzer learns goes to build-fuzz/corpus/TARGET and is reused by the
# next run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PEOPLESYNC_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-60}
shift || true
"$root/fuzz/build.sh" >/dev/null

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for d in "$root"/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi

mkdir -p "$build/artifacts" "$build/fuzz-logs"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
printf '%-22s %8s %12s %10s %8s %s\n' target seconds executions exec/s corpus result
for t in "${targets[@]}"; do
  bin=$build/fuzz/$t
  [[ -x "$bin" ]] || { echo "fuzz/run.sh: no target $t ($bin)" >&2; exit 2; }
  work=$build/corpus/$t
  mkdir -p "$work"
  log=$build/fuzz-logs/$t.log
  dict=()
  case $t in
    fuzz_config | fuzz_dates) ;;
    *) dict=(-dict="$root/fuzz/dict/json.dict") ;;  # the targets that read JSON
  esac
  rc=0
  "$bin" "$work" "$root/fuzz/corpus/$t" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(find "$work" -type f | wc -l)
  if [[ $rc -eq 0 ]]; then result=ok; else result="FAILED (exit $rc)"; failed+=("$t"); fi
  printf '%-22s %8s %12s %10s %8s %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "$units" "$result"
  if [[ $rc -ne 0 ]]; then
    grep -E 'ERROR: |runtime error|SUMMARY|fuzz invariant|Test unit written|terminate called|what\(\)' "$log" | head -20 | sed 's/^/    /'
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    [[ -n "$artifact" ]] && echo "    replay: $bin $artifact   (full log: $log)"
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz/run.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz/run.sh: ${#targets[@]} targets, ${seconds} s each, no crash, leak or sanitizer report"
