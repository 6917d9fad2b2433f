#!/usr/bin/env bash
# A record deleted in CRM while it is parked must not be written later
# (ctest e2e.parked_delete). Found while writing the crash test; the engine
# now reads deletions before it retries parked records and drops the parked
# rows of deleted records.
#
# The sequence that used to leave an orphan time log: a call on a deal that gets no job (Stage Negotiation) is
# parked, waiting for the lookup; the call is deleted in CRM; a pass reads the
# deletion (the call has no id-map row, so nothing is done) and the
# deleted-records checkpoint moves past it once a later deletion comes in; the
# deal is won, so its job is created; the next pass writes the parked call
# from its stored copy: a time log for a call that no longer exists, which no
# later deletion read removes.
#
# Usage: parked_delete.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: parked_delete.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
peoplesync=$build/daemon/peoplesync
work=$(mktemp -d /tmp/peoplesync-parked-XXXXXX)
trap 'e2e_stop_sandbox; rm -rf "$work"' EXIT
# --time-scale 120: 0.1 s of real time is 12 s of CRM time.
e2e_start_sandbox "$build/sandbox/peoplesync-sandbox" "$work" 500 --no-limits --time-scale 120 \
  --token-lifetime-s 100000000
e2e_write_config "$work/config.yaml" "$work/state.db" error
pass() { "$peoplesync" --run-once -c "$work/config.yaml" >/dev/null || [[ $? == 4 ]]; }

pass
# A Negotiation deal (no job: filtered by `where`) and two of the calls on it.
read -r deal call other < <(e2e_admin GET /crm/Calls | python3 -c '
import json, sys, urllib.request, ssl
calls = json.load(sys.stdin)
ctx = ssl.create_default_context(cafile=sys.argv[2])
deals = json.loads(urllib.request.urlopen(sys.argv[1] + "/_admin/crm/Deals", context=ctx).read())
neg = {d["id"] for d in deals if d["Stage"] == "Negotiation"}
by_deal = {}
for c in calls:
    by_deal.setdefault(c["What_Id"]["id"], []).append(c["id"])
deal = next(d for d in sorted(by_deal) if d in neg and len(by_deal[d]) >= 2)
print(deal, by_deal[deal][0], by_deal[deal][1])' "$SB_URL" "$SB_CA")
echo "parked_delete: deal $deal (Negotiation); its calls $call and $other are parked"
e2e_admin DELETE "/crm/Calls/$call" >/dev/null
pass
# The second deletion comes at a later CRM second than the first (CRM times
# are whole seconds): wait until the sandbox's clock has left that second.
first_deleted=$(e2e_admin GET /crm/Calls/deleted | python3 -c '
import json, sys
print(next(d["deleted_time"][:19] for d in json.load(sys.stdin) if d["id"] == sys.argv[1]))' "$call")
sandbox_second() { e2e_admin GET /stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["now"][:19])'; }
for ((i = 0; i < 100; i++)); do
  [[ "$(sandbox_second)" > "$first_deleted" ]] && break
  sleep 0.05
done
[[ "$(sandbox_second)" > "$first_deleted" ]] || { echo "parked_delete: the sandbox clock did not move past $first_deleted" >&2; exit 1; }
e2e_admin DELETE "/crm/Calls/$other" >/dev/null  # moves the deleted-records checkpoint on
pass
e2e_admin POST /crm/Deals "{\"id\":\"$deal\",\"Stage\":\"Closed Won\"}" >/dev/null
pass
pass
python3 "$here/check_people.py" --url "$SB_URL" --ca "$SB_CA" --state "$work/state.db"
