# Shared by the daemon end-to-end scripts (tests/daemon/daemon_*.sh): the real
# `peoplesync` daemon against the real `peoplesync-sandbox`, as processes.
# Source it after setting nothing; call de_init BUILD_DIR first. Every process
# started here is recorded by pid and stopped by pid in the EXIT trap.
# Needs bash, curl and python3.

DE_PIDS=()
export LC_ALL=C  # EPOCHREALTIME with a dot; sort and grep as everywhere

# de_init BUILD_DIR: finds the binaries, makes the work directory, installs
# the cleanup trap. Sets PS_BIN, SB_BIN, WORK.
de_init() {
  local build=$1
  PS_BIN=$build/daemon/peoplesync
  SB_BIN=$build/sandbox/peoplesync-sandbox
  local b
  for b in "$PS_BIN" "$SB_BIN"; do
    [[ -x "$b" ]] || { echo "FAIL: $b not built" >&2; exit 1; }
  done
  for b in python3 curl; do
    command -v "$b" >/dev/null || { echo "FAIL: $b is missing (scripts/install-deps.sh)" >&2; exit 1; }
  done
  WORK=$(mktemp -d "/tmp/peoplesync-$(basename "$0" .sh)-XXXXXX")
  trap de_cleanup EXIT
}

# Stops what this script started (by pid, last started first), then removes
# the work directory unless the test failed or DE_KEEP=1.
de_cleanup() {
  local rc=$?
  local i pid
  for ((i = ${#DE_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${DE_PIDS[i]}
    if de_alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null
      # The daemon abandons in-flight calls after 9 s; don't wait that long here.
      local t
      for ((t = 0; t < 30; t++)); do de_alive "$pid" || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  if [[ $rc -ne 0 && $rc -ne 77 ]] || [[ "${DE_KEEP:-}" == 1 ]]; then
    echo "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}

de_track() { DE_PIDS+=("$1"); }

# de_alive PID: the process exists and has not exited (a zombie, exited but
# not yet reaped, counts as gone; `kill -0` would say it is alive).
de_alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

de_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# de_now: seconds since the epoch, microseconds (bash 5's EPOCHREALTIME).
de_now() { echo "$EPOCHREALTIME"; }
# de_elapsed START: seconds since START, three decimals.
de_elapsed() {
  local us=$((${EPOCHREALTIME/./} - ${1/./}))
  printf '%d.%03d\n' $((us / 1000000)) $((us % 1000000 / 1000))
}

# de_start_sandbox N [extra args]: demo:N on a free loopback port. Sets
# SB_PID, SB_URL, SB_CA and SB_BLOCK (a file with the ready zoho: block).
de_start_sandbox() {
  local n=$1
  shift
  "$SB_BIN" --seed "demo:$n" --tls-dir "$WORK/tls" --listen 127.0.0.1:0 "$@" >"$WORK/sandbox.json" 2>"$WORK/sandbox.log" &
  SB_PID=$!
  de_track "$SB_PID"
  local i
  for ((i = 0; i < 300; i++)); do
    grep -q '}' "$WORK/sandbox.json" 2>/dev/null && break
    de_alive "$SB_PID" || { cat "$WORK/sandbox.log" >&2; de_fail "the sandbox exited early"; }
    sleep 0.1
  done
  grep -q '}' "$WORK/sandbox.json" || de_fail "the sandbox printed nothing"
  read -r SB_URL SB_CA < <(python3 -c '
import json, sys
j = json.loads(open(sys.argv[1]).readline())
print(j["url"], j["ca_file"])
open(sys.argv[2], "w").write(j["config"])' "$WORK/sandbox.json" "$WORK/zoho-block.yaml")
  SB_BLOCK=$WORK/zoho-block.yaml
}

# de_admin METHOD PATH [BODY]: the sandbox admin API; prints the body.
de_admin() {
  local method=$1 path=$2 body=${3-}
  if [[ $# -ge 3 ]]; then
    curl -sS --fail --max-time 20 --cacert "$SB_CA" -X "$method" --data-binary "$body" "$SB_URL/_admin$path"
  else
    curl -sS --fail --max-time 20 --cacert "$SB_CA" -X "$method" "$SB_URL/_admin$path"
  fi
}

# de_people_count jobs|timelogs: how many People holds.
de_people_count() {
  de_admin GET "/people/$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# de_calls ENDPOINT: how many requests of ENDPOINT the sandbox has seen
# (its /_admin/stats names: accounts/token, crm/Deals, people/insertRecord...).
de_calls() {
  de_admin GET /stats | python3 -c '
import json, sys
print(json.load(sys.stdin)["endpoints"].get(sys.argv[1], {}).get("calls", 0))' "$1"
}

# de_calls_at_least ENDPOINT N: succeeds once the sandbox has seen N requests.
de_calls_at_least() { (($(de_calls "$1") >= $2)); }

# de_write_config FILE STATE POLL_INTERVAL [LOG_LEVEL] [unlimited]: the
# example config of PRODUCT.md (copied from daemon/demo.cpp) pointed at the
# sandbox, health server on a free port (127.0.0.1:0). With "unlimited" the
# daemon's own per-endpoint limits are off (for a sandbox run with
# --no-limits), so a backfill is not shaped by the scheduler.
de_write_config() {
  local file=$1 state=$2 poll=$3 level=${4:-info} unlimited=${5:-}
  {
    cat "$SB_BLOCK"
    cat <<EOF
state:
  path: $state
service:
  poll_interval: $poll
  listen: 127.0.0.1:0
  log_format: text
  log_level: $level
EOF
    if [[ "$unlimited" == unlimited ]]; then
      cat <<'EOF'
limits:
  crm: {per_minute: 0, concurrency: 10, daily_credits: 0}
  people/getRecordIdsByReferenceIds: {per_minute: 0}
  people/addupdatetimelogs: {per_minute: 0}
  people/insertRecord: {per_minute: 0}
  people/updateRecord: {per_minute: 0}
  people/getprojects: {per_minute: 0}
  people/getclients: {per_minute: 0}
  people/modifyjobstatus: {per_minute: 0}
  people/deletetimelog: {per_minute: 0}
  people/getjobs: {per_minute: 0}
  people/getjobdetails: {per_minute: 0}
  people/gettimelogs: {per_minute: 0}
  people/addjob: {per_minute: 0}
  people/modifyjob: {per_minute: 0}
  people/deletejob: {per_minute: 0}
EOF
    fi
    cat <<'EOF'
streams:
  - name: deals
    from:
      crm: Deals
      fields: [Deal_Name, Stage, Account_Name, Closing_Date, Project_Ref, Owner]
      where: {Stage: [Closed Won, Delivery, Completed]}
    to: people.job
    map:
      jobName: "{Deal_Name}"
      projectId: {resolve: {service: Zoho Projects, entity: project, ref: "{Project_Ref}"}}
      fromDate: "{Created_Time|date}"
      toDate: "{Closing_Date}"
      assignees: [{assignedTo: "{Owner.email}", hours: "40:00"}]
    status: {field: Stage, completed: [Completed]}
    on_delete: complete
  - name: calls
    from:
      crm: Calls
      fields: [Subject, Call_Start_Time, Call_Duration_in_seconds, Owner, What_Id]
    to: people.timelog
    map:
      user: "{Owner.email}"
      jobId: {lookup: {stream: deals, key: "{What_Id.id}"}}
      date: "{Call_Start_Time|date}"
      hours: "{Call_Duration_in_seconds|hhmm_from_seconds}"
      billableStatus: billable
      workItem: "{Subject}"
    on_delete: delete
  - name: hours_back
    from: {people: jobs, of_stream: deals}
    to: crm.update
    module: Deals
    map:
      Hours_Logged: "{totalhours|hours_decimal}"
      Job_Status: "{jobStatus}"
EOF
  } >"$file"
}

# de_start_daemon CONFIG LOG [VAR=value...]: `peoplesync -c CONFIG` in the
# background (environment additions as arguments), its stderr in LOG. Sets
# PS_PID and, once the health server listens, PS_URL.
de_start_daemon() {
  local config=$1 log=$2
  shift 2
  env "$@" "$PS_BIN" -c "$config" >"$log.out" 2>"$log" &
  PS_PID=$!
  de_track "$PS_PID"
  local i
  PS_URL=
  for ((i = 0; i < 300; i++)); do
    PS_URL=$(grep -o 'health and metrics on http://[0-9.:]*' "$log" 2>/dev/null | head -1 | sed 's/.* on //')
    [[ -n "$PS_URL" ]] && break
    de_alive "$PS_PID" || { cat "$log" >&2; de_fail "the daemon exited early"; }
    sleep 0.1
  done
  [[ -n "$PS_URL" ]] || { cat "$log" >&2; de_fail "the daemon did not log its health URL"; }
}

# de_get PATH: GET from the daemon's health server; prints the body, fails
# on a non-2xx answer.
de_get() { curl -sS --fail --max-time 10 "$PS_URL$1"; }
# de_code PATH: the HTTP status of GET PATH (000 when nothing answered).
de_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$PS_URL$1"; }

# de_wait_for SECONDS DESCRIPTION COMMAND...: runs COMMAND every 0.1 s until
# it succeeds; fails the test after SECONDS.
de_wait_for() {
  local secs=$1 what=$2
  shift 2
  local deadline=$((${EPOCHREALTIME/./} + secs * 1000000))
  while ! "$@" >/dev/null 2>&1; do
    ((${EPOCHREALTIME/./} < deadline)) || de_fail "timed out after ${secs} s waiting for: $what"
    sleep 0.1
  done
}

# de_log_count LOG PATTERN: how many lines of LOG match PATTERN (grep -E).
de_log_count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }

# de_stop_daemon [SECONDS]: SIGTERM to the daemon; waits up to SECONDS
# (default 12) for it to exit. Sets PS_RC (its exit status, or "timeout")
# and PS_STOP_S (seconds from the signal to the exit).
de_stop_daemon() {
  local limit=${1:-12} t0 i
  t0=$(de_now)
  kill -TERM "$PS_PID"
  PS_RC=timeout
  for ((i = 0; i < limit * 20; i++)); do
    de_alive "$PS_PID" || break
    sleep 0.05
  done
  if ! de_alive "$PS_PID"; then
    wait "$PS_PID"
    PS_RC=$?
  fi
  PS_STOP_S=$(de_elapsed "$t0")
}
