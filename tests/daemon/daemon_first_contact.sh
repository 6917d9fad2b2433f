#!/usr/bin/env bash
# Issue 13 "first contact", as an operator meets it (README "Getting a
# refresh token", "Preflight"), with the real binaries:
#   1. `auth --scopes` works before the refresh token file exists;
#   2. people.date_format not the org's (MM/dd/yyyy against the sandbox's
#      dd-MMM-yyyy): `check --online` exits 78 naming people.date_format, and
#      writes nothing;
#   3. a refresh token without ZOHOPEOPLE.forms.CREATE (granted every other
#      scope the config needs): `check --online` exits 77 naming that scope
#      with its fix; `--run-once` exits 77 before writing anything and its run
#      is recorded (so does one lacking ZohoCRM.modules.deals.UPDATE, which
#      would otherwise write jobs and time logs and fail only at the
#      write-back); the daemon stays up, unready (/readyz 503, /status.json
#      preflight_failures naming the scope), writes nothing over several
#      polls. People holds 0 jobs and 0 time logs, no deal got hours;
#   4. `auth --code` with a grant code seeded through the admin API replaces
#      the token file (a stale 0644 one) atomically with the new refresh token,
#      mode 0600, prints no secret, and the token works: SIGHUP, the daemon's
#      preflight passes, /readyz 200, the sync writes; `check --online` 0;
#   5. the same code again: exit 77, a message to generate a new one, the
#      token file untouched; SIGTERM -> exit 0.
# Usage: daemon_first_contact.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/daemon_e2e_lib.sh
source "$here/daemon_e2e_lib.sh"
de_init "${1:?usage: daemon_first_contact.sh BUILD_DIR}"

# People's thresholds off: this test runs the preflight many times within a
# minute (in several processes, and the daemon's every second), which is not
# what it is about.
de_start_sandbox 50 --no-limits

