#!/usr/bin/env bash
# The crash test (issue 6 item 7): a backfill of thousands of CRM records
# against the sandbox, `peoplesync --run-once` killed with SIGKILL at random
# moments and restarted each time, while the sandbox closes connections after
# committing writes (drop_after: People and CRM saw the write, the daemon
# never got the reply). Then rounds of CRM changes (calls edited, deleted and
# added), each with runs killed the same way. Then faults off, runs until one
# exits 0 or 4. At the end People must hold exactly the expected jobs and
# time logs (tests/e2e/check_people.py computes them from the sandbox's own
# data and the config, not from the state file) and `PRAGMA integrity_check`
# must be ok.
#
# Usage: crash_test.sh BUILD_DIR
# Environment (all optional):
#   CRASH_N          CRM calls (demo:N: N/5 deals, N/20 projects); 5000
#   CRASH_SEED       kill moments, fault rolls, CRM changes; 1
#   CRASH_MAX_MS     longest life of a killed run (log-uniform from 30 ms); 3000
#   CRASH_ROUNDS     rounds of CRM changes; 4
#   CRASH_DROP       drop_after probability; 0.05
#   CRASH_LATENCY_MS added to every sandbox reply (a network round trip, and
#                    a floor under a run's duration, so that fast machines see
#                    kills as slow ones do); 10
#   CRASH_FAULTS     the whole fault spec instead (e.g.
#                    "drop_after=0.05,error_rate=0.02,latency_ms=10")
#   CRASH_PHASE_S    wall-clock cap of each killing phase; 40
#   CRASH_TOTAL_S    no kills after this many seconds of the test; 120
#   CRASH_MAX_KILLS  kills in the backfill phase (half in each round); 100
#   CRASH_KEEP=1     keep the work directory
# Each killing phase goes on until a run finishes before its kill moment (so
# the kills are spread over the whole backfill), or its kill or time budget is
# spent. The kill moments follow from the seed; how many kills a phase takes
# depends on the machine's speed.
set -euo pipefail

build=${1:?usage: crash_test.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"

n=${CRASH_N:-5000}
seed=${CRASH_SEED:-1}
max_ms=${CRASH_MAX_MS:-3000}
faults_spec=${CRASH_FAULTS:-drop_after=${CRASH_DROP:-0.05},latency_ms=${CRASH_LATENCY_MS:-10}}
phase_s=${CRASH_PHASE_S:-40}
rounds=${CRASH_ROUNDS:-4}
total_s=${CRASH_TOTAL_S:-120}  # all killing phases together stop after this
max_kills=${CRASH_MAX_KILLS:-100}
peoplesync=$build/daemon/peoplesync
sandbox=$build/sandbox/peoplesync-sandbox
for b in "$peoplesync" "$sandbox"; do
  [[ -x "$b" ]] || { echo "crash test: $b not built" >&2; exit 1; }
done
for t in python3 sqlite3 curl timeout; do
  command -v "$t" >/dev/null || { echo "crash test: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/peoplesync-crash-XXXXXX)
cleanup() {
  e2e_stop_sandbox
  if [[ "${CRASH_KEEP:-}" == 1 ]]; then echo "crash test: work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --no-limits: People thresholds off (the test is about crashes, not limits).
# --time-scale 120 with a long token lifetime: every restart takes a new
# access token, and the sandbox allows 10 per refresh token per 10 (scaled)
# minutes, i.e. per 5 real seconds here.
e2e_start_sandbox "$sandbox" "$work" "$n" --no-limits --time-scale 120 --token-lifetime-s 100000000 \
  --credits 100000000 --random-seed "$seed" --faults "$faults_spec"
e2e_write_config "$work/config.yaml" "$work/state.db" warn
echo "crash test: sandbox $SB_URL seeded with demo:$n (seed $seed), faults $faults_spec; log: $work/runs.log"

RANDOM=$seed  # bash's generator: the same seed gives the same kill moments
kills=0 runs=0 temporary=0 completed_early=0

# One run of peoplesync --run-once; killed with SIGKILL after $1 ms (0: never).
run_once() {
  local ms=$1 rc=0
  runs=$((runs + 1))
  echo "--- run $runs (kill after ${ms} ms)" >>"$work/runs.log"
  if ((ms > 0)); then
    timeout --foreground -s KILL "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))" \
      "$peoplesync" --run-once -c "$work/config.yaml" >>"$work/runs.log" 2>&1 || rc=$?
  else
    timeout --foreground -s KILL 150 "$peoplesync" --run-once -c "$work/config.yaml" >>"$work/runs.log" 2>&1 || rc=$?
  fi
  echo "--- run $runs exit $rc" >>"$work/runs.log"
  last_rc=$rc
}

# People's content, as "J jobs, T time logs".
people_counts() {
  python3 - "$SB_URL" "$SB_CA" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
n = [len(json.loads(urllib.request.urlopen(sys.argv[1] + "/_admin/people/" + w, context=ctx).read()))
     for w in ("jobs", "timelogs")]
print("%d jobs, %d time logs" % tuple(n))
PY
}

# Kills runs at random moments (between $2 and $3 ms after their start) until
# one finishes on its own (exit 0 or 4), $4 runs were killed, or the phase's
# time is up.
killing_phase() {
  local name=$1 lo=$2 hi=$3 max_kills=$4 phase_kills=0 start=$SECONDS finished=no
  while ((SECONDS - start < phase_s && SECONDS < total_s && phase_kills < max_kills)); do
    # Log-uniform between lo and hi: many kills early in a run (start-up,
    # reconciliation, the first writes), some late enough to reach every stream.
    run_once "$(awk -v r=$RANDOM -v lo="$lo" -v hi="$hi" 'BEGIN { printf "%d", lo * exp(log(hi / lo) * r / 32767) }')"
    case $last_rc in
      # 124: the kill came as the run was ending on its own (timeout saw it
      # time out, the process exited with its own status).
      137 | 124) kills=$((kills + 1)); phase_kills=$((phase_kills + 1)) ;;
      0 | 4) completed_early=$((completed_early + 1)); finished=yes; break ;;
      75) temporary=$((temporary + 1)) ;;
      *) echo "crash test: run $runs exited $last_rc (expected 0, 4, 75 or a kill)" >&2
         tail -n 30 "$work/runs.log" >&2; exit 1 ;;
    esac
  done
  echo "crash test: $name: $phase_kills kills in $((SECONDS - start)) s, a run finished: $finished; People: $(people_counts)"
}

