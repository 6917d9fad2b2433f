#!/usr/bin/env bash
# The soak test (issue 8 item 5): one `peoplesync` daemon (not --run-once),
# polling every second, runs against the sandbox for the whole test while a
# driver keeps changing CRM (calls and deals edited, deleted and added:
# tests/e2e/mutate_crm.py), revokes every access token now and then on top of
# a short token lifetime, provokes People lock periods (the sandbox enforces
# its thresholds, the daemon's own limiter is off, so bursts of deletions and
# status changes get 7209), and switches the injected faults (5xx, connections
# dropped before and after committing a write, truncated and non-JSON
# replies, latency, trickled replies) every round. The sandbox runs its clock
# SOAK_SCALE times faster: minutes of wall time are hours of sandbox time
# (token lifetimes, limit windows, lock periods, CRM times), and the daemon's
# lock period is set to the sandbox's scaled one.
#
# The daemon's RSS and open descriptors are sampled every 2 s. At the end:
# faults off, wait until two passes in a row wrote nothing, SIGTERM (exit 0),
# then People must be exactly the expected state (tests/e2e/check_people.py
# computes it from the sandbox's data and the config, never from the state
# file), every dead letter must have an expected reason consistent with the
# data (tests/e2e/soak_check.py), and RSS and descriptors must be flat (the
# last third's maximum within SOAK_RSS_SLACK_MIB / 4 of the first third's).
# Prints the figures as one block (also left in BUILD_DIR/soak-figures.txt).
#
# Usage: soak_test.sh BUILD_DIR
# Environment (all optional):
#   SOAK_N              CRM calls (demo:N: N/5 deals, N/20 projects); 2000
#   SOAK_SEED           CRM changes and fault rolls; 1
#   SOAK_SCALE          sandbox time scale; 60 (a wall second = a sandbox minute)
#   SOAK_SECONDS        length of the changing phase (wall); 110
#   SOAK_ROUND_S        one round of changes every this many seconds; 4
#   SOAK_TOKEN_LIFETIME_S  access token lifetime, sandbox seconds; 900
#   SOAK_CAP_S          hard cap on the whole test's wall time; 330
#   SOAK_RSS_SLACK_MIB  allowed RSS growth; 10
#   SOAK_KEEP=1         keep the work directory
set -euo pipefail

