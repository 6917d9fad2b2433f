#!/usr/bin/env bash
# Loads /status in headless Chromium (Debian package `chromium`) and checks
# what a browser shows: every stream, the dead-letter reasons, the readiness
# badge, and that the page's script ran (it marks <body data-live="1">).
# Exits 77 (ctest SKIP_RETURN_CODE) when Chromium is not installed.
#   usage: status_page_chromium.sh HEALTH_PAGE_SERVER_BINARY
set -u
server_bin=$1
chromium=${PEOPLESYNC_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$chromium" ]]; then
  echo "SKIP: $chromium not found (apt-get install chromium, or scripts/install-deps.sh)"
  exit 77
fi

tmp=$(mktemp -d)
pid=
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# The server prints its URL once it listens; reading the FIFO waits for exactly that.
mkfifo "$tmp/url"
"$server_bin" "$tmp/state" >"$tmp/url" 2>"$tmp/server.log" &
pid=$!
exec 3<"$tmp/url"
if ! read -r url <&3 || [[ "$url" != http://* ]]; then
  echo "FAIL: page server did not start"; cat "$tmp/server.log"; exit 1
fi

if ! timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$tmp/profile" \
    --dump-dom "$url/status" >"$tmp/dom.html" 2>"$tmp/chromium.log"; then
  echo "FAIL: chromium exited with an error"; tail -20 "$tmp/chromium.log"; exit 1
fi

fail=0
expect() {
  if grep -qF -- "$1" "$tmp/dom.html"; then echo "ok: page shows $1"
  else echo "FAIL: page lacks $1"; fail=1; fi
}
expect 'data-stream="deals"'
expect 'data-stream="calls"'
expect 'data-stream="hours_back"'
expect '<b>deals</b>'
expect '2024-06-01T11:40:00+00:00'
expect 'People refused the time log: job is closed &lt;Completed&gt; &amp; locked'
expect 'template {Owner.email}: field Owner.email is missing'
expect 'id="readiness">ready<'
expect 'data-endpoint="people/addupdatetimelogs" class="locked"'
expect 'data-live="1"'
if [[ $fail -ne 0 ]]; then
  echo "--- DOM (first 80 lines):"; head -80 "$tmp/dom.html"
fi
exit $fail
