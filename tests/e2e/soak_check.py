#!/usr/bin/env python3
"""Helpers of the soak test (tests/e2e/soak_test.sh).

  soak_check.py converge --health URL --url SB_URL --ca CA --since-ms T --deadline-s S
      Waits until the daemon has made two passes in a row, both started after
      T (ms since the epoch) and both finished without a temporary error
      (exit code 0 or 4), during which People and CRM received no write at
      all (the sandbox's own call counts of every write endpoint did not
      move). Polls the daemon's /status.json and the sandbox's /_admin/stats;
      exits 1 at the deadline.

  soak_check.py lock --url SB_URL --ca CA --endpoint getjobs --calls 25
      Spends one People endpoint's allowance as another client of the same
      organisation would, so that the sandbox locks it (7209).

  soak_check.py report --url SB_URL --ca CA --state DB --samples FILE
                       --people JSON --driver JSON --metrics FILE
      Classifies every dead letter against the sandbox's data (an
      unexplained one fails), checks that memory and open descriptors stayed
      flat, and prints the figures of the run as one block. Exits 1 on any
      failure (including check_people.py's, read from --people).
"""
import argparse
import collections
import json
import re
import sqlite3
import ssl
import sys
import time
import urllib.request

WHERE = {"Closed Won", "Delivery", "Completed"}
# Every endpoint through which anything is written to People or CRM.
WRITE_ENDPOINTS = (
    "people/insertRecord", "people/updateRecord", "people/addjob", "people/modifyjob", "people/modifyjobstatus",
    "people/deletejob", "people/addupdatetimelogs", "people/deletetimelog", "crm/Deals/update", "crm/Calls/update",
)


def fetch(url, ca=None, timeout=10):
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(url, context=ctx, timeout=timeout) as r:
        return json.loads(r.read())


def sandbox(a, path):
    return fetch(a.url + "/_admin" + path, a.ca, 60)


def writes_of(stats):
    eps = stats.get("endpoints", {})
    return sum(eps.get(e, {}).get("calls", 0) for e in WRITE_ENDPOINTS)


# ------------------------------------------------------------------ converge
def converge(a):
    deadline = time.monotonic() + a.deadline_s
    observations = []  # (time ms, sandbox write count), oldest first
    quiet_in_a_row = 0
    last_seen_run = 0
    while time.monotonic() < deadline:
        try:
            status = fetch(a.health + "/status.json", timeout=5)
            writes = writes_of(sandbox(a, "/stats"))
        except Exception as e:  # a slow answer on a loaded machine: ask again
            print("soak: converge: %s" % e, file=sys.stderr)
            time.sleep(0.5)
            continue
        now_ms = int(time.time() * 1000)
        runs = sorted((r for r in status.get("recent_runs", []) if r["finished_at_ms"] > 0), key=lambda r: r["id"])
        for r in runs:
            if r["id"] <= last_seen_run:
                continue
            last_seen_run = r["id"]
            # Quiet: no write between an observation made before it started and now.
            before = [w for t, w in observations if t < r["started_at_ms"]]
            quiet = (r["started_at_ms"] > a.since_ms and r["exit_code"] in (0, 4) and before and
                     before[-1] == writes and r["id"] == runs[-1]["id"])
            quiet_in_a_row = quiet_in_a_row + 1 if quiet else 0
            if quiet_in_a_row >= 2:
                print("soak: converged: passes %d and %d wrote nothing (%s)" % (r["id"] - 1, r["id"], r["summary"]))
                return 0
        observations.append((now_ms, writes))
        observations = observations[-200:]
        time.sleep(0.25)
    print("soak: FAILED: the daemon did not converge within %d s (last run %d)" % (a.deadline_s, last_seen_run))
    return 1