# nothing_written WHEN: People holds no job and no time log, no deal has hours.
nothing_written() {
  local jobs logs hours
  jobs=$(de_people_count jobs)
  logs=$(de_people_count timelogs)
  hours=$(de_admin GET /crm/Deals | python3 -c '
import json, sys
print(sum(1 for d in json.load(sys.stdin) if d.get("Hours_Logged") is not None or d.get("Job_Status") is not None))')
  [[ "$jobs" == 0 && "$logs" == 0 && "$hours" == 0 ]] ||
    de_fail "$1: something was written: $jobs jobs, $logs time logs, $hours deals with hours"
  # No pass began either: a pass reads deletions and resolves references,
  # which the preflight never does.
  local began
  began=$(($(de_calls crm/Deals/deleted) + $(de_calls people/getRecordIdsByReferenceIds)))
  [[ "$began" == 0 ]] || de_fail "$1: a pass began ($began calls of crm/Deals/deleted, getRecordIdsByReferenceIds)"
  echo "ok: $1: nothing written (0 jobs, 0 time logs, no deal touched, no pass began)"
}

# The example config pointed at the sandbox, its refresh token in a file.
secret_dir=$WORK/secret
mkdir -p "$secret_dir"
token_file=$secret_dir/refresh_token
cfg=$WORK/config.yaml
de_write_config "$cfg" "$WORK/state.db" 1s info
sed -i "s#^  refresh_token: .*#  refresh_token_file: $token_file#" "$cfg"
grep -q "refresh_token_file: $token_file" "$cfg" || de_fail "the config has no refresh_token_file line"

# ---- 1. the scopes, before the token file exists
scopes=$("$PS_BIN" auth -c "$cfg" --scopes 2>"$WORK/scopes.err") || de_fail "auth --scopes exited $? without a token file: $(cat "$WORK/scopes.err")"
[[ "$scopes" == *ZOHOPEOPLE.forms.CREATE* && "$scopes" == *ZohoCRM.modules.deals.UPDATE* ]] ||
  de_fail "auth --scopes printed '$scopes'"
grep -q 'ZOHOPEOPLE.forms.CREATE: ' "$WORK/scopes.err" || de_fail "auth --scopes gave no reasons on stderr"
echo "ok: auth --scopes without a token file: $scopes"

# ---- 2. a date format that is not the org's
df_cfg=$WORK/dateformat.yaml
de_write_config "$df_cfg" "$WORK/dateformat.db" 1s info
sed -i 's#^state:#people:\n  date_format: MM/dd/yyyy\nstate:#' "$df_cfg"
"$PS_BIN" check --online -c "$df_cfg" >"$WORK/df.out" 2>"$WORK/df.err"
rc=$?
[[ $rc == 78 ]] || { cat "$WORK/df.out" "$WORK/df.err" >&2; de_fail "check --online with date_format MM/dd/yyyy exited $rc, expected 78"; }
grep -qE '^FAILED +people\.date_format' "$WORK/df.out" || { cat "$WORK/df.out" >&2; de_fail "no FAILED line names people.date_format"; }
grep -qE '^ +fix: .*people\.date_format' "$WORK/df.out" || { cat "$WORK/df.out" >&2; de_fail "the date format failure has no fix line"; }
echo "ok: date_format MM/dd/yyyy -> check --online 78: $(grep -E '^FAILED +people\.date_format' "$WORK/df.out")"
nothing_written "check --online with a wrong date format"

# ---- 3. a token without ZOHOPEOPLE.forms.CREATE
narrow=$(tr ',' '\n' <<<"$scopes" | grep -vx 'ZOHOPEOPLE.forms.CREATE' | paste -sd, -)
[[ "$narrow" != "$scopes" && -n "$narrow" ]] || de_fail "could not narrow '$scopes'"
de_admin POST "/scopes?refresh_token=1000.narrow.e2e&scopes=$narrow" >/dev/null || de_fail "admin /scopes refused"
printf '1000.narrow.e2e\n' >"$token_file"
chmod 600 "$token_file"

"$PS_BIN" check --online -c "$cfg" >"$WORK/scope.out" 2>"$WORK/scope.err"
rc=$?
[[ $rc == 77 ]] || { cat "$WORK/scope.out" "$WORK/scope.err" >&2; de_fail "check --online without forms.CREATE exited $rc, expected 77"; }
grep -qE '^FAILED +scope ZOHOPEOPLE\.forms\.CREATE: ' "$WORK/scope.out" ||
  { cat "$WORK/scope.out" >&2; de_fail "no FAILED line names scope ZOHOPEOPLE.forms.CREATE"; }
grep -qE '^ +fix: .*peoplesync auth' "$WORK/scope.out" || { cat "$WORK/scope.out" >&2; de_fail "the scope failure has no fix line"; }
# Only that scope fails: the others were granted.
failed=$(grep -cE '^FAILED ' "$WORK/scope.out")
[[ "$failed" == 1 ]] || { cat "$WORK/scope.out" >&2; de_fail "$failed checks failed, expected only the forms.CREATE scope"; }
grep -qx 'online: FAILED' "$WORK/scope.out" || de_fail "check --online did not end with 'online: FAILED'"
echo "ok: token without forms.CREATE -> check --online 77: $(grep -E '^FAILED ' "$WORK/scope.out" | cut -c1-100)"
nothing_written "check --online with a token lacking forms.CREATE"

"$PS_BIN" --run-once -c "$cfg" >"$WORK/once.out" 2>"$WORK/once.err"
rc=$?
[[ $rc == 77 ]] || { cat "$WORK/once.out" "$WORK/once.err" >&2; de_fail "--run-once without forms.CREATE exited $rc, expected 77"; }
grep -q 'preflight failed; nothing was written' "$WORK/once.out" || { cat "$WORK/once.out" >&2; de_fail "--run-once did not say the preflight failed"; }
grep -qE '^FAILED +scope ZOHOPEOPLE\.forms\.CREATE' "$WORK/once.out" || { cat "$WORK/once.out" >&2; de_fail "--run-once did not name the scope"; }
nothing_written "--run-once with a token lacking forms.CREATE"
"$PS_BIN" status -c "$cfg" --json >"$WORK/once-status.json" 2>/dev/null || de_fail "status --json failed"
python3 - "$WORK/once-status.json" <<'PY' || de_fail "the state file does not tell the refused run honestly"
import json, sys
s = json.load(open(sys.argv[1]))
runs = s["recent_runs"]
assert len(runs) == 1 and runs[0]["exit_code"] == 77 and "forms.CREATE" in runs[0]["summary"], runs
assert not any(x.get("watermark") for x in s["streams"]), s["streams"]
assert s["outbox"] == [] and s["dead_letters"] == [], (s["outbox"], s["dead_letters"])
PY
echo "ok: --run-once -> 77 before writing; its run is recorded with the scope"

# A token that may write People but not the deals: without the preflight,
# jobs and time logs would be written and only the write-back refused.
de_admin POST "/scopes?refresh_token=1000.noupdate.e2e&scopes=$(tr ',' '\n' <<<"$scopes" |
  grep -vx 'ZohoCRM.modules.deals.UPDATE' | paste -sd, -)" >/dev/null || de_fail "admin /scopes refused"
