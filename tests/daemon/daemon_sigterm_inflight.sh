#!/usr/bin/env bash
# SIGTERM with a write that does not come back in time (issue 7 item 1:
# "finish or safely abandon in-flight writes (outbox keeps them) ... and exit
# 0 within 10 s"), with the real binaries:
#   1. the daemon backfills demo:200 (one pass, with dead letters: the demo
#      data has calls on completed jobs); a new CRM call on a completed job
#      makes the next pass end with a new dead letter too;
#   2. another new CRM call appears; the sandbox commits its time log but holds the
#      reply back for 60 s; once the write is on the wire, SIGTERM;
#   3. the daemon gives up on it after its grace period: exit 0 (not the
#      dead-letter code of the earlier pass), within 10 s;
#   4. `peoplesync --run-once` reconciles the abandoned write: exactly one
#      time log for the new call, nothing doubled, outbox empty.
# Usage: daemon_sigterm_inflight.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/daemon_e2e_lib.sh
source "$here/daemon_e2e_lib.sh"
de_init "${1:?usage: daemon_sigterm_inflight.sh BUILD_DIR}"
command -v sqlite3 >/dev/null || de_fail "sqlite3 is missing (scripts/install-deps.sh)"

de_start_sandbox 200 --no-limits --credits 100000000
# poll_interval 5s: room to place the held-back write in the pass right
# after the one that ended with a dead letter.
de_write_config "$WORK/config.yaml" "$WORK/state.db" 5s info unlimited
cfg=$WORK/config.yaml

de_start_daemon "$cfg" "$WORK/daemon.log"
de_wait_for 40 "the first pass" grep -q 'pass done (dead_letters)' "$WORK/daemon.log"
logs_before=$(de_people_count timelogs)
echo "pass 1 done: People holds $(de_people_count jobs) jobs, $logs_before time logs"

# make_call FILE SUBJECT dead|logged: a new CRM call (JSON in FILE), a copy
# of one that became a time log (its job is open) or of one that was
# dead-lettered (People refused it: its job is completed).
de_admin GET /crm/Calls >"$WORK/calls.json"
de_admin GET /people/timelogs >"$WORK/logs.json"
sqlite3 "$WORK/state.db" "SELECT source_key FROM dead_letters WHERE stream='calls';" >"$WORK/dead.txt"
make_call() {
  python3 - "$WORK" "$2" "$3" >"$1" <<'PY'
import json, sys
w, subject, kind = sys.argv[1:4]
logged = {t["work_item"] for t in json.load(open(w + "/logs.json"))}
dead = set(open(w + "/dead.txt").read().split())
pick = (lambda c: c["Subject"] in logged) if kind == "logged" else (lambda c: c["id"] in dead)
call = next(c for c in json.load(open(w + "/calls.json")) if pick(c))
new = {k: call[k] for k in ("Call_Start_Time", "Call_Duration_in_seconds", "Owner", "What_Id")}
new["Subject"] = subject
print(json.dumps(new))
PY
}
subject="SIGTERM in flight $$"
make_call "$WORK/refused.json" "refused call $$" dead
make_call "$WORK/held.json" "$subject" logged

# A pass that ends with a new dead letter (its outcome: exit code 4 for
# --run-once): a stop must still exit 0 afterwards.
dl_passes=$(de_log_count "$WORK/daemon.log" 'pass done \(dead_letters\)')
de_admin POST /crm/Calls "$(cat "$WORK/refused.json")" >/dev/null
de_wait_for 20 "a pass ending with the refused call's dead letter" \
  bash -c "(( \$(grep -c 'pass done (dead_letters)' '$WORK/daemon.log') > $dl_passes ))"

# The held-back write, in the next pass (5 s later): two admin calls.
bulk0=$(de_calls people/addupdatetimelogs)
de_admin POST /faults "latency_ms=60000,only=addupdatetimelogs" >/dev/null
de_admin POST /crm/Calls "$(cat "$WORK/held.json")" >/dev/null
de_wait_for 20 "the time-log write on the wire" de_calls_at_least people/addupdatetimelogs $((bulk0 + 1))
# The sandbox commits it; its reply waits.
held_write_committed() { [[ $(de_people_count timelogs) == $((logs_before + 1)) ]]; }
de_wait_for 10 "the sandbox committing the held-back write" held_write_committed
last_pass=$(grep 'pass done' "$WORK/daemon.log" | tail -1)
[[ "$last_pass" == *'(dead_letters)'* ]] ||
  de_fail "the pass before the held-back write did not end with dead letters: $last_pass"

de_stop_daemon 15
echo "SIGTERM with the write in flight -> exit $PS_RC after $PS_STOP_S s"
[[ "$PS_RC" == 0 ]] || { tail -20 "$WORK/daemon.log"; de_fail "exit $PS_RC after SIGTERM (expected 0)"; }
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 10 else 1)' "$PS_STOP_S" ||
  de_fail "$PS_STOP_S s from SIGTERM to exit (limit 10 s)"
grep -q 'abandoning' "$WORK/daemon.log" || de_fail "the daemon did not say it abandoned the write in flight"
# (op 'retry' rows are records waiting for a reference, not write intents.)
outbox=$(sqlite3 "$WORK/state.db" "SELECT count(*) FROM outbox WHERE stream='calls' AND op != 'retry';")
echo "outbox after the stop: $outbox write intent(s) of the calls stream"
((outbox >= 1)) || de_fail "the abandoned write's intent is not in the outbox"

de_admin POST /faults "" >/dev/null
rc=0
timeout -s KILL 60 "$PS_BIN" --run-once -c "$cfg" >"$WORK/run.out" 2>"$WORK/run.log" || rc=$?
echo "peoplesync --run-once exit $rc"
[[ $rc == 0 || $rc == 4 ]] || { tail -20 "$WORK/run.log"; de_fail "the run after the stop exited $rc (expected 0 or 4)"; }

n=$(de_admin GET /people/timelogs | python3 -c 'import json,sys; print(sum(t["work_item"] == sys.argv[1] for t in json.load(sys.stdin)))' "$subject")
[[ "$n" == 1 ]] || de_fail "People holds $n time logs for the new call (expected exactly 1)"
outbox=$(sqlite3 "$WORK/state.db" "SELECT count(*) FROM outbox WHERE op != 'retry';")
[[ "$outbox" == 0 ]] || de_fail "$outbox write intent(s) still in the outbox after the run"
figures=$(python3 "$here/check_no_duplicates.py" "$SB_URL" "$SB_CA" "$WORK/state.db") || {
  echo "$figures"
  de_fail "People holds duplicates or differs from the id map"
}
echo "after the run: $figures"
echo "ok: SIGTERM with a write in flight -> abandoned, exit 0 in $PS_STOP_S s; the next run reconciled it, nothing doubled"