build=${1:?usage: soak_test.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"

n=${SOAK_N:-2000}
seed=${SOAK_SEED:-1}
scale=${SOAK_SCALE:-60}
soak_s=${SOAK_SECONDS:-110}
round_s=${SOAK_ROUND_S:-4}
token_s=${SOAK_TOKEN_LIFETIME_S:-900}
cap_s=${SOAK_CAP_S:-330}
rss_slack=${SOAK_RSS_SLACK_MIB:-10}
poll=1s
peoplesync=$build/daemon/peoplesync
sandbox=$build/sandbox/peoplesync-sandbox
for b in "$peoplesync" "$sandbox"; do
  [[ -x "$b" ]] || { echo "soak: $b not built" >&2; exit 1; }
done
for t in python3 sqlite3 curl timeout; do
  command -v "$t" >/dev/null || { echo "soak: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/peoplesync-soak-XXXXXX)
D_PID='' SAMPLER_PID='' WATCHDOG_PID=''
cleanup() {
  local rc=$?
  for p in "$WATCHDOG_PID" "$SAMPLER_PID"; do
    [[ -n "$p" ]] && kill "$p" 2>/dev/null || true
  done
  if [[ -n "$D_PID" ]] && kill -0 "$D_PID" 2>/dev/null; then
    kill -TERM "$D_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$D_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$D_PID" 2>/dev/null || true
  fi
  [[ -n "$D_PID" ]] && wait "$D_PID" 2>/dev/null || true
  e2e_stop_sandbox
  if [[ "${SOAK_KEEP:-}" == 1 || $rc != 0 ]]; then echo "soak: work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "soak: FAILED: $*" >&2
  [[ -f "$work/daemon.log" ]] && { echo "--- last lines of the daemon's log:" >&2; tail -n 25 "$work/daemon.log" >&2; }
  exit 1
}
# The remaining wall-time budget, in seconds.
budget() { echo $((cap_s - SECONDS)); }

# Sandbox thresholds and lock periods on (no --no-limits); 5-minute locks and
# 60 s windows shrink with the time scale, so does the token lifetime.
e2e_start_sandbox "$sandbox" "$work" "$n" --time-scale "$scale" --token-lifetime-s "$token_s" --random-seed "$seed"
sb_start_now=$(e2e_admin GET /stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["now"])')
lock_ms=$(( (300000 + scale - 1) / scale ))
e2e_write_config "$work/config.yaml" "$work/state.db" info
# The daemon: health server on a free port, a pass every second, a request
# deadline short enough for trickled replies, its own People limiter off
# (per_minute 0) with the sandbox's lock period as the pause after a 7209.
python3 - "$work/config.yaml" "$poll" "$lock_ms" <<'PY'
import re, sys
path, poll, lock_ms = sys.argv[1:]
t = open(path).read()
t = t.replace('  listen: "off"\n', '  listen: 127.0.0.1:0\n  poll_interval: %s\n' % poll)
t = t.replace("zoho:\n", "zoho:\n  timeouts: {connect: 5s, request: 5s}\n", 1)
t, n = re.subn(r"(people/[A-Za-z]+): \{per_minute: 0\}", r"\1: {per_minute: 0, lock: %sms}" % lock_ms, t)
assert n >= 10 and "poll_interval" in t, "soak: the config of lib.sh changed shape"
open(path, "w").write(t)
PY

"$peoplesync" -c "$work/config.yaml" >"$work/daemon.out" 2>"$work/daemon.log" &
D_PID=$!
# Every process of the test goes away by the cap, whatever the phase hangs on.
(
  end=$((SECONDS + $(budget)))
  while ((SECONDS < end)); do sleep 1; done
  echo "soak: wall-time cap of ${cap_s} s reached: stopping the daemon and the sandbox" >&2
  kill -KILL "$D_PID" "$SB_PID" 2>/dev/null
) </dev/null >/dev/null 2>"$work/watchdog.log" &
WATCHDOG_PID=$!

health=
for ((i = 0; i < 300; i++)); do
  health=$(grep -o 'health and metrics on http://[0-9.:]*' "$work/daemon.log" 2>/dev/null | sed 's/.* on //' || true)
  [[ -n "$health" ]] && break
  kill -0 "$D_PID" 2>/dev/null || fail "the daemon exited at start"
  sleep 0.1
done
[[ -n "$health" ]] || fail "the daemon did not start its health server"
for ((i = 0; i < 600; i++)); do
  curl -s -o /dev/null --fail "$health/readyz" && break
  kill -0 "$D_PID" 2>/dev/null || fail "the daemon exited before it was ready"
  sleep 0.1
done
curl -s -o /dev/null --fail "$health/readyz" || fail "the daemon was not ready within 60 s"
echo "soak: sandbox $SB_URL (demo:$n, time x$scale, token lifetime ${token_s} s, People limits on), daemon pid $D_PID"
echo "soak: health $health; poll every $poll, lock pause ${lock_ms} ms; work directory $work"

# RSS (kB) and open descriptors of the daemon, every 2 s, until it is stopped.
(
  while kill -0 "$D_PID" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$D_PID/status" 2>/dev/null || true)
    fds=$(find "/proc/$D_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    [[ -n "$rss" ]] && echo "$SECONDS $rss $fds"
    sleep 2
  done
) </dev/null >"$work/samples.txt" 2>/dev/null &
SAMPLER_PID=$!

# ---------------------------------------------------------------- the soak
faults=(
  "error_rate=0.08"
  "drop_after=0.05"
  "truncate=0.05,latency_ms=5"
  "garbage=0.05"
  ""
  "latency_ms=25,error_rate=0.03"
  "drop_before=0.05,drop_after=0.03"
  "error_rate=0.03,drop_after=0.03,truncate=0.02,garbage=0.02,latency_ms=5"
  "only=/people/,error_rate=0.1,drop_after=0.03"
  "trickle=0.005,error_rate=0.02"
)
# People endpoints and their thresholds (calls per sandbox minute).
lock_endpoints=(getjobs:20 addupdatetimelogs:30 modifyjobstatus:20 getRecordIdsByReferenceIds:50 deletetimelog:20
  insertRecord:100)
rounds=0 revocations=0 fault_settings=0 bursts=0
soak_start=$SECONDS
: >"$work/changes.jsonl"
while ((SECONDS - soak_start < soak_s)); do
  round_start=$SECONDS
  rounds=$((rounds + 1))
  kill -0 "$D_PID" 2>/dev/null || fail "the daemon died during round $rounds"
  spec=${faults[$(((rounds - 1) % ${#faults[@]}))]}
  e2e_admin POST "/faults?spec=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$spec")" "" >/dev/null
  fault_settings=$((fault_settings + 1))
  # Every fifth round deletes a burst of calls: one deletetimelog each, past
  # the sandbox's threshold (a 7209 lock period).
  del=0.003
  ((rounds % 5 == 0)) && del=0.015
  python3 "$here/mutate_crm.py" --url "$SB_URL" --ca "$SB_CA" --seed $((seed * 1000 + rounds)) --json \
    --edit 0.01 --delete "$del" --add 0.005 --deal-add 0.01 --deal-edit 0.02 --deal-delete 0.01 \
    >>"$work/changes.jsonl" || fail "mutate_crm.py failed in round $rounds"
  # Every other round another client of the organisation spends one People
  # endpoint's allowance, right as the daemon starts on the changes: the
  # daemon meets a lock period there (7209) and must wait it out.
  burst=
  if ((rounds % 2 == 0)); then
    ep=${lock_endpoints[$(((rounds / 2 - 1) % ${#lock_endpoints[@]}))]}
    # (A trickled reply, a byte every 200 ms, would hold the burst for a minute.)
    burst=$(timeout -s KILL 5 python3 "$here/soak_check.py" lock --url "$SB_URL" --ca "$SB_CA" \
      --endpoint "${ep%:*}" --calls $((${ep#*:} + 3)) || echo "${ep%:*}: cut short after 5 s")
    bursts=$((bursts + 1))
  fi
  if ((rounds % 3 == 0)); then
    e2e_admin POST "/revoke?access_tokens=all" "" >/dev/null
    revocations=$((revocations + 1))
  fi
  echo "soak: round $rounds at $((SECONDS - soak_start)) s: faults '${spec:-off}', $(tail -n 1 "$work/changes.jsonl")${burst:+; lock burst $burst}"
  while ((SECONDS - round_start < round_s && SECONDS - soak_start < soak_s)); do sleep 0.5; done
done
soak_wall=$((SECONDS - soak_start))

# ------------------------------------------------------------ convergence
e2e_admin POST /faults "" >/dev/null
kill -0 "$D_PID" 2>/dev/null || fail "the daemon died during the soak"
since_ms=$(python3 -c 'import time; print(int(time.time() * 1000))')
converge_start=$(python3 -c 'import time; print(time.monotonic())')
left=$(budget)
((left > 40)) || fail "no wall time left to converge (cap ${cap_s} s)"
python3 "$here/soak_check.py" converge --health "$health" --url "$SB_URL" --ca "$SB_CA" --since-ms "$since_ms" \
  --deadline-s $((left - 30)) || fail "no convergence"
converge_s=$(python3 -c 'import sys, time; print("%.1f" % (time.monotonic() - float(sys.argv[1])))' "$converge_start")
curl -s --fail "$health/metrics" >"$work/metrics.txt" || fail "cannot read $health/metrics"
sb_end_now=$(e2e_admin GET /stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["now"])')
kill "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=

# ---------------------------------------------------------------- SIGTERM
kill -TERM "$D_PID"
for ((i = 0; i < 200; i++)); do kill -0 "$D_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$D_PID" 2>/dev/null; then
  fail "the daemon did not exit within 20 s of SIGTERM"
fi
exit_code=0
wait "$D_PID" || exit_code=$?
D_PID=
kill "$WATCHDOG_PID" 2>/dev/null || true
WATCHDOG_PID=

# ---------------------------------------------------------------- checks
people_rc=0
python3 "$here/check_people.py" --url "$SB_URL" --ca "$SB_CA" --state "$work/state.db" --json "$work/people.json" ||
  people_rc=$?
[[ -s "$work/people.json" ]] || echo '{}' >"$work/people.json"
python3 - "$work/changes.jsonl" "$work/driver.json" <<PY
import collections, datetime, json, sys
c = collections.Counter()
for line in open(sys.argv[1]):
    if line.strip():
        c.update(json.loads(line))
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
d = {
    "wall_s": $SECONDS, "soak_s": $soak_wall, "converge_s": float("$converge_s"), "scale": float("$scale"),
    "sandbox_seconds": (t("$sb_end_now") - t("$sb_start_now")).total_seconds(), "poll_interval": "$poll",
    "rounds": $rounds, "revocations": $revocations, "lock_bursts": $bursts, "fault_settings": $fault_settings,
    "token_lifetime_s": $token_s, "exit_code": $exit_code, "people_rc": $people_rc,
    "calls_edited": c["calls_edited"], "calls_deleted": c["calls_deleted"],
    "calls_added": c["calls_added"] + c["calls_added_on_new_deals"], "deals_added": c["deals_added"],
    "deals_edited": c["deals_edited"], "deals_deleted": c["deals_deleted"],
}
d["changes"] = sum(d[k] for k in ("calls_edited", "calls_deleted", "calls_added", "deals_added", "deals_edited",
                                  "deals_deleted"))
json.dump(d, open(sys.argv[2], "w"))
PY
rc=0
python3 "$here/soak_check.py" report --url "$SB_URL" --ca "$SB_CA" --state "$work/state.db" \
  --samples "$work/samples.txt" --people "$work/people.json" --driver "$work/driver.json" \
  --metrics "$work/metrics.txt" --rss-slack-mib "$rss_slack" >"$work/figures.txt" || rc=$?
cat "$work/figures.txt"
# The figures stay next to the build (ctest shows a passing test's output only with -V).
cp "$work/figures.txt" "$build/soak-figures.txt" 2>/dev/null || true
integrity=$(sqlite3 "$work/state.db" "PRAGMA integrity_check;")
if [[ "$integrity" != ok ]]; then
  echo "soak: FAILED: PRAGMA integrity_check: $integrity" >&2
  rc=1
fi
if ((rc != 0)); then
  echo "soak: FAILED (seed $seed); logs in $work" >&2
fi
exit $rc