nu_cfg=$WORK/noupdate.yaml
de_write_config "$nu_cfg" "$WORK/noupdate.db" 1s info
sed -i 's#^  refresh_token: .*#  refresh_token: 1000.noupdate.e2e#' "$nu_cfg"
"$PS_BIN" --run-once -c "$nu_cfg" >"$WORK/nu.out" 2>"$WORK/nu.err"
rc=$?
[[ $rc == 77 ]] || { cat "$WORK/nu.out" "$WORK/nu.err" >&2; de_fail "--run-once without deals.UPDATE exited $rc, expected 77"; }
grep -qE '^FAILED +scope ZohoCRM\.modules\.deals\.UPDATE' "$WORK/nu.out" || { cat "$WORK/nu.out" >&2; de_fail "--run-once did not name ZohoCRM.modules.deals.UPDATE"; }
nothing_written "--run-once with a token lacking ZohoCRM.modules.deals.UPDATE"

# The daemon: up, unready, nothing written, over several polls (1 s).
log=$WORK/daemon.log
de_start_daemon "$cfg" "$log"
de_wait_for 30 "the daemon's preflight to fail" grep -q 'preflight: scope ZOHOPEOPLE.forms.CREATE' "$log"
scope_failures_at_least() { (($(de_log_count "$log" 'preflight: scope ZOHOPEOPLE\.forms\.CREATE') >= $1)); }
de_wait_for 30 "the preflight tried again (poll_interval 1s)" scope_failures_at_least 3
[[ "$(de_code /livez)" == 200 ]] || de_fail "/livez not 200 while the preflight fails"
[[ "$(de_code /readyz)" == 503 ]] || de_fail "/readyz is $(de_code /readyz) while the preflight fails, expected 503"
de_get /status.json >"$WORK/status.json" || de_fail "/status.json did not answer"
python3 - "$WORK/status.json" <<'PY' || de_fail "/status.json does not show the failing preflight"
import json, sys
s = json.load(open(sys.argv[1]))
def find(o):
    if isinstance(o, dict):
        if "preflight_failures" in o:
            return o["preflight_failures"]
        for v in o.values():
            r = find(v)
            if r is not None:
                return r
    return None
f = find(s)
assert f and any("ZOHOPEOPLE.forms.CREATE" in x for x in f), f
PY
# The page is read whole before grep looks at it: `curl | grep -q` under
# pipefail fails when grep stops reading early (curl: (23)).
status_page=$(de_get /status) || de_fail "/status did not answer"
grep -q 'Preflight failed' <<<"$status_page" || de_fail "/status does not show the failing preflight"
de_alive "$PS_PID" || de_fail "the daemon exited while its preflight failed"
nothing_written "the daemon with a token lacking forms.CREATE"
echo "ok: daemon up, /readyz 503, preflight_failures name the scope, retried every poll"

