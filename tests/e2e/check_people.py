#!/usr/bin/env python3
"""What People must hold after syncing the sandbox's CRM data with the
example config of PRODUCT.md, computed from the sandbox's own data (CRM
deals and calls, People projects: /_admin/...) and the config's semantics,
never from the daemon's state file; then compared with what People holds.

Expected:
  - a deal passing `where` (Stage in Closed Won, Delivery, Completed) whose
    Project_Ref resolves to a People project (refs["Zoho Projects"]) that is
    not completed -> exactly one job named by the deal (project, status
    Completed iff Stage is Completed; the job form has no description);
  - a call whose deal got a job -> exactly one time log (workItem = Subject,
    user = Owner.email, date = Call_Start_Time's UTC date, hours =
    HH:mm of the duration, on that job), except when that job is Completed:
    People refuses it (9025) and the call must be a dead letter;
  - hours back: each such deal's Hours_Logged is the job's logged hours
    (hours_decimal of the sum of its time logs) and Job_Status its status;
  - a deal deleted in CRM (on_delete: complete): at most one job named
    by the deal, and it is Completed (none if the deal never had one);
  - nothing else: no other job, no other time log.
The state file is read only for the dead letters (which only it records).

Prints the figures; exits 1 if anything is missing, doubled, unexpected or
different.
"""
import argparse
import collections
import datetime
import json
import sqlite3
import ssl
import sys
import urllib.request

WHERE = {"Closed Won", "Delivery", "Completed"}


def get(url, ca, path):
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(url + "/_admin" + path, context=ctx, timeout=60) as r:
        return json.loads(r.read())


