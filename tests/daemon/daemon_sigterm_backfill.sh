#!/usr/bin/env bash
# SIGTERM during a backfill (issue 7: "SIGTERM during a backfill exits 0
# within 10 s and the next run finishes with nothing lost or doubled"), with
# the real binaries: the daemon backfills demo:3000 from the sandbox (People
# thresholds off, the daemon's own limits off) while the sandbox holds every
# reply back, so the backfill lasts:
#   A. SIGTERM while the deals stream creates jobs (every reply 50 ms late);
#   B. a new daemon; SIGTERM while the calls stream writes time logs in bulk
#      (bulk replies 400 ms late: the signal lands with a write in flight);
#   C. `peoplesync --run-once` finishes the backfill (exit 0 or 4).
# Each SIGTERM: exit 0 within 10 s. Then People holds no duplicate job, no
# duplicate time log, and as many time logs as the id map has calls rows; and
# the final run had work left (so the signals did land mid-backfill).
# Usage: daemon_sigterm_backfill.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/daemon_e2e_lib.sh
source "$here/daemon_e2e_lib.sh"
de_init "${1:?usage: daemon_sigterm_backfill.sh BUILD_DIR}"
command -v sqlite3 >/dev/null || de_fail "sqlite3 is missing (scripts/install-deps.sh)"

de_start_sandbox 3000 --no-limits --credits 100000000
de_write_config "$WORK/config.yaml" "$WORK/state.db" 1h info unlimited
cfg=$WORK/config.yaml
T0=$(de_now)

# stop_and_check NAME: SIGTERM, then exit 0 within 10 s.
stop_and_check() {
  echo "$1: SIGTERM $(de_elapsed "$T0") s into the test"
  de_stop_daemon 15
  echo "$1: SIGTERM -> exit $PS_RC after $PS_STOP_S s"
  [[ "$PS_RC" == 0 ]] || { tail -20 "$WORK/$1.log"; de_fail "$1: exit $PS_RC after SIGTERM (expected 0)"; }
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 10 else 1)' "$PS_STOP_S" ||
    de_fail "$1: $PS_STOP_S s from SIGTERM to exit (limit 10 s)"
  grep -q 'signal 15' "$WORK/$1.log" || de_fail "$1: the daemon did not log the signal"
}

# A: mid-way through the jobs.
de_admin POST /faults "latency_ms=50" >/dev/null
de_start_daemon "$cfg" "$WORK/a.log"
de_wait_for 40 "40 jobs created" de_calls_at_least people/insertRecord 40
stop_and_check a
jobs_a=$(de_people_count jobs)
logs_a=$(de_people_count timelogs)
echo "a: People holds $jobs_a jobs, $logs_a time logs"

# B: the remaining jobs at full speed, then the time logs slowly.
de_admin POST /faults "latency_ms=400,only=addupdatetimelogs" >/dev/null
bulk0=$(de_calls people/addupdatetimelogs)
de_start_daemon "$cfg" "$WORK/b.log"
de_wait_for 45 "3 bulk time-log writes" de_calls_at_least people/addupdatetimelogs $((bulk0 + 3))
stop_and_check b
jobs_b=$(de_people_count jobs)
logs_b=$(de_people_count timelogs)
echo "b: People holds $jobs_b jobs, $logs_b time logs"

# C: the next run finishes.
de_admin POST /faults "" >/dev/null
rc=0
timeout -s KILL 60 "$PS_BIN" --run-once -c "$cfg" >"$WORK/c.out" 2>"$WORK/c.log" || rc=$?
echo "c: peoplesync --run-once exit $rc ($(de_elapsed "$T0") s into the test)"
cat "$WORK/c.out"
[[ $rc == 0 || $rc == 4 ]] || { tail -20 "$WORK/c.log"; de_fail "the run after the SIGTERMs exited $rc (expected 0 or 4)"; }

figures=$(python3 "$here/check_no_duplicates.py" "$SB_URL" "$SB_CA" "$WORK/state.db") || {
  echo "$figures"
  de_fail "People holds duplicates or differs from the id map"
}
echo "c: $figures"
jobs_c=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["jobs"])' "$figures")
logs_c=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["timelogs"])' "$figures")
((jobs_a < jobs_c)) || de_fail "the first SIGTERM came after every job was written ($jobs_a of $jobs_c)"
((logs_b < logs_c)) || de_fail "the second SIGTERM came after every time log was written ($logs_b of $logs_c)"
((logs_b > 0)) || de_fail "no time log was written before the second SIGTERM"
integrity=$(sqlite3 "$WORK/state.db" "PRAGMA integrity_check;")
[[ "$integrity" == ok ]] || de_fail "PRAGMA integrity_check: $integrity"
echo "ok: both SIGTERMs -> exit 0 within 10 s; the next run finished; no duplicate, time logs = id map calls rows"