# ---- 4. auth --code: a new refresh token with every scope
printf '1000.stale.token\n' >"$token_file"
chmod 644 "$token_file"  # a stale, too open file: replaced by a 0600 one
code=1000.e2e-grant.$$
de_admin POST "/grant_code?code=$code" >/dev/null || de_fail "admin /grant_code refused"
"$PS_BIN" auth -c "$cfg" --code "$code" >"$WORK/auth.out" 2>"$WORK/auth.err"
rc=$?
[[ $rc == 0 ]] || { cat "$WORK/auth.out" "$WORK/auth.err" >&2; de_fail "auth --code exited $rc"; }
grep -qF "refresh token stored in $token_file (mode 0600)" "$WORK/auth.out" || { cat "$WORK/auth.out" >&2; de_fail "auth --code did not say where the token went"; }
grep -q '^ok: the refresh token works' "$WORK/auth.out" || { cat "$WORK/auth.out" >&2; de_fail "auth --code did not try the token"; }
mode=$(stat -c %a "$token_file")
[[ "$mode" == 600 ]] || de_fail "the refresh token file has mode $mode, expected 600"
token=$(head -n1 "$token_file")
[[ -n "$token" && "$token" != 1000.stale.token && "$token" != 1000.narrow.e2e ]] || de_fail "the token file holds '$token'"
[[ "$(ls -A "$secret_dir")" == refresh_token ]] || de_fail "left beside the token file: $(ls -A "$secret_dir")"
if grep -qF -- "$token" "$WORK/auth.out" "$WORK/auth.err"; then de_fail "auth --code printed the refresh token"; fi
echo "ok: auth --code wrote a new refresh token, mode 600, atomically, printed no secret"

# The daemon takes it at a reload: preflight passes, it gets ready and syncs.
kill -HUP "$PS_PID"
de_wait_for 30 "the preflight to pass after SIGHUP" grep -q 'preflight: [0-9]* check(s) passed' "$log"
readyz_is() { [[ "$(de_code /readyz)" == "$1" ]]; }
de_wait_for 30 "/readyz 200" readyz_is 200
de_wait_for 60 "a pass after the reload" grep -q 'pass done' "$log"
jobs=$(de_people_count jobs)
logs=$(de_people_count timelogs)
((jobs > 0 && logs > 0)) || de_fail "after the new token: $jobs jobs, $logs time logs"
echo "ok: SIGHUP -> preflight passed, /readyz 200, the pass wrote $jobs jobs and $logs time logs"
"$PS_BIN" check --online -c "$cfg" >"$WORK/check2.out" 2>&1 || { cat "$WORK/check2.out" >&2; de_fail "check --online with the new token exited $?"; }
grep -qx 'online: ok' "$WORK/check2.out" || de_fail "check --online did not say 'online: ok'"

# ---- 5. the used code
"$PS_BIN" auth -c "$cfg" --code "$code" >"$WORK/auth2.out" 2>"$WORK/auth2.err"
rc=$?
[[ $rc == 77 ]] || { cat "$WORK/auth2.out" "$WORK/auth2.err" >&2; de_fail "auth --code with a used code exited $rc, expected 77"; }
grep -q 'invalid_code' "$WORK/auth2.err" || { cat "$WORK/auth2.err" >&2; de_fail "the used code's refusal does not say invalid_code"; }
grep -qi 'generate a new one' "$WORK/auth2.err" || { cat "$WORK/auth2.err" >&2; de_fail "the used code's refusal does not say to generate a new one"; }
[[ "$(head -n1 "$token_file")" == "$token" && "$(stat -c %a "$token_file")" == 600 ]] || de_fail "a refused code changed the token file"
echo "ok: a used code -> 77: $(head -c 160 "$WORK/auth2.err")"

de_stop_daemon
[[ "$PS_RC" == 0 ]] || de_fail "SIGTERM: exit $PS_RC"
echo "ok: first contact: date format 78, missing scope 77 (check, run-once, daemon unready), auth --code, reload, sync"
