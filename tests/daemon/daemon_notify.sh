#!/usr/bin/env bash
# sd_notify against the real daemon (issue 7 item 3): `peoplesync -c FILE`
# started against the sandbox with NOTIFY_SOCKET pointing to a unix datagram
# socket this test owns (tests/daemon/notify_listener.py) and
# WATCHDOG_USEC=2000000. Checks:
#   - READY=1 arrives, and only once a token was obtained: the sandbox holds
#     the token reply back for TOKEN_DELAY_MS, so READY=1 cannot come earlier
#     than that after the start, and /readyz answers 503 until then;
#   - WATCHDOG=1 arrives about every second (half of WATCHDOG_USEC), never
#     with a gap systemd would kill the service for (>= WATCHDOG_USEC);
#   - STATUS= lines after the passes (poll_interval 2s), naming every stream;
#   - every message comes from the daemon's own pid (NotifyAccess=main);
#   - SIGTERM: STOPPING=1 arrives, the process exits 0 within 10 s.
# Usage: daemon_notify.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/daemon_e2e_lib.sh
source "$here/daemon_e2e_lib.sh"
de_init "${1:?usage: daemon_notify.sh BUILD_DIR}"

token_delay_ms=2500
de_start_sandbox 40 --faults "latency_ms=$token_delay_ms,only=/oauth/v2/token"
de_write_config "$WORK/config.yaml" "$WORK/state.db" 2s info

sock=$WORK/notify.sock
msgs=$WORK/notify.jsonl
: >"$msgs"
python3 "$here/notify_listener.py" "$sock" "$msgs" --max-seconds 90 >"$WORK/listener.out" 2>&1 &
de_track $!
de_wait_for 10 "the notify listener" grep -q listening "$WORK/listener.out"

started=$(de_now)
de_start_daemon "$WORK/config.yaml" "$WORK/daemon.log" NOTIFY_SOCKET="$sock" WATCHDOG_USEC=2000000
echo "daemon pid $PS_PID, health on $PS_URL"

# The token reply is still held back by the sandbox: not ready yet.
code=$(de_code /readyz)
ready_lines=$(grep -c '"READY=1"' "$msgs")
echo "before the token: /readyz $code, READY=1 messages: $ready_lines"
[[ "$code" == 503 ]] || de_fail "/readyz answered $code before the first token (expected 503)"
[[ "$ready_lines" == 0 ]] || de_fail "READY=1 sent before the first token"
[[ "$(de_code /livez)" == 200 ]] || de_fail "/livez not 200 while waiting for the token"

de_wait_for 20 "READY=1" grep -q '"READY=1"' "$msgs"
[[ "$(de_code /readyz)" == 200 ]] || de_fail "/readyz not 200 after READY=1"
# Two passes (poll_interval 2s) -> at least two STATUS= lines.
de_wait_for 30 "two STATUS= messages" bash -c "[[ \$(grep -c '\"STATUS=' '$msgs') -ge 2 ]]"
# Watch the watchdog for a while longer: six WATCHDOG=1 after READY=1 (about
# 6 s at one a second).
watchdogs_after_ready() { awk '/"READY=1"/ {r = 1} r && /"WATCHDOG=1"/ {n++} END {exit !(n >= 6)}' "$msgs"; }
de_wait_for 20 "six WATCHDOG=1 messages after READY=1" watchdogs_after_ready
tokens=$(de_admin GET /stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["endpoints"]["accounts/token"]["calls"])')
echo "token requests the sandbox saw: $tokens"
[[ "$tokens" -ge 1 ]] || de_fail "READY=1 although the sandbox never saw a token request"

de_stop_daemon 12
echo "SIGTERM -> exit $PS_RC after $PS_STOP_S s"
# The last datagrams are already queued: wait for the listener to write them.
de_wait_for 5 "the listener writing STOPPING=1" grep -q '"STOPPING=1"' "$msgs"

python3 - "$msgs" "$PS_PID" "$started" "$token_delay_ms" <<'PY' || exit 1
import json, statistics, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
pid, started, delay = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]) / 1000.0
fail = []
kinds = [m["msg"].split("=", 1)[0] for m in msgs]
print("messages: " + ", ".join("%s x%d" % (k, kinds.count(k)) for k in sorted(set(kinds))))
others = [m for m in msgs if m["pid"] != pid]
if others:
    fail.append("%d message(s) not from the daemon's pid %d: %s" % (len(others), pid, others[:3]))
ready = [i for i, m in enumerate(msgs) if m["msg"] == "READY=1"]
if not ready:
    fail.append("no READY=1")
else:
    r = msgs[ready[0]]
    after = r["wall"] - started
    print("READY=1 %.2f s after the start (token reply held back %.2f s)" % (after, delay))
    if after < delay:
        fail.append("READY=1 %.2f s after the start, before the token reply could have arrived" % after)
    if len(ready) != 1:
        fail.append("READY=1 sent %d times without a reload" % len(ready))
status = [i for i, m in enumerate(msgs) if m["msg"].startswith("STATUS=")]
if len(status) < 2:
    fail.append("%d STATUS= messages, expected at least 2" % len(status))
for i in status:
    text = msgs[i]["msg"]
    if ready and i < ready[0]:
        fail.append("STATUS= before READY=1: " + text)
    for s in ("deals:", "calls:", "hours_back:"):
        if s not in text:
            fail.append("STATUS= lacks %s: %s" % (s, text))
if status:
    print("last " + msgs[status[-1]]["msg"][:200])
wd = [m["t"] for m in msgs if m["msg"] == "WATCHDOG=1"]
stop = [i for i, m in enumerate(msgs) if m["msg"] == "STOPPING=1"]
if len(wd) < 6:
    fail.append("%d WATCHDOG=1 messages, expected at least 6" % len(wd))
else:
    gaps = [b - a for a, b in zip(wd, wd[1:])]
    med = statistics.median(gaps)
    print("WATCHDOG=1 x%d over %.1f s: gap median %.3f s, min %.3f s, max %.3f s" %
          (len(wd), wd[-1] - wd[0], med, min(gaps), max(gaps)))
    if not 0.8 <= med <= 1.25:
        fail.append("WATCHDOG=1 every %.3f s (median), expected about 1 s (half of WATCHDOG_USEC=2 s)" % med)
    if max(gaps) >= 2.0:
        fail.append("a WATCHDOG=1 gap of %.3f s: systemd (WatchdogSec=2s) would have killed the service" % max(gaps))
if len(stop) != 1:
    fail.append("STOPPING=1 sent %d times, expected once" % len(stop))
elif stop[0] != len(msgs) - 1 and any(m["msg"] == "READY=1" for m in msgs[stop[0]:]):
    fail.append("READY=1 after STOPPING=1")
for f in fail:
    print("FAIL: " + f)
sys.exit(1 if fail else 0)
PY

[[ "$PS_RC" == 0 ]] || { tail -20 "$WORK/daemon.log"; de_fail "the daemon exited $PS_RC after SIGTERM (expected 0)"; }
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 10 else 1)' "$PS_STOP_S" ||
  de_fail "the daemon took $PS_STOP_S s to exit after SIGTERM (limit 10 s)"
echo "ok: READY after the token, WATCHDOG about every second, STATUS after passes, STOPPING and exit 0"
