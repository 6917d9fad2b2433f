#!/usr/bin/env bash
# `peoplesync demo` as a new user runs it (README, scripts/demo.sh): the real
# binary starts the real sandbox beside it. Checks that
#   1. it exits 0 although the seed makes People refuse records (its dead
#      letters are part of the story), and says so;
#   2. the report comes before any log line, stdout and stderr joined as on a
#      terminal: the first line is the report's, no log line precedes the
#      verdict, and the held log lines are counted in the report;
#   3. with --log-level the log lines follow the report (after the verdict);
#   4. it removes its temporary directory.
# Usage: daemon_demo.sh BUILD_DIR
set -uo pipefail
build=$1
bin=$build/daemon/peoplesync
[[ -x "$bin" && -x "$build/sandbox/peoplesync-sandbox" ]] || { echo "FAIL: peoplesync or peoplesync-sandbox not built"; exit 1; }
work=$(mktemp -d /tmp/peoplesync-demo-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
ok() { echo "ok: $*"; }
# A log line: an ISO timestamp, then the level (text format).
log_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (trace|debug|info|warn|error|critical) '

"$bin" demo >"$work/out" 2>&1
rc=$?
[[ $rc -eq 0 ]] && ok "demo exits 0" || bad "demo exited $rc"
head -n 1 "$work/out" | grep -q '^peoplesync demo: sandbox at https://127\.0\.0\.1:' &&
  ok "the first line is the report's" || bad "the first line is not the report's: $(head -n 1 "$work/out")"
grep -qE "$log_re" "$work/out" && bad "a log line was printed without --log-level" || ok "no log line without --log-level"
dead=$(sed -n 's/^dead letters (\([0-9]*\)).*/\1/p' "$work/out")
[[ "${dead:-0}" -gt 0 ]] && ok "the seed's dead letters are reported ($dead)" || bad "no dead letters reported (the seed provokes some)"
grep -q '^demo: ok (both passes finished; every dead letter is a record the seed makes People refuse)$' "$work/out" &&
  ok "the verdict is ok" || bad "no 'demo: ok' verdict"
held=$(sed -n 's/^log: \([0-9]*\) line(s) at warn and above, held back.*/\1/p' "$work/out")
[[ "${held:-0}" -ge "${dead:-1}" ]] && ok "the report counts the held log lines ($held)" ||
  bad "the report does not count the held log lines (got '${held:-}', dead letters ${dead:-})"
tmp=$(sed -n 's/^config: \(.*\)\/config\.yaml$/\1/p' "$work/out")
[[ -n "$tmp" && ! -e "$tmp" ]] && ok "the temporary directory is removed" || bad "temporary directory '$tmp' left behind"

"$bin" demo --log-level warn >"$work/out2" 2>&1
rc=$?
[[ $rc -eq 0 ]] && ok "demo --log-level warn exits 0" || bad "demo --log-level warn exited $rc"
verdict_at=$(grep -n '^demo: ok' "$work/out2" | head -n 1 | cut -d: -f1)
first_log_at=$(grep -nE "$log_re" "$work/out2" | head -n 1 | cut -d: -f1)
if [[ -z "$verdict_at" || -z "$first_log_at" ]]; then
  bad "with --log-level warn: verdict at line '${verdict_at:-}', first log line at '${first_log_at:-}'"
elif ((first_log_at > verdict_at)); then
  ok "with --log-level warn the log lines follow the report (verdict line $verdict_at, first log line $first_log_at)"
else
  bad "a log line (line $first_log_at) came before the verdict (line $verdict_at)"
fi
logged=$(grep -cE "$log_re" "$work/out2")
[[ "$logged" -eq "${held:-0}" ]] && ok "the log lines printed are the ones counted ($logged)" ||
  bad "$logged log lines printed, the report counted ${held:-}"
[[ $fail -ne 0 ]] && { echo "--- output without --log-level:"; cat "$work/out"; }
exit $fail
