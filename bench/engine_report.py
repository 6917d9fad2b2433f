#!/usr/bin/env python3
"""Helper of bench/engine.sh.

  engine_report.py rusage OUT.json -- CMD...   run CMD, write wall time, CPU
                                               (user+sys) and peak RSS of it
  engine_report.py minimum --url U --ca CA      the theoretical minimum of API
                                               calls for the backfill, from the
                                               sandbox's own data (JSON)
  engine_report.py calls BEFORE.json AFTER.json  calls per endpoint between two
                                               /_admin/stats snapshots (JSON)
  engine_report.py summary DIR                  the report, from the files
                                               bench/engine.sh left in DIR
"""
import collections
import datetime
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request

WHERE = {"Closed Won", "Delivery", "Completed"}


def admin(url, ca, path):
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(url + "/_admin" + path, context=ctx, timeout=120) as r:
        return json.loads(r.read())


def cmd_rusage(argv):
    out = argv[0]
    cmd = argv[argv.index("--") + 1:]
    t = time.monotonic()
    child = subprocess.Popen(cmd)
    # wait4: the rusage of that child alone (RUSAGE_CHILDREN would also count
    # whatever ran in this process before an exec, e.g. a pyenv shim's work).
    _, status, ru = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - t
    child.returncode = rc = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        json.dump({"rc": rc, "elapsed_s": elapsed, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
                   "cpu_s": ru.ru_utime + ru.ru_stime, "max_rss_kb": ru.ru_maxrss}, f)
    return 0


def ceil_div(a, b):
    return (a + b - 1) // b


def cmd_minimum(argv):
    url = argv[argv.index("--url") + 1]
    ca = argv[argv.index("--ca") + 1]
    deals = admin(url, ca, "/crm/Deals")
    calls = admin(url, ca, "/crm/Calls")
    projects = admin(url, ca, "/people/projects")
    jobs = admin(url, ca, "/people/jobs")
    by_ref = {p["refs"].get("Zoho Projects"): p for p in projects}
    # Deals that pass `where` need their project reference resolved: one
    # getRecordIdsByReferenceIds per 200 distinct references.
    refs = {str(d["Project_Ref"]) for d in deals if d.get("Stage") in WHERE}
    job_deals = {}  # deal id -> status, of the deals that get a job
    for d in deals:
        p = by_ref.get(str(d.get("Project_Ref")))
        if d.get("Stage") in WHERE and p is not None and p["status"] != "Completed":
            job_deals[d["id"]] = "Completed" if d["Stage"] == "Completed" else "In-Progress"
    # Time logs to send: the calls whose deal has a job (People refuses those
    # of completed jobs, but they are sent once), in batches of <= 100 that
    # span <= 31 consecutive days.
    dates = sorted(
        datetime.datetime.fromisoformat(c["Call_Start_Time"]).astimezone(datetime.timezone.utc).date()
        for c in calls if (c.get("What_Id") or {}).get("id") in job_deals)
    bulk = 0
    i = 0
    while i < len(dates):
        j = i
        while j < len(dates) and j - i < 100 and (dates[j] - dates[i]).days < 31:
            j += 1
        bulk += 1
        i = j
    n_jobs = len(job_deals)
    n_completed = sum(1 for s in job_deals.values() if s == "Completed")
    m = collections.OrderedDict()
    m["crm/Deals pages"] = max(1, ceil_div(len(deals), 200))
    m["crm/Calls pages"] = max(1, ceil_div(len(calls), 200))
    m["crm deleted reads"] = 2  # one per CRM stream with on_delete
    m["getRecordIdsByReferenceIds"] = ceil_div(len(refs), 200)
    m["getprojects pages"] = max(1, ceil_div(len(projects), 200))
    m["insertRecord (jobs)"] = n_jobs
    m["modifyjobstatus (completed deals)"] = n_completed
    m["addupdatetimelogs"] = bulk
    m["getjobs pages (hours back)"] = max(1, ceil_div(len(jobs), 200))
    m["crm/Deals/update"] = ceil_div(n_jobs, 100)
    m["accounts/token"] = 1
    print(json.dumps({"breakdown": m, "total": sum(m.values()), "deals": len(deals), "calls": len(calls),
                      "projects": len(projects), "jobs": n_jobs, "timelogs_sent": len(dates),
                      "distinct_refs": len(refs)}))
    return 0


