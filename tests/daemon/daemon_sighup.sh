#!/usr/bin/env bash
# SIGHUP against the real daemon (issue 7 item 1: "SIGHUP reloads the config:
# a valid new config applies without losing state; an invalid one is refused
# with the errors logged and the old one kept"):
#   1. the daemon runs against the sandbox, poll_interval 1h, one pass done;
#   2. the config file is rewritten with errors, SIGHUP: every error is logged
#      (file:line:column), the secrets are not, RELOADING=1 then READY=1 on
#      the notify socket, the daemon keeps running and serving, and keeps the
#      old config (no pass starts: poll_interval is still 1h);
#   3. the file is rewritten valid with poll_interval 3s, SIGHUP: logged as
#      loaded, a pass follows, and the one after it comes ~3 s later (the new
#      interval applies); the state is kept (the passes write nothing new);
#      log_level warn in the same file needs a restart: a warning names it
#   4. /readyz answers 200 every time it is asked, throughout (a poller asks
#      every 50 ms); SIGTERM -> exit 0.
# Usage: daemon_sighup.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/daemon_e2e_lib.sh
source "$here/daemon_e2e_lib.sh"
de_init "${1:?usage: daemon_sighup.sh BUILD_DIR}"

de_start_sandbox 40
cfg=$WORK/config.yaml
de_write_config "$cfg" "$WORK/state.db" 1h info

sock=$WORK/notify.sock
msgs=$WORK/notify.jsonl
: >"$msgs"
python3 "$here/notify_listener.py" "$sock" "$msgs" --max-seconds 90 >"$WORK/listener.out" 2>&1 &
de_track $!
de_wait_for 10 "the notify listener" grep -q listening "$WORK/listener.out"

log=$WORK/daemon.log
de_start_daemon "$cfg" "$log" NOTIFY_SOCKET="$sock"
de_wait_for 30 "the first pass" grep -q 'pass done' "$log"
[[ "$(de_code /readyz)" == 200 ]] || de_fail "/readyz not 200 after the first pass"
jobs1=$(de_people_count jobs)
logs1=$(de_people_count timelogs)
echo "first pass done: People holds $jobs1 jobs, $logs1 time logs"

# /readyz, asked every 50 ms until the end; any other answer is written down.
python3 - "$PS_URL/readyz" "$WORK/readyz.txt" <<'PY' &
import sys, time, urllib.error, urllib.request
url, out = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 80
asked = 0
with open(out, "w", buffering=1) as f:
    while time.monotonic() < deadline:
        try:
            code = urllib.request.urlopen(url, timeout=5).status
        except urllib.error.HTTPError as e:
            code = e.code
        except Exception as e:  # refused, reset: the daemon stopped serving
            code = repr(e)
        asked += 1
        if code != 200:
            f.write("%.3f %s\n" % (time.time(), code))
        f.write("asked %d\n" % asked)
        time.sleep(0.05)
PY
poller=$!
de_track "$poller"

# 2. An invalid config: a bad duration, an unknown key, a wrong type.
cp "$cfg" "$WORK/good.yaml"
sed -e 's/^  poll_interval: 1h$/  poll_interval: 5 minutes/' \
    -e 's/^  log_format: text$/  log_format: text\n  bogus_key: 1/' \
    -e 's/^    on_delete: delete$/    on_delete: [delete]/' "$WORK/good.yaml" >"$cfg"
grep -q 'poll_interval: 5 minutes' "$cfg" && grep -q bogus_key "$cfg" && grep -q "on_delete: \[delete\]" "$cfg" || de_fail "could not write the bad config"
passes=$(de_log_count "$log" 'pass done')
kill -HUP "$PS_PID"
de_wait_for 10 "the refused reload in the log" grep -q 'SIGHUP: the new config has' "$log"
reload_errors_logged() {
  (($(grep -A3 'SIGHUP: the new config has' "$log" | grep -cE '^\S+ error +\[daemon\]   ') >= 3))
}
de_wait_for 10 "the refused reload's three errors in the log" reload_errors_logged
grep 'SIGHUP' "$log" | tail -1
grep -A5 'SIGHUP: the new config has' "$log" | grep -E '^\S+ error +\[daemon\]   ' | sed 's/^/  logged: /'
grep -q 'SIGHUP: the new config has 3 error(s); keeping the one in force' "$log" ||
  de_fail "the refused reload does not say 3 errors and that the config in force is kept"
