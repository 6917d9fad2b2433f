#!/usr/bin/env python3
"""Checks a /metrics scrape of the daemon after at least one pass against the
sandbox: every metric name of PRODUCT.md "Observability" is there (HELP and
TYPE lines, the documented labels), and the ones a pass must move are
non-zero and agree with what the sandbox and the state file say.

usage: check_metrics.py METRICS_FILE FIGURES_JSON
FIGURES_JSON: {"sandbox_calls": {endpoint: calls}, "crm_calls": N,
               "crm_deals": N, "dead_letters": {stream: n}, "started": epoch s}
Exits 1 (printing every problem) if anything is wrong.
"""
import collections
import json
import re
import sys
import time

PREFIX = "peoplesync_"
# name -> (type, label names), as PRODUCT.md lists them.
EXPECTED = {
    "records_read_total": ("counter", {"stream"}),
    "records_written_total": ("counter", {"stream", "op", "outcome"}),
    "api_requests_total": ("counter", {"endpoint", "code"}),
    "api_request_duration_seconds": ("histogram", {"endpoint"}),
    "ratelimit_wait_seconds_total": ("counter", {"endpoint"}),
    "ratelimit_locks_total": ("counter", {"endpoint"}),
    "sync_lag_seconds": ("gauge", {"stream"}),
    "last_success_timestamp_seconds": ("gauge", {"stream"}),
    "outbox_pending": ("gauge", {"stream"}),
    "dead_letters": ("gauge", {"stream"}),
    "token_refresh_total": ("counter", {"outcome"}),
}
STREAMS = ("deals", "calls", "hours_back")

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse(text):
    types, helps = {}, {}
    samples = collections.defaultdict(list)  # name -> [(labels dict, value)]
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, t = line.split(None, 3)
            types[name] = t
        elif line.startswith("# HELP "):
            helps[line.split(None, 3)[2]] = True
        elif line and not line.startswith("#"):
            m = SAMPLE.match(line)
            if not m:
                raise ValueError("unparsable sample line: " + line)
            labels = dict(LABEL.findall(m.group(2) or ""))
            samples[m.group(1)].append((labels, float(m.group(3))))
    return types, helps, samples


def main():
    text = open(sys.argv[1]).read()
    fig = json.load(open(sys.argv[2]))
    types, helps, samples = parse(text)
    problems = []

    def total(name, **where):
        return sum(v for l, v in samples.get(PREFIX + name, []) if all(l.get(k) == x for k, x in where.items()))

    for name, (typ, labels) in EXPECTED.items():
        full = PREFIX + name
        if types.get(full) != typ:
            problems.append("%s: TYPE %r, expected %r" % (full, types.get(full), typ))
        if full not in helps:
            problems.append("%s: no HELP line" % full)
        series = samples.get(full + ("_count" if typ == "histogram" else ""), [])
        if not series:
            problems.append("%s: no samples" % full)
        for l, _ in series:
            if set(l) != labels:
                problems.append("%s: labels %s, expected %s" % (full, sorted(l), sorted(labels)))
                break

    # A pass read and wrote records.
    for s in ("deals", "calls"):
        if total("records_read_total", stream=s) <= 0:
            problems.append("records_read_total{stream=%s} is 0 after a pass" % s)
        if total("records_written_total", stream=s, op="create", outcome="ok") <= 0:
            problems.append("records_written_total{stream=%s,op=create,outcome=ok} is 0 after a backfill" % s)
    if total("records_read_total", stream="calls") != fig["crm_calls"]:
        problems.append("records_read_total{stream=calls} = %g, but CRM holds %d calls (one pass)" %
                        (total("records_read_total", stream="calls"), fig["crm_calls"]))
    if total("records_read_total", stream="deals") != fig["crm_deals"]:
        problems.append("records_read_total{stream=deals} = %g, but CRM holds %d deals (one pass)" %
                        (total("records_read_total", stream="deals"), fig["crm_deals"]))

    # Every request the sandbox answered is counted, per endpoint family.
    ours = total("api_requests_total")
    theirs = sum(fig["sandbox_calls"].values())
    if ours <= 0:
        problems.append("api_requests_total is 0 after a pass")
    if ours != theirs:
        problems.append("api_requests_total sums to %g, the sandbox counted %d requests" % (ours, theirs))
    if total("api_requests_total", endpoint="accounts/token", code="200") < 1:
        problems.append('api_requests_total{endpoint="accounts/token",code="200"} < 1')
    if total("token_refresh_total", outcome="ok") < 1:
        problems.append('token_refresh_total{outcome="ok"} < 1')
    count = total("api_request_duration_seconds_count")
    if count != ours:
        problems.append("api_request_duration_seconds_count sums to %g, api_requests_total to %g" % (count, ours))
    if total("api_request_duration_seconds_sum") <= 0:
        problems.append("api_request_duration_seconds_sum is 0")
    inf = total("api_request_duration_seconds_bucket", le="+Inf")
    if inf != count:
        problems.append("api_request_duration_seconds_bucket{le=+Inf} sums to %g, _count to %g" % (inf, count))

    # Per-stream gauges, from the state file and the live view.
    now = time.time()
    for s in STREAMS:
        ts = total("last_success_timestamp_seconds", stream=s)
        if not fig["started"] - 1 <= ts <= now + 1:
            problems.append("last_success_timestamp_seconds{stream=%s} = %g, not between the start and now" % (s, ts))
        if not any(l.get("stream") == s for l, _ in samples.get(PREFIX + "outbox_pending", [])):
            problems.append("outbox_pending{stream=%s} missing" % s)
    for s in ("deals", "calls"):
        if not any(l.get("stream") == s for l, _ in samples.get(PREFIX + "sync_lag_seconds", [])):
            problems.append("sync_lag_seconds{stream=%s} missing" % s)
    for s, n in fig["dead_letters"].items():
        if total("dead_letters", stream=s) != n:
            problems.append("dead_letters{stream=%s} = %g, the state file holds %d" % (s, total("dead_letters", stream=s), n))
    if sum(fig["dead_letters"].values()) <= 0:
        problems.append("the demo data gave no dead letter; the dead_letters check proves nothing")

    print("records_read_total: deals %g, calls %g; api_requests_total %g (sandbox %d); token_refresh ok %g; "
          "dead_letters %s" % (total("records_read_total", stream="deals"), total("records_read_total", stream="calls"),
                               ours, theirs, total("token_refresh_total", outcome="ok"),
                               {s: total("dead_letters", stream=s) for s in STREAMS}))
    for p in problems:
        print("FAIL: " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
