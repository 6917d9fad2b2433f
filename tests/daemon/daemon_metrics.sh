#!/usr/bin/env bash
# /metrics of the running daemon (issue 7 item 5): `peoplesync -c FILE`
# against the sandbox, one pass (a backfill of demo:60), then GET /metrics:
#   - `promtool check metrics` (Debian's prometheus package) passes;
#   - every metric name of PRODUCT.md is there with its type and labels, and
#     what a pass moves is non-zero and agrees with the sandbox's own counts
#     and the state file (tests/daemon/check_metrics.py).
# Exits 77 (ctest SKIP_RETURN_CODE) when promtool is not installed.
# Usage: daemon_metrics.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
promtool=${PEOPLESYNC_PROMTOOL:-$(command -v promtool)}
if [[ -z "$promtool" || ! -x "$promtool" ]]; then
  echo "SKIP: promtool not found (apt-get install prometheus, or scripts/install-deps.sh)"
  exit 77
fi
# shellcheck source=tests/daemon/daemon_e2e_lib.sh
source "$here/daemon_e2e_lib.sh"
de_init "${1:?usage: daemon_metrics.sh BUILD_DIR}"

de_start_sandbox 60 --credits 100000000
de_write_config "$WORK/config.yaml" "$WORK/state.db" 1h info
started=$(de_now)
de_start_daemon "$WORK/config.yaml" "$WORK/daemon.log"
de_wait_for 40 "the first pass" grep -q 'pass done' "$WORK/daemon.log"

de_get /metrics >"$WORK/metrics.txt" || de_fail "GET /metrics failed"
echo "/metrics: $(wc -l <"$WORK/metrics.txt") lines"
if ! "$promtool" check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1; then
  cat "$WORK/promtool.out"
  de_fail "promtool check metrics rejected the daemon's /metrics"
fi
echo "ok: promtool check metrics passes$( [[ -s "$WORK/promtool.out" ]] && echo " ($(cat "$WORK/promtool.out"))")"

# What the sandbox and the state file say, to compare with.
de_admin GET /stats >"$WORK/stats.json"
de_admin GET /crm/Calls >"$WORK/calls.json"
de_admin GET /crm/Deals >"$WORK/deals.json"
"$PS_BIN" status -c "$WORK/config.yaml" --json >"$WORK/status.json" || de_fail "peoplesync status --json failed"
python3 - "$WORK" "$started" >"$WORK/figures.json" <<'PY'
import collections, json, sys
w = sys.argv[1]
stats = json.load(open(w + "/stats.json"))
dead = collections.Counter(d["stream"] for d in json.load(open(w + "/status.json"))["dead_letters"])
print(json.dumps({
    "sandbox_calls": {k: v["calls"] for k, v in stats["endpoints"].items()},
    "crm_calls": len(json.load(open(w + "/calls.json"))),
    "crm_deals": len(json.load(open(w + "/deals.json"))),
    "dead_letters": {s: dead.get(s, 0) for s in ("deals", "calls", "hours_back")},
    "started": float(sys.argv[2]),
}))
PY
python3 "$here/check_metrics.py" "$WORK/metrics.txt" "$WORK/figures.json" || {
  grep -E '^peoplesync_(records|api_requests_total|token|dead|ratelimit)' "$WORK/metrics.txt" | head -40
  de_fail "/metrics does not show what the pass did"
}

de_stop_daemon 12
[[ "$PS_RC" == 0 ]] || de_fail "the daemon exited $PS_RC after SIGTERM"
echo "ok: /metrics valid and complete after a pass; SIGTERM -> exit 0 in $PS_STOP_S s"
