#!/usr/bin/env bash
# /status of the running daemon in a real browser (issue 7 item 5: "A headless
# Chromium test loads /status from a running daemon against the sandbox and
# checks what it shows"): `peoplesync -c FILE` backfills demo:60 from the
# sandbox (one pass; the demo data gives dead letters: calls on completed
# jobs), then headless Chromium loads /status and the DOM it built must show
# the three streams, the readiness badge, the dead letters with their reasons
# (as the state file records them, see `peoplesync status --json`), and that
# the page's script ran (<body data-live="1">).
# Exits 77 (ctest SKIP_RETURN_CODE) when Chromium is not installed.
# Usage: daemon_status_chromium.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
chromium=${PEOPLESYNC_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$chromium" ]]; then
  echo "SKIP: $chromium not found (apt-get install chromium, or scripts/install-deps.sh)"
  exit 77
fi
# shellcheck source=tests/daemon/daemon_e2e_lib.sh
source "$here/daemon_e2e_lib.sh"
de_init "${1:?usage: daemon_status_chromium.sh BUILD_DIR}"

de_start_sandbox 60
de_write_config "$WORK/config.yaml" "$WORK/state.db" 1h info
de_start_daemon "$WORK/config.yaml" "$WORK/daemon.log"
de_wait_for 40 "the first pass" grep -q 'pass done' "$WORK/daemon.log"
"$PS_BIN" status -c "$WORK/config.yaml" --json >"$WORK/status.json" || de_fail "peoplesync status --json failed"

# Chromium runs in its own process group (setsid) so that a timeout takes its
# helpers along; by pid, never by name.
setsid timeout -s KILL 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$WORK/profile" \
  --dump-dom "$PS_URL/status" >"$WORK/dom.html" 2>"$WORK/chromium.log" &
chrome=$!
de_track "$chrome"
wait "$chrome"
rc=$?
[[ $rc == 0 ]] || { tail -20 "$WORK/chromium.log"; de_fail "chromium exited $rc"; }
echo "chromium: $(wc -c <"$WORK/dom.html") bytes of DOM from $PS_URL/status"

python3 - "$WORK/dom.html" "$WORK/status.json" <<'PY' || { head -60 "$WORK/dom.html"; de_fail "the page does not show what it must"; }
import collections, html, json, sys
dom = open(sys.argv[1]).read()
status = json.load(open(sys.argv[2]))
fail = []
def expect(text, what):
    if text in dom:
        print("ok: page shows " + what)
    else:
        fail.append("page lacks " + what + ": " + text)
for s in ("deals", "calls", "hours_back"):
    expect('data-stream="%s"' % s, "stream " + s)
expect('id="readiness">ready<', "the readiness badge: ready")
expect('data-live="1"', "its script ran (data-live)")
dead = status["dead_letters"]
reasons = collections.Counter(d["reason"] for d in dead)
print("state file: %d dead letters, reasons: %s" % (len(dead), dict(reasons)))
if not dead:
    fail.append("the pass gave no dead letter (the demo data should): nothing to look for")
shown = [r for r in reasons if html.escape(r, quote=False) in dom or html.escape(r) in dom]
if not shown:
    fail.append("no dead-letter reason of the state file appears on the page")
else:
    print("ok: page shows the dead-letter reason(s): %s" % shown)
for f in fail:
    print("FAIL: " + f)
sys.exit(1 if fail else 0)
PY
de_stop_daemon 12
[[ "$PS_RC" == 0 ]] || de_fail "exit $PS_RC after SIGTERM"
echo "ok: /status of the running daemon shows the streams and the dead letters in Chromium"