# ---------------------------------------------------------------------- lock
def lock(a):
    """Another client of the same organisation spends one People endpoint's
    allowance: threshold + a few calls at once (without parameters: People
    counts them and writes nothing), so the sandbox locks the endpoint for
    its lock period and the daemon's next call there gets 7209."""
    import http.client
    import urllib.parse
    host = urllib.parse.urlparse(a.url)
    conn = http.client.HTTPSConnection(host.hostname, host.port, timeout=3,
                                       context=ssl.create_default_context(cafile=a.ca))
    body = urllib.parse.urlencode({"grant_type": "refresh_token", "client_id": "sandbox-client",
                                   "client_secret": "sandbox-secret", "refresh_token": "sandbox-refresh-token"})
    try:
        conn.request("POST", "/oauth/v2/token", body, {"Content-Type": "application/x-www-form-urlencoded"})
        token = json.loads(conn.getresponse().read()).get("access_token")
        if not token:
            print("no token for the lock burst (throttled)")
            return 0
        locked = 0
        for _ in range(a.calls):
            conn.request("GET", "/people/api/timetracker/" + a.endpoint, headers={"Authorization": "Zoho-oauthtoken " + token})
            if b"7209" in conn.getresponse().read():
                locked += 1
        print("%s: %d calls, %d locked replies" % (a.endpoint, a.calls, locked))
    except Exception as e:  # injected faults hit this client too: the burst is best effort
        print("%s: lock burst cut short: %s" % (a.endpoint, e))
    return 0


# -------------------------------------------------------------------- report
def classify_dead_letters(a):
    """Every dead letter with the reason class it belongs to, checked
    against the sandbox's data; returns (Counter of classes, list of
    unexplained descriptions)."""
    projects = sandbox(a, "/people/projects")
    deals = {d["id"]: d for d in sandbox(a, "/crm/Deals")}
    calls = {c["id"]: c for c in sandbox(a, "/crm/Calls")}
    deleted = sandbox(a, "/crm/Deals/deleted")
    deleted_deals = {d["id"] for d in deleted}
    project_by_ref = {p["refs"]["Zoho Projects"]: p for p in projects if "Zoho Projects" in p.get("refs", {})}

    def deal_job_state(deal_id):
        """'none' (no job can exist), 'open', 'completed' (job completed) for a deal id."""
        if deal_id in deleted_deals:
            return "completed"  # on_delete: complete (or it never had a job)
        d = deals.get(deal_id)
        if d is None or d.get("Stage") not in WHERE:
            return "none"
        p = project_by_ref.get(str(d.get("Project_Ref")))
        if p is None or p["status"] == "Completed":
            return "none"
        return "completed" if d["Stage"] == "Completed" else "open"

    # People's job form has no description: a job is known by its name, the
    # deal's name, whose base ("Deal 7", "Soak deal 3-1") survives the
    # driver's renames ("Deal 7 r3"); a deleted deal's name is its display_name.
    def base_name(name):
        return name.split(" r")[0]

    deal_of_base = {base_name(d["Deal_Name"]): d["id"] for d in deals.values()}
    deal_of_base.update({base_name(d["display_name"]): d["id"] for d in deleted})
    deal_of_job = {j["id"]: deal_of_base.get(base_name(j["name"])) for j in sandbox(a, "/people/jobs")}

    db = sqlite3.connect("file:%s?mode=ro" % a.state, uri=True)
    rows = db.execute("SELECT stream, source_key, reason, vendor_code FROM dead_letters ORDER BY id").fetchall()
    db.close()
    classes = collections.Counter()
    unexplained = []
    for stream, key, reason, code in rows:
        cls = None
        if stream == "deals":
            d = deals.get(key)
            m = re.match(r"project (\S+) is completed in People", reason)
            w = re.match(r"gave up after \d+ passes: projectId: Zoho Projects project (\S+) is not in People yet", reason)
            if m:
                p = project_by_ref.get(str(d.get("Project_Ref"))) if d else None
                if d is None or (p is not None and p["id"] == m.group(1) and p["status"] == "Completed"):
                    cls = "deal of a completed project"
            elif w:
                if d is None or str(d.get("Project_Ref")) not in project_by_ref:
                    cls = "deal waited for a project Zoho never synced (gave up after 20 passes)"
        elif stream == "calls":
            c = calls.get(key)
            deal_id = ((c or {}).get("What_Id") or {}).get("id")
            w = re.match(r"gave up after \d+ passes: jobId: stream deals has no People id for (\S+) yet", reason)
            if code == "9025":
                if c is None or deal_job_state(deal_id) == "completed":
                    cls = "call on a completed job (9025)"
            elif w:
                if c is None or (w.group(1) == deal_id and deal_job_state(deal_id) == "none"):
                    cls = "call on a deal without a job (gave up after 20 passes)"
        elif stream == "hours_back":
            # The deal was deleted in CRM between the deals stream's read of
            # deletions and the write-back of the same pass.
            if code == "INVALID_DATA" and deal_of_job.get(key) in deleted_deals:
                cls = "hours for a deal deleted in CRM during the pass (INVALID_DATA)"
        if cls is None:
            unexplained.append("%s %s: [%s] %s" % (stream, key, code, reason))
        else:
            classes[cls] += 1
    return classes, unexplained, len(rows)