killing_phase "backfill" 30 "$max_ms" "$max_kills"
# Changes in CRM while runs keep dying: edits, deletions, new records.
for ((round = 1; round <= rounds; round++)); do
  python3 "$here/mutate_crm.py" --url "$SB_URL" --ca "$SB_CA" --seed $((seed * 100 + round)) \
    --edit 0.02 --delete 0.005 --add 0.005
  killing_phase "changes $round" 30 $((max_ms / 5)) $((max_kills / 2))  # incremental runs are short
done

# Faults off; clean passes until one finishes.
e2e_admin POST /faults "" >/dev/null
final_start=$SECONDS
final=0
for ((i = 0; i < 5; i++)); do
  run_once 0
  final=$last_rc
  [[ $final == 0 || $final == 4 ]] && break
  [[ $final == 75 ]] || { echo "crash test: final run exited $final" >&2; tail -n 30 "$work/runs.log" >&2; exit 1; }
done
if [[ $final != 0 && $final != 4 ]]; then
  echo "crash test: no clean run finished (last exit $final)" >&2
  tail -n 30 "$work/runs.log" >&2
  exit 1
fi
echo "crash test: clean pass(es): $((i + 1)), $((SECONDS - final_start)) s, exit $final"

integrity=$(sqlite3 "$work/state.db" "PRAGMA integrity_check;")
faults=$(e2e_admin GET /stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["faults"])')
echo "crash test: $kills kills, $((runs - 1)) restarts ($temporary exited 75, $completed_early finished before their kill), faults injected: $faults"
echo "crash test: integrity_check: $integrity"
rc=0
python3 "$here/check_people.py" --url "$SB_URL" --ca "$SB_CA" --state "$work/state.db" --json "$work/figures.json" || rc=$?
records=$(python3 -c 'import json,sys; f=json.load(open(sys.argv[1])); print(f["deals"] + f["calls"])' "$work/figures.json" 2>/dev/null || echo "?")
dups=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["duplicates"])' "$work/figures.json" 2>/dev/null || echo "?")
missing=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["missing"])' "$work/figures.json" 2>/dev/null || echo "?")
echo "crash test: kills $kills, restarts $((runs - 1)), records $records, duplicates $dups, missing $missing"
if [[ "$integrity" != "ok" ]]; then
  echo "crash test: FAILED: PRAGMA integrity_check: $integrity" >&2
  rc=1
fi
if ((kills < 10)); then
  echo "crash test: FAILED: only $kills kills: the runs finished before they could be killed" >&2
  rc=1
fi
if ((rc != 0)); then
  CRASH_KEEP=1
  echo "crash test: FAILED (seed $seed)" >&2
fi
exit $rc
