#!/usr/bin/env bash
# Runs the built peoplesync binary the way an operator does and checks exit
# codes and output. Usage: binary_smoke.sh PEOPLESYNC_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {  # expect CODE PATTERN -- command...
  local code=$1 pattern=$2
  shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -ne $code ]]; then echo "FAIL: '$*' exited $rc, expected $code"; echo "$out"; fail=1; return; fi
  if ! grep -qE -- "$pattern" <<<"$out"; then echo "FAIL: '$*' output lacks /$pattern/"; echo "$out"; fail=1; return; fi
  echo "ok: $* -> $rc"
}

printf '1000.token.for.smoke\n' >"$tmp/refresh_token"
chmod 600 "$tmp/refresh_token"
sed -e "s#/etc/peoplesync/refresh_token#$tmp/refresh_token#" \
    -e "s#/var/lib/peoplesync/state.db#$tmp/state.db#" "$src/examples/config.yaml" >"$tmp/config.yaml"
export ZOHO_CLIENT_ID=id ZOHO_CLIENT_SECRET=smoke-secret-value

expect 0 '^peoplesync [0-9]+\.[0-9]+\.[0-9]+' -- "$bin" --version
expect 0 'Exit codes' -- "$bin" --help
expect 2 "unknown option '--nope'" -- "$bin" --nope
expect 0 '^ok: ' -- "$bin" check -c "$tmp/config.yaml"
# The scopes of the example config, as README "Getting a refresh token" lists them (stdout only).
scopes=$("$bin" auth -c "$tmp/config.yaml" --scopes 2>/dev/null)
want='ZOHOPEOPLE.forms.CREATE,ZOHOPEOPLE.forms.UPDATE,ZOHOPEOPLE.forms.READ,ZOHOPEOPLE.timetracker.ALL,ZohoCRM.modules.deals.READ,ZohoCRM.settings.fields.READ,ZohoCRM.coql.READ,ZohoCRM.modules.calls.READ,ZohoCRM.modules.deals.UPDATE'
if [[ "$scopes" == "$want" ]]; then echo "ok: auth --scopes prints the README's list"
else echo "FAIL: auth --scopes printed '$scopes', README says '$want'"; fail=1; fi
expect 2 "exactly one of --scopes and --code" -- "$bin" auth -c "$tmp/config.yaml"
sed 's/poll_interval: 5m/poll_interval: 5 minutes/' "$tmp/config.yaml" >"$tmp/bad.yaml"
expect 78 "bad.yaml:14:18: service.poll_interval: bad duration" -- "$bin" check -c "$tmp/bad.yaml"
chmod 644 "$tmp/refresh_token"
expect 78 "readable by group or others" -- "$bin" check -c "$tmp/config.yaml"
chmod 600 "$tmp/refresh_token"
expect 0 'Dead letters \(0\)' -- "$bin" status -c "$tmp/config.yaml"
expect 0 '"schema_version"' -- "$bin" status -c "$tmp/config.yaml" --json
if "$bin" check -c "$tmp/bad.yaml" 2>&1 | grep -q smoke-secret-value; then echo "FAIL: secret printed"; fail=1; fi
exit $fail
