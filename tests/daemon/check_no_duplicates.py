#!/usr/bin/env python3
"""After a backfill that was interrupted and finished by a later run: People
holds no duplicate job (one per job name = deal name), no duplicate time log
(unique user + date + workItem), and as many time logs as the state file maps
calls to (id_map rows of the calls stream), as many jobs as it maps deals.

usage: check_no_duplicates.py SANDBOX_URL CA_FILE STATE_DB
Prints the figures as one JSON line on stdout; exits 1 on any problem.
"""
import collections
import json
import sqlite3
import ssl
import sys


def get(url, ca, path):
    import urllib.request
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(url + "/_admin" + path, context=ctx, timeout=60) as r:
        return json.loads(r.read())


def main():
    url, ca, state = sys.argv[1:4]
    jobs = get(url, ca, "/people/jobs")
    logs = get(url, ca, "/people/timelogs")
    db = sqlite3.connect("file:%s?mode=ro" % state, uri=True)
    mapped = dict(db.execute("SELECT stream, count(*) FROM id_map GROUP BY stream").fetchall())
    problems = []
    by_name = collections.Counter(j["name"] for j in jobs)
    dup_jobs = {n: c for n, c in by_name.items() if c > 1}
    if dup_jobs:
        problems.append("%d job name(s) more than once, e.g. %s" % (len(dup_jobs), list(dup_jobs.items())[:5]))
    by_key = collections.Counter((t["user"], t["date"], t["work_item"]) for t in logs)
    dup_logs = {k: c for k, c in by_key.items() if c > 1}
    if dup_logs:
        problems.append("%d time log(s) (user, date, workItem) more than once, e.g. %s" %
                        (len(dup_logs), list(dup_logs.items())[:5]))
    if len(logs) != mapped.get("calls", 0):
        problems.append("People holds %d time logs, the id map %d calls rows" % (len(logs), mapped.get("calls", 0)))
    if len(jobs) != mapped.get("deals", 0):
        problems.append("People holds %d jobs, the id map %d deals rows" % (len(jobs), mapped.get("deals", 0)))
    if not logs or not jobs:
        problems.append("People holds %d jobs and %d time logs: nothing to check" % (len(jobs), len(logs)))
    print(json.dumps({"jobs": len(jobs), "timelogs": len(logs), "id_map": mapped,
                      "duplicate_jobs": sum(c - 1 for c in dup_jobs.values()),
                      "duplicate_timelogs": sum(c - 1 for c in dup_logs.values())}))
    for p in problems:
        print("FAIL: " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