def hhmm_from_seconds(s):
    m = (int(round(float(s))) + 30) // 60  # the nearest minute
    return "%02d:%02d" % (m // 60, m % 60)


def minutes(hhmm):
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def hours_decimal(total_minutes):
    hundredths = total_minutes * 100 // 60
    out = "%d.%02d" % (hundredths // 100, hundredths % 100)
    return out.rstrip("0").rstrip(".")


def utc_date(crm_time):
    t = datetime.datetime.fromisoformat(crm_time)
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--state", required=True, help="the daemon's state file (dead letters only)")
    ap.add_argument("--json", help="write the figures here as JSON")
    a = ap.parse_args()

    projects = get(a.url, a.ca, "/people/projects")
    deals = get(a.url, a.ca, "/crm/Deals")
    calls = get(a.url, a.ca, "/crm/Calls")
    jobs = get(a.url, a.ca, "/people/jobs")
    logs = get(a.url, a.ca, "/people/timelogs")
    deleted = get(a.url, a.ca, "/crm/Deals/deleted")
    deleted_deals = {d["id"] for d in deleted}
    # People's job form has no description: a deleted deal's job is known by
    # its name (the deal's display name).
    deleted_deal_of_name = {d["display_name"]: d["id"] for d in deleted}

    project_by_ref = {p["refs"]["Zoho Projects"]: p for p in projects if "Zoho Projects" in p.get("refs", {})}

    problems = []

    def problem(kind, text):
        problems.append((kind, text))

    # ---- jobs
    expected_jobs = {}  # deal id -> expected job
    completed_project_deals = set()
    for d in deals:
        if d.get("Stage") not in WHERE:
            continue
        p = project_by_ref.get(str(d.get("Project_Ref")))
        if p is None:
            continue  # waits for Zoho to sync the project: no job yet
        if p["status"] == "Completed":
            completed_project_deals.add(d["id"])
            continue
        expected_jobs[d["id"]] = {
            "name": d["Deal_Name"],
            "project_id": p["id"],
            "status": "Completed" if d["Stage"] == "Completed" else "In-Progress",
        }
    jobs_by_name = collections.defaultdict(list)
    for j in jobs:
        jobs_by_name[j["name"]].append(j)
    job_of_deal = {}
    dup_jobs = missing_jobs = wrong_jobs = 0
    for deal_id, e in expected_jobs.items():
        got = jobs_by_name.get(e["name"], [])
        if not got:
            missing_jobs += 1
            problem("missing job", "%s (deal %s)" % (e["name"], deal_id))
            continue
        if len(got) > 1:
            dup_jobs += len(got) - 1
            problem("duplicate job", "%s x%d: %s" % (e["name"], len(got), [j["id"] for j in got]))
        j = got[0]
        job_of_deal[deal_id] = j
        for k in ("project_id", "status"):
            if j[k] != e[k]:
                wrong_jobs += 1
                problem("job differs", "%s: %s is %r, expected %r" % (e["name"], k, j[k], e[k]))
    expected_names = {e["name"] for e in expected_jobs.values()}
    # Jobs of deals deleted in CRM: completed (on_delete: complete), never doubled.
    deleted_jobs = collections.defaultdict(list)
    for j in jobs:
        if j["name"] not in expected_names and j["name"] in deleted_deal_of_name:
            deleted_jobs[deleted_deal_of_name[j["name"]]].append(j)
    for deal_id, got in deleted_jobs.items():
        if len(got) > 1:
            dup_jobs += len(got) - 1
            problem("duplicate job", "deleted deal %s x%d: %s" % (deal_id, len(got), [j["id"] for j in got]))
        for j in got:
            if j["status"] != "Completed":
                wrong_jobs += 1
                problem("job differs", "%s of deleted deal %s: status is %r, expected 'Completed'"
                        % (j["name"], deal_id, j["status"]))
    completed_deleted = {j["id"] for got in deleted_jobs.values() for j in got}
    unexpected_jobs = [j for j in jobs if j["name"] not in expected_names and j["id"] not in completed_deleted]
    for j in unexpected_jobs:
        problem("unexpected job", "%s %s" % (j["id"], j["name"]))

    # ---- time logs
    expected_logs = {}  # (workItem, user, date) -> expected
    refused = set()  # call ids People must refuse (job completed)
    for c in calls:
        deal_id = (c.get("What_Id") or {}).get("id")
        if deal_id not in expected_jobs:
            continue  # its deal has no job: the call waits (parked), nothing in People
        if expected_jobs[deal_id]["status"] == "Completed":
            refused.add(c["id"])
            continue
        key = (c["Subject"], c["Owner"]["email"], utc_date(c["Call_Start_Time"]))
        j = job_of_deal.get(deal_id)
        expected_logs[key] = {
            "call": c["id"],
            "hours": hhmm_from_seconds(c["Call_Duration_in_seconds"]),
            "job_id": j["id"] if j else None,
        }
    logs_by_key = collections.defaultdict(list)
    for t in logs:
        logs_by_key[(t["work_item"], t["user"], t["date"])].append(t)
    dup_logs = missing_logs = wrong_logs = 0
    for key, e in expected_logs.items():
        got = logs_by_key.get(key, [])
        if not got:
            missing_logs += 1
            problem("missing time log", "%s (call %s)" % (key, e["call"]))
            continue
        if len(got) > 1:
            dup_logs += len(got) - 1
            problem("duplicate time log", "%s x%d: %s" % (key, len(got), [t["id"] for t in got]))
        t = got[0]
        if t["hours"] != e["hours"] or (e["job_id"] and t["job_id"] != e["job_id"]):
            wrong_logs += 1
            problem("time log differs", "%s: hours %s job %s, expected hours %s job %s"
                    % (key, t["hours"], t["job_id"], e["hours"], e["job_id"]))
    unexpected_logs = [t for t in logs if (t["work_item"], t["user"], t["date"]) not in expected_logs]
    for t in unexpected_logs:
        problem("unexpected time log", "%s %s %s %s on job %s" % (t["id"], t["work_item"], t["user"], t["date"], t["job_id"]))

    # ---- dead letters: the refused calls must be there
    db = sqlite3.connect("file:%s?mode=ro" % a.state, uri=True)
    dead_calls = {r[0] for r in db.execute("SELECT source_key FROM dead_letters WHERE stream = 'calls'")}
    dead_deals = {r[0] for r in db.execute("SELECT source_key FROM dead_letters WHERE stream = 'deals'")}
    in_doubt = db.execute("SELECT count(*) FROM outbox WHERE op != 'retry'").fetchone()[0]
    db.close()
    missing_dead = sorted(refused - dead_calls)
    for k in missing_dead:
        problem("refused call not dead-lettered", k)
    missing_dead_deals = sorted(completed_project_deals - dead_deals)
    for k in missing_dead_deals:
        problem("deal of a completed project not dead-lettered", k)
    if in_doubt:
        problem("outbox", "%d write intent(s) still in the outbox after a clean pass" % in_doubt)

    # ---- hours back on the deals
    logged = collections.Counter()
    for t in logs:
        logged[t["job_id"]] += minutes(t["hours"])
    deal_by_id = {d["id"]: d for d in deals}
    wrong_back = 0
    for deal_id, j in job_of_deal.items():
        d = deal_by_id[deal_id]
        want_h, want_s = hours_decimal(logged[j["id"]]), j["status"]
        got_h, got_s = d.get("Hours_Logged"), d.get("Job_Status")
        # Written back typed: a number field holds a JSON number, not a string.
        if not isinstance(got_h, (int, float)) or abs(float(got_h) - float(want_h)) > 0.005 or got_s != want_s:
            wrong_back += 1
            problem("hours back", "deal %s: Hours_Logged %r Job_Status %r, expected %s %s"
                    % (deal_id, got_h, got_s, want_h, want_s))

    figures = {
        "deals": len(deals), "calls": len(calls), "projects": len(projects), "deals_deleted": len(deleted_deals),
        "jobs_of_deleted_deals": len(completed_deleted),
        "jobs_expected": len(expected_jobs), "jobs": len(jobs),
        "timelogs_expected": len(expected_logs), "timelogs": len(logs),
        "refused_calls": len(refused), "dead_letters_calls": len(dead_calls),
        "duplicates": dup_jobs + dup_logs, "missing": missing_jobs + missing_logs,
        "unexpected": len(unexpected_jobs) + len(unexpected_logs),
        "different": wrong_jobs + wrong_logs, "hours_back_wrong": wrong_back,
        "refused_not_dead_lettered": len(missing_dead) + len(missing_dead_deals),
        "outbox_in_doubt": in_doubt,
    }
    print("people: %d jobs (expected %d), %d time logs (expected %d); %d calls refused for completed jobs "
          "(dead letters: %d calls)" % (len(jobs), len(expected_jobs), len(logs), len(expected_logs), len(refused),
                                        len(dead_calls)))
    print("duplicates %d, missing %d, unexpected %d, different %d, hours back wrong %d, refused but not "
          "dead-lettered %d, intents left %d" % (figures["duplicates"], figures["missing"], figures["unexpected"],
                                                 figures["different"], wrong_back, figures["refused_not_dead_lettered"],
                                                 in_doubt))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(figures, f)
    if problems:
        by_kind = collections.Counter(k for k, _ in problems)
        print("FAILED: " + ", ".join("%s: %d" % kv for kv in sorted(by_kind.items())))
        shown = collections.Counter()
        for kind, text in problems:
            shown[kind] += 1
            if shown[kind] <= 10:
                print("  %s: %s" % (kind, text))
        return 1
    if not expected_jobs or not expected_logs:
        print("FAILED: nothing was expected (seed too small?)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
