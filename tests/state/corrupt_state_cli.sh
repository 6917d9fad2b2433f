#!/usr/bin/env bash
# The binary on a state file it must not use: `peoplesync status` and
# `--run-once` refuse it with exit 75 and a message naming the file, and the
# file is left byte for byte as it was (no -wal, -shm or -journal beside it).
# Usage: corrupt_state_cli.sh PEOPLESYNC_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
state=$tmp/state/state.db
mkdir -p "$tmp/state"
printf '1000.token.for.corrupt-state\n' >"$tmp/refresh_token"
chmod 600 "$tmp/refresh_token"
sed -e "s#/etc/peoplesync/refresh_token#$tmp/refresh_token#" \
    -e "s#/var/lib/peoplesync/state.db#$state#" "$src/examples/config.yaml" >"$tmp/config.yaml"
export ZOHO_CLIENT_ID=id ZOHO_CLIENT_SECRET=corrupt-state-secret

# A real state file to damage: `status` creates an empty one.
"$bin" status -c "$tmp/config.yaml" >/dev/null 2>&1 || { echo "FAIL: status on a fresh state file"; exit 1; }
cp "$state" "$tmp/valid.db"
rm -f "$state" "$state"-wal "$state"-shm

check() {  # check NAME PATTERN -- makes $state first
  local name=$1 pattern=$2 cmd out rc
  cp "$state" "$tmp/before"
  local files_before
  files_before=$(ls "$tmp/state")
  for cmd in "status" "--run-once"; do
    out=$("$bin" $cmd -c "$tmp/config.yaml" 2>&1); rc=$?
    if [[ $rc -ne 75 ]]; then echo "FAIL: $name: '$cmd' exited $rc, expected 75"; echo "$out"; fail=1; continue; fi
    if ! grep -qF -- "$state" <<<"$out" || ! grep -qE -- "$pattern" <<<"$out"; then
      echo "FAIL: $name: '$cmd' output lacks the path or /$pattern/"; echo "$out"; fail=1; continue
    fi
    if ! cmp -s "$state" "$tmp/before"; then echo "FAIL: $name: '$cmd' modified the file"; fail=1; fi
    if [[ "$(ls "$tmp/state")" != "$files_before" ]]; then
      echo "FAIL: $name: '$cmd' left files: $(ls "$tmp/state" | tr '\n' ' ')"; fail=1
    fi
    echo "ok: $name: peoplesync $cmd -> 75: $(grep -m1 -F -- "$state" <<<"$out")"
  done
  rm -f "$state"
}

head -c 12288 /dev/urandom >"$state"
check "random bytes" "not a usable peoplesync database|damaged"
yes 'zoho: {client_id: x}  # a config file, not a state file' | head -n 300 >"$state"
check "text file" "not a usable peoplesync database|damaged"
head -c 2048 "$tmp/valid.db" >"$state"
check "truncated state file" "not a usable peoplesync database|damaged"
{ head -c 4096 "$tmp/valid.db"; head -c $(( $(stat -c %s "$tmp/valid.db") - 4096 )) /dev/urandom; } >"$state"
check "header + garbage pages" "not a usable peoplesync database|damaged"
exit $fail
