#!/usr/bin/env bash
# Issue 3's closing check, scripted: the built peoplesync-sandbox started as a
# user starts it, driven with plain `curl --cacert`. It prints its URL; an
# unchanged module answers 304, an empty one 204; `page` stops at 2000
# records; the 21st getprojects call within a minute is locked (7209); a time
# log on a completed job comes back in errorLogs; the admin counts match the
# calls made; and without the CA, curl refuses the certificate.
# Usage: sandbox_curl.sh PEOPLESYNC_SANDBOX_BINARY
set -u
bin=$1
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
tmp=$(mktemp -d)
pid=
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then echo "ok: $1"; else echo "FAIL: $1: expected '$2', got '$3'"; fail=1; fi
}
contains() {  # contains NAME NEEDLE HAYSTACK
  if [[ "$3" == *"$2"* ]]; then echo "ok: $1"; else echo "FAIL: $1: no '$2' in: ${3:0:400}"; fail=1; fi
}

"$bin" --help | grep -q -- '--time-scale' || { echo "FAIL: --help"; fail=1; }
"$bin" --nope >/dev/null 2>&1; check "unknown option exits 2" 2 $?

"$bin" --tls-dir "$tmp/tls" --seed demo:100 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do [[ -s "$tmp/out" ]] && break; sleep 0.1; done
line=$(head -n1 "$tmp/out")
url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' <<<"$line")
ca=$(sed -n 's/.*"ca_file":"\([^"]*\)".*/\1/p' <<<"$line")
[[ "$url" == https://127.0.0.1:* && -s "$ca" ]] || { echo "FAIL: no URL and CA printed: '$line' $(cat "$tmp/err")"; exit 1; }
echo "ok: listening at $url, CA $ca"

c() { curl -sS --max-time 10 --cacert "$ca" "$@"; }
token=$(c -X POST "$url/oauth/v2/token" -d grant_type=refresh_token -d client_id=sandbox-client \
          -d client_secret=sandbox-secret -d refresh_token=sandbox-refresh-token |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[[ -n "$token" ]] || { echo "FAIL: no access token"; exit 1; }
auth="Authorization: Zoho-oauthtoken $token"
code() { c -o /dev/null -w '%{http_code}' -H "$auth" "$@"; }

page=$(c -H "$auth" "$url/crm/v2/Calls?sort_by=Modified_Time&sort_order=asc&per_page=10")
contains "CRM page has more_records" '"more_records":true' "$page"
check "unchanged module is 304" 304 "$(code -H "If-Modified-Since: $(date -u +%Y-%m-%dT%H:%M:%S+00:00)" "$url/crm/v2/Calls")"
check "empty module is 204" 204 "$(code "$url/crm/v2/Leads")"
cap=$(c -H "$auth" -w ' %{http_code}' "$url/crm/v2/Calls?page=11&per_page=200")
contains "page 11 is past the 2000 cap" 'DISCRETE_PAGINATION_LIMIT_EXCEEDED' "$cap"
contains "the cap is HTTP 400" ' 400' "$cap"
check "a wrong token is 401" 401 "$(curl -sS --max-time 10 --cacert "$ca" -o /dev/null -w '%{http_code}' \
                                     -H 'Authorization: Zoho-oauthtoken nope' "$url/crm/v2/Calls")"

for i in $(seq 20); do
  r=$(c -H "$auth" "$url/people/api/timetracker/getprojects")
  [[ "$r" == *'"status":0}}' ]] || { echo "FAIL: getprojects call $i refused: ${r:0:200}"; fail=1; }
done
locked=$(c -H "$auth" "$url/people/api/timetracker/getprojects")
contains "the 21st call in a minute is locked" '"code":7209' "$locked"

project=$(c "$url/_admin/people/projects" | grep -o '"id":"[0-9]*","name":"[^"]*","client_id":"[0-9]*","status":"In-Progress"' |
          head -n1 | sed 's/"id":"\([0-9]*\)".*/\1/')
job=$(c -H "$auth" -X POST "$url/people/api/timetracker/addjob" --data-urlencode "jobName=Curl job" \
        --data-urlencode "projectId=$project" \
        --data-urlencode 'assignees=[{"assignedTo":"ann.lee@example.com","hours":"10:00"}]' |
      sed -n 's/.*"jobId":"\([0-9]*\)".*/\1/p')
[[ -n "$job" ]] || { echo "FAIL: addjob"; fail=1; }
c -H "$auth" -X POST "$url/people/api/timetracker/modifyjobstatus" -d "jobId=$job" -d jobStatus=Completed >/dev/null
day=$(date -u -d yesterday +%Y-%m-%d)
logs=$(c -H "$auth" -X POST "$url/people/api/timetracker/addupdatetimelogs" --data-urlencode \
         "timelogs=[{\"user\":\"ann.lee@example.com\",\"jobId\":\"$job\",\"date\":\"$day\",\"hours\":\"01:00\"}]")
contains "a completed job is in errorLogs" '"errorCode":9025,"message":"Cannot log time for a completed job"' "$logs"

stats=$(c "$url/_admin/stats")
contains "admin: one token" '"accounts/token":{"calls":1,' "$stats"
contains "admin: CRM Calls calls" '"crm/Calls":{"calls":4,' "$stats"       # page, 304, cap, 401
contains "admin: the 401 counted" '"errors":{"DISCRETE_PAGINATION_LIMIT_EXCEEDED":1,"INVALID_TOKEN":1}' "$stats"
contains "admin: CRM Leads calls" '"crm/Leads":{"calls":1,' "$stats"
contains "admin: getprojects calls and lock" '"people/getprojects":{"calls":21,"lock_events":1,' "$stats"
contains "admin: addjob" '"people/addjob":{"calls":1,' "$stats"
contains "admin: addupdatetimelogs" '"people/addupdatetimelogs":{"calls":1,' "$stats"

curl -sS --max-time 10 -o /dev/null "$url/crm/v2/Calls" 2>/dev/null
check "curl without the CA refuses the certificate" 60 $?
exit $fail
