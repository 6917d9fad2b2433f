# Shared by the end-to-end scripts (tests/e2e/crash_test.sh, bench/engine.sh):
# start peoplesync-sandbox, write the PRODUCT.md example config pointed at
# it, talk to its admin API. Source it; needs bash, curl and python3.

# e2e_start_sandbox BINARY WORKDIR N [extra sandbox args...]
# Starts the sandbox seeded with demo:N on a free loopback port and sets
# SB_PID, SB_URL, SB_CA and SB_BLOCK (the ready zoho: block, a file).
e2e_start_sandbox() {
  local bin=$1 dir=$2 n=$3
  shift 3
  mkdir -p "$dir"
  "$bin" --seed "demo:$n" --tls-dir "$dir/tls" --listen 127.0.0.1:0 "$@" >"$dir/sandbox.json" 2>"$dir/sandbox.log" &
  SB_PID=$!
  local i
  for ((i = 0; i < 600; i++)); do
    if [[ -s "$dir/sandbox.json" ]] && grep -q '}' "$dir/sandbox.json"; then break; fi
    if ! kill -0 "$SB_PID" 2>/dev/null; then
      echo "e2e: the sandbox exited early:" >&2
      cat "$dir/sandbox.log" >&2
      return 1
    fi
    sleep 0.1
  done
  [[ -s "$dir/sandbox.json" ]] || { echo "e2e: the sandbox printed nothing" >&2; return 1; }
  SB_URL=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$dir/sandbox.json")
  SB_CA=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["ca_file"])' "$dir/sandbox.json")
  SB_BLOCK=$dir/zoho-block.yaml
  python3 -c 'import json,sys; sys.stdout.write(json.loads(open(sys.argv[1]).readline())["config"])' \
    "$dir/sandbox.json" >"$SB_BLOCK"
  # Answering? (and if it died, say why)
  for ((i = 0; i < 100; i++)); do
    if curl -s -o /dev/null --fail --cacert "$SB_CA" "$SB_URL/_admin/stats"; then return 0; fi
    if ! kill -0 "$SB_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "e2e: the sandbox at $SB_URL does not answer (pid $SB_PID $(kill -0 "$SB_PID" 2>/dev/null && echo alive || echo gone)):" >&2
  cat "$dir/sandbox.log" >&2
  return 1
}

# e2e_stop_sandbox: stops the sandbox this shell started (by its pid only).
e2e_stop_sandbox() {
  if [[ -n "${SB_PID:-}" ]]; then
    kill "$SB_PID" 2>/dev/null || true
    wait "$SB_PID" 2>/dev/null || true
    SB_PID=
  fi
}

# e2e_admin METHOD PATH [BODY]: the sandbox admin API; prints the body,
# fails on a non-2xx answer.
e2e_admin() {
  local method=$1 path=$2 body=${3:-} rc=0
  if [[ -n "$body" ]]; then
    curl -sS --fail --cacert "$SB_CA" -X "$method" -H 'Content-Type: application/json' --data-binary "$body" \
      "$SB_URL/_admin$path" || rc=$?
  else
    curl -sS --fail --cacert "$SB_CA" -X "$method" "$SB_URL/_admin$path" || rc=$?
  fi
  if ((rc != 0)); then
    echo "e2e: $method /_admin$path failed; the sandbox (pid $SB_PID) is" \
      "$(kill -0 "$SB_PID" 2>/dev/null && echo "still running" || echo "gone")" >&2
  fi
  return $rc
}

# e2e_write_config FILE STATE_PATH [LOG_LEVEL]: the example config of
# PRODUCT.md (deals -> jobs, calls -> time logs, hours back to deals) pointed
# at the sandbox, with the daemon's own per-endpoint limits switched off (the
# sandbox runs with --no-limits; 0 = unlimited, see README "Limits"), so the
# runs measure the engine and not the scheduler's shaping.
e2e_write_config() {
  local file=$1 state=$2 level=${3:-warn}
  {
    cat "$SB_BLOCK"
    cat <<EOF
state:
  path: $state
service:
  listen: "off"
  log_level: $level
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