grep -qE 'config\.yaml:[0-9]+:[0-9]+: service\.poll_interval: bad duration' "$log" || de_fail "the bad duration's error (file:line:column) is not logged"
grep -qE 'config\.yaml:[0-9]+:[0-9]+: service.*bogus_key' "$log" || de_fail "the unknown key's error is not logged"
grep -qE 'config\.yaml:[0-9]+:[0-9]+: streams\[1\]\.on_delete' "$log" || de_fail "the wrong type's error is not logged"
if grep -qE 'sandbox-secret|sandbox-refresh-token' "$log"; then de_fail "a secret appears in the log"; fi
de_alive "$PS_PID" || de_fail "the daemon died on a bad config"
for p in /livez /readyz /metrics /status /status.json; do
  [[ "$(de_code "$p")" == 200 ]] || de_fail "GET $p not 200 after the refused reload"
done
(($(de_log_count "$log" 'pass done') == passes)) || de_fail "a pass ran after the refused reload (the old 1h interval is in force)"
grep -q 'new config loaded' "$log" && de_fail "the bad config was loaded"
echo "ok: the bad config is refused, its errors logged, the daemon serves on the old one"

# 3. Valid again, poll_interval 3s, and log_level warn, which needs a
# restart: it is named in a warning and the info lines go on.
sed -e 's/^  poll_interval: 1h$/  poll_interval: 3s/' -e 's/^  log_level: info$/  log_level: warn/' \
  "$WORK/good.yaml" >"$cfg"
grep -q 'log_level: warn' "$cfg" || de_fail "could not write the new config"
kill -HUP "$PS_PID"
de_wait_for 10 "the reload in the log" grep -q 'SIGHUP: new config loaded' "$log"
grep -q 'SIGHUP: service.log_level (info -> warn) takes effect only after a restart' "$log" ||
  de_fail "the restart-only change of log_level is not named"
de_wait_for 20 "two passes on the new config" bash -c "(( \$(grep -c 'next in 3s' '$log') >= 2 ))"
python3 - "$log" <<'PY' || de_fail "the new poll_interval did not apply"
import datetime, sys
stamps = [datetime.datetime.fromisoformat(l.split()[0].replace("Z", "+00:00"))
          for l in open(sys.argv[1]) if "next in 3s" in l]
gap = (stamps[1] - stamps[0]).total_seconds()
print("passes on the new config %.2f s apart (poll_interval 3s)" % gap)
sys.exit(0 if 2.9 <= gap <= 6 else 1)
PY
jobs2=$(de_people_count jobs)
logs2=$(de_people_count timelogs)
[[ "$jobs2" == "$jobs1" && "$logs2" == "$logs1" ]] ||
  de_fail "after the reload People changed ($jobs1 -> $jobs2 jobs, $logs1 -> $logs2 time logs): state lost?"
grep 'pass done' "$log" | tail -1

# 4. /readyz all along, the notify messages, the stop.
kill "$poller" 2>/dev/null
wait "$poller" 2>/dev/null
asked=$(grep -c '^asked' "$WORK/readyz.txt")
bad=$(grep -v '^asked' "$WORK/readyz.txt" | head -5)
echo "/readyz asked $asked times during the reloads"
[[ -z "$bad" ]] || de_fail "/readyz was not 200 during the reloads: $bad"
((asked >= 20)) || de_fail "/readyz asked only $asked times"
python3 - "$msgs" <<'PY' || de_fail "the notify messages around the reloads are wrong"
import json, sys
m = [json.loads(l)["msg"] for l in open(sys.argv[1])]
seq = [x for x in m if x in ("READY=1", "RELOADING=1")]
print("notify: " + " ".join(seq))
sys.exit(0 if seq == ["READY=1", "RELOADING=1", "READY=1", "RELOADING=1", "READY=1"] else 1)
PY
de_stop_daemon 12
[[ "$PS_RC" == 0 ]] || de_fail "exit $PS_RC after SIGTERM"
echo "ok: SIGHUP refuses a bad config and applies a good one; /readyz 200 throughout; SIGTERM -> exit 0 in $PS_STOP_S s"