def cmd_calls(argv):
    before = json.load(open(argv[0]))["endpoints"]
    after = json.load(open(argv[1]))["endpoints"]
    out = {}
    for ep, v in after.items():
        n = v["calls"] - before.get(ep, {}).get("calls", 0)
        if n:
            out[ep] = n
    print(json.dumps(out))
    return 0


def load(path):
    with open(path) as f:
        return json.load(f)


def delta(before, after):
    b, a = load(before)["endpoints"], load(after)["endpoints"]
    return {ep: v["calls"] - b.get(ep, {}).get("calls", 0) for ep, v in a.items()
            if v["calls"] - b.get(ep, {}).get("calls", 0)}


def cmd_summary(argv):
    d = argv[0]
    mn = load(d + "/minimum.json")
    passes = [i for i in (1, 2, 3) if os.path.exists("%s/stats%d.json" % (d, i))]
    r = {i: load("%s/rusage%d.json" % (d, i)) for i in passes}
    c = {i: delta("%s/stats%d.json" % (d, i - 1), "%s/stats%d.json" % (d, i)) for i in passes}
    r1, c1 = r[1], c[1]
    records = mn["deals"] + mn["calls"]
    made = sum(c1.values())
    print("backfill: %d CRM records (%d deals, %d calls), %d jobs, %d time logs sent; exit %d"
          % (records, mn["deals"], mn["calls"], mn["jobs"], mn["timelogs_sent"], r1["rc"]))
    print("  wall %.2f s -> %.0f records/s" % (r1["elapsed_s"], records / r1["elapsed_s"]))
    print("  CPU %.2f s (user %.2f, sys %.2f) -> %.3f CPU s per 1,000 records"
          % (r1["cpu_s"], r1["user_s"], r1["sys_s"], r1["cpu_s"] * 1000 / records))
    print("  peak RSS %.1f MiB" % (r1["max_rss_kb"] / 1024))
    print("  API calls %d, theoretical minimum %d -> ratio %.3f" % (made, mn["total"], made / mn["total"]))
    print("    %-44s %8s" % ("endpoint (sandbox count)", "calls"))
    for ep in sorted(c1):
        print("    %-44s %8d" % (ep, c1[ep]))
    print("    %-44s %8s" % ("minimum, by part", ""))
    for k, v in mn["breakdown"].items():
        print("    %-44s %8d" % (k, v))
    names = {2: "pass 2 (re-poll: reads back the deals the write-back touched, writes nothing)",
             3: "pass 3 (unchanged re-poll)"}
    for i in passes[1:]:
        ri, ci = r[i], c[i]
        print("%s: exit %d, %d calls, CPU %.3f s, wall %.2f s, peak RSS %.1f MiB"
              % (names[i], ri["rc"], sum(ci.values()), ri["cpu_s"], ri["elapsed_s"], ri["max_rss_kb"] / 1024))
        print("    " + ", ".join("%s %d" % kv for kv in sorted(ci.items())))
    summary = {"records": records, "records_per_s": records / r1["elapsed_s"],
               "cpu_s_per_1000": r1["cpu_s"] * 1000 / records, "peak_rss_mib": r1["max_rss_kb"] / 1024,
               "calls": made, "minimum": mn["total"], "ratio": made / mn["total"]}
    for i in passes[1:]:
        summary.update({"pass%d_exit" % i: r[i]["rc"], "pass%d_calls" % i: sum(c[i].values()),
                        "pass%d_cpu_s" % i: r[i]["cpu_s"]})
    print("summary: " + json.dumps(summary))
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, argv = sys.argv[1], sys.argv[2:]
    return {"rusage": cmd_rusage, "minimum": cmd_minimum, "calls": cmd_calls, "summary": cmd_summary}[cmd](argv)


if __name__ == "__main__":
    sys.exit(main())
