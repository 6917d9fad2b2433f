#!/usr/bin/env bash
# Checks systemd/peoplesync.service the way systemd reads it:
#   systemd-analyze verify            must be silent and succeed
#   systemd-analyze security --offline=true   overall exposure must be <= 1.5
# The unit's ExecStart names the installed path (/usr/local/bin/peoplesync);
# verify insists the binary exists, so a copy pointing at the built binary is
# verified. Exits 77 (ctest SKIP_RETURN_CODE) without systemd-analyze.
#   usage: systemd_unit_check.sh UNIT_FILE PEOPLESYNC_BINARY [MAX_EXPOSURE]
set -u
unit=$1
bin=$2
max=${3:-1.5}
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze not found (package systemd)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

name=$(basename "$unit")
sed "s#/usr/local/bin/peoplesync#$bin#g" "$unit" >"$tmp/$name"
if ! grep -q "^ExecStart=$bin " "$tmp/$name"; then
  echo "FAIL: ExecStart does not start /usr/local/bin/peoplesync"; fail=1
fi
out=$(systemd-analyze verify "$tmp/$name" 2>&1); rc=$?
if [[ $rc -ne 0 || -n "$out" ]]; then
  echo "FAIL: systemd-analyze verify (exit $rc):"; echo "$out"; fail=1
else
  echo "ok: systemd-analyze verify $name is clean"
fi

report=$(systemd-analyze security --offline=true "$unit" 2>&1)
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$report")
if [[ -z "$score" ]]; then
  echo "FAIL: no exposure level in systemd-analyze security output:"; echo "$report"; fail=1
elif awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
  echo "FAIL: exposure $score > $max; the unhardened settings:"
  grep -E '^✗' <<<"$report"
  fail=1
else
  echo "ok: systemd-analyze security --offline=true: exposure $score (<= $max)"
fi
exit $fail