def metric_sum(text, name, label_filter=None):
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if label_filter and label_filter not in line:
            continue
        try:
            total += float(line.rsplit(" ", 1)[1])
        except ValueError:
            pass
    return total


def report(a):
    failures = []
    driver = json.load(open(a.driver))
    people = json.load(open(a.people))
    metrics = open(a.metrics).read() if a.metrics else ""
    stats = sandbox(a, "/stats")
    eps = stats["endpoints"]

    # Memory and descriptors, sampled every few seconds over the daemon's life.
    samples = []
    for line in open(a.samples):
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            samples.append((float(parts[0]), int(parts[1]), int(parts[2])))
    if len(samples) < 9:
        failures.append("only %d memory samples" % len(samples))
        samples = samples or [(0, 0, 0)]
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    rss_min = min(s[1] for s in samples)
    rss_first_max = max(s[1] for s in first)
    rss_last_max = max(s[1] for s in last)
    fd_first_max = max(s[2] for s in first)
    fd_last_max = max(s[2] for s in last)
    if rss_last_max > rss_first_max + a.rss_slack_mib * 1024:
        failures.append("RSS grew: last third max %.1f MiB > first third max %.1f MiB + %d MiB"
                        % (rss_last_max / 1024, rss_first_max / 1024, a.rss_slack_mib))
    if fd_last_max > fd_first_max + a.fd_slack:
        failures.append("open descriptors grew: last third max %d > first third max %d + %d"
                        % (fd_last_max, fd_first_max, a.fd_slack))

    classes, unexplained, n_dead = classify_dead_letters(a)
    for u in unexplained:
        failures.append("unexplained dead letter: " + u)

    db = sqlite3.connect("file:%s?mode=ro" % a.state, uri=True)
    passes = db.execute("SELECT count(*) FROM runs WHERE mode = 'daemon' AND finished_at_ms > 0").fetchone()[0]
    by_exit = dict(db.execute("SELECT exit_code, count(*) FROM runs WHERE mode = 'daemon' GROUP BY exit_code").fetchall())
    db.close()

    lock_events = sum(e.get("lock_events", 0) for e in eps.values())
    locked_replies = sum(e.get("locked_replies", 0) for e in eps.values())
    locks_by_ep = {k: v["lock_events"] for k, v in eps.items() if v.get("lock_events")}
    invalid_token = sum(e.get("errors", {}).get("INVALID_TOKEN", 0) for e in eps.values())
    token = eps.get("accounts/token", {})
    grants = token.get("calls", 0) - sum(token.get("errors", {}).values())
    faults = stats.get("faults", {})
    lost = people.get("missing", -1)
    doubled = people.get("duplicates", -1)
    unexpected = people.get("unexpected", -1)
    if driver.get("people_rc", 1) != 0:
        failures.append("People is not the expected state (check_people.py above)")

    wall = driver["wall_s"]
    sim_h = driver["sandbox_seconds"] / 3600.0
    lines = [
        "==================== soak figures ====================",
        "wall time              %.0f s (soak phase %.0f s, converge %.1f s)" % (wall, driver["soak_s"], driver["converge_s"]),
        "sandbox time covered   %.2f h (time scale %gx)" % (sim_h, driver["scale"]),
        "daemon passes          %d (exit 0: %d, 4: %d, 75: %d), poll interval %s, one process throughout"
        % (passes, by_exit.get(0, 0), by_exit.get(4, 0), by_exit.get(75, 0), driver["poll_interval"]),
        "CRM changes made       %d in %d rounds (calls: %d edited, %d deleted, %d added; deals: %d added, %d edited, "
        "%d deleted)" % (driver["changes"], driver["rounds"], driver["calls_edited"], driver["calls_deleted"],
                         driver["calls_added"], driver["deals_added"], driver["deals_edited"], driver["deals_deleted"]),
        "token refreshes        daemon %d (%d failed attempts); sandbox granted %d in all (the lock-burst client "
        "takes one a burst); 401 INVALID_TOKEN replies %d; access tokens revoked %d times, lifetime %d s sandbox time"
        % (metric_sum(metrics, "peoplesync_token_refresh_total", 'outcome="ok"'),
           metric_sum(metrics, "peoplesync_token_refresh_total", 'outcome="error"'), grants, invalid_token,
           driver["revocations"], driver["token_lifetime_s"]),
        "lock replies (7209)    daemon paused %d times on a lock reply; sandbox: %d lock periods %s, %d locked "
        "replies (%d lock bursts by another client)"
        % (metric_sum(metrics, "peoplesync_ratelimit_locks_total"), lock_events, json.dumps(locks_by_ep, sort_keys=True),
           locked_replies, driver["lock_bursts"]),
        "faults injected        %d %s (%d fault settings)" % (sum(faults.values()), json.dumps(faults, sort_keys=True),
                                                          driver["fault_settings"]),
        "records in People      %d jobs (expected %d + %d completed for deals deleted in CRM), %d time logs "
        "(expected %d); in CRM %d deals (%d deleted), %d calls"
        % (people.get("jobs", 0), people.get("jobs_expected", 0), people.get("jobs_of_deleted_deals", 0),
           people.get("timelogs", 0), people.get("timelogs_expected", 0), people.get("deals", 0),
           people.get("deals_deleted", 0), people.get("calls", 0)),
        "lost/doubled/unexpected %d/%d/%d (different %d, hours back wrong %d)"
        % (lost, doubled, unexpected, people.get("different", -1), people.get("hours_back_wrong", -1)),
        "dead letters           %d, unexplained %d" % (n_dead, len(unexplained)),
    ]
    for cls, n in sorted(classes.items(), key=lambda kv: -kv[1]):
        lines.append("    %5d  %s" % (n, cls))
    lines += [
        "RSS                    min %.1f MiB, first-third max %.1f MiB, last-third max %.1f MiB (bound +%d MiB); "
        "%d samples" % (rss_min / 1024, rss_first_max / 1024, rss_last_max / 1024, a.rss_slack_mib, len(samples)),
        "open fds               first %d, last %d (first-third max %d, last-third max %d)"
        % (samples[0][2], samples[-1][2], fd_first_max, fd_last_max),
        "SIGTERM                exit %s" % driver["exit_code"],
        "result                 %s" % ("PASSED" if not failures and lost == 0 and doubled == 0 and unexpected == 0
                                       and driver["exit_code"] == 0 else "FAILED"),
        "======================================================",
    ]
    print("\n".join(lines))
    if driver["exit_code"] != 0:
        failures.append("the daemon exited %s after SIGTERM" % driver["exit_code"])
    if lost != 0 or doubled != 0 or unexpected != 0:
        failures.append("lost/doubled/unexpected %d/%d/%d" % (lost, doubled, unexpected))
    for f in failures[:30]:
        print("soak: FAILED: " + f)
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("converge")
    c.add_argument("--health", required=True)
    c.add_argument("--url", required=True)
    c.add_argument("--ca", required=True)
    c.add_argument("--since-ms", type=int, required=True)
    c.add_argument("--deadline-s", type=float, required=True)
    k = sub.add_parser("lock")
    k.add_argument("--url", required=True)
    k.add_argument("--ca", required=True)
    k.add_argument("--endpoint", required=True)
    k.add_argument("--calls", type=int, required=True)
    r = sub.add_parser("report")
    r.add_argument("--url", required=True)
    r.add_argument("--ca", required=True)
    r.add_argument("--state", required=True)
    r.add_argument("--samples", required=True)
    r.add_argument("--people", required=True)
    r.add_argument("--driver", required=True)
    r.add_argument("--metrics")
    r.add_argument("--rss-slack-mib", type=int, default=10)
    r.add_argument("--fd-slack", type=int, default=4)
    a = ap.parse_args()
    return {"converge": converge, "lock": lock, "report": report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
