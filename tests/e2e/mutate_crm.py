#!/usr/bin/env python3
"""Changes the sandbox's CRM calls through its admin API, deterministically
for a seed: edits the duration of some calls (their time logs must be edited
in place), deletes some (their time logs must go) and adds new ones on
existing deals. Optionally (--deal-*) also adds, edits and deletes deals.
Prints what it did as one line.

Deal changes keep the expected People state a function of the final CRM
data (what tests/e2e/check_people.py computes), whatever the order in which
the daemon sees them:
  - new deals get any stage; those in Closed Won, Delivery or Negotiation
    may come with calls (Completed ones never do: a call synced before the
    status change would be a time log on a job that is now completed);
  - a deal's stage changes only while it has no calls, and never leaves the
    `where` stages once in them (a filtered-out deal keeps its job);
  - any deal may be renamed or get a new Closing_Date or Amount;
  - only deals without calls are deleted (their job is completed).
Calls are only ever added to deals that already have calls, or to new deals
at their creation, so a deal without calls keeps none."""
import argparse
import datetime
import json
import random
import ssl
import sys
import urllib.request


def call(url, ca, method, path, body=None):
    ctx = ssl.create_default_context(cafile=ca)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + "/_admin" + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
        return json.loads(r.read() or b"null")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--edit", type=float, default=0.03, help="share of calls whose duration changes")
    ap.add_argument("--delete", type=float, default=0.01, help="share of calls deleted")
    ap.add_argument("--add", type=float, default=0.01, help="new calls, as a share of the calls")
    ap.add_argument("--deal-add", type=float, default=0, help="new deals, as a share of the deals")
    ap.add_argument("--deal-edit", type=float, default=0, help="share of deals changed (name, stage, dates)")
    ap.add_argument("--deal-delete", type=float, default=0, help="share of deals deleted (only deals without calls)")
    ap.add_argument("--json", action="store_true", help="print the counts as one JSON object instead")
    a = ap.parse_args()
    rng = random.Random(a.seed)

    calls = call(a.url, a.ca, "GET", "/crm/Calls")
    calls.sort(key=lambda c: c["id"])
    n = len(calls)
    picked = rng.sample(calls, int(n * (a.edit + a.delete)))
    n_edit = int(n * a.edit)
    edited = deleted = added = 0
    for c in picked[:n_edit]:
        old = int(c["Call_Duration_in_seconds"])
        new = old
        while new == old:
            new = 60 * rng.randint(1, 240)
        call(a.url, a.ca, "POST", "/crm/Calls", {"id": c["id"], "Call_Duration_in_seconds": new})
        edited += 1
    for c in picked[n_edit:]:
        call(a.url, a.ca, "DELETE", "/crm/Calls/" + c["id"])
        deleted += 1
    now = datetime.datetime.fromisoformat(call(a.url, a.ca, "GET", "/stats")["now"].replace("Z", "+00:00"))
    for i in range(int(n * a.add)):
        model = rng.choice(calls)
        start = (now - datetime.timedelta(days=rng.randint(2, 20), minutes=rng.randint(0, 1439))).replace(microsecond=0)
        call(a.url, a.ca, "POST", "/crm/Calls", {
            "Subject": "Call added %d-%d" % (a.seed, i + 1),
            "Call_Start_Time": start.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "Call_Duration_in_seconds": 60 * rng.randint(1, 240),
            "Call_Type": "Outbound",
            "Owner": model["Owner"],
            "What_Id": model["What_Id"],
        })
        added += 1
    counts = {"calls_edited": edited, "calls_deleted": deleted, "calls_added": added}
    if a.deal_add or a.deal_edit or a.deal_delete:
        counts.update(change_deals(a, rng, now))
    if a.json:
        print(json.dumps(counts))
    elif len(counts) == 3:
        print("CRM changed: %d calls edited, %d deleted, %d added" % (edited, deleted, added))
    else:
        print("CRM changed: %d calls edited, %d deleted, %d added; deals: %d added (with %d calls), %d edited, "
              "%d deleted" % (edited, deleted, added, counts["deals_added"], counts["calls_added_on_new_deals"],
                              counts["deals_edited"], counts["deals_deleted"]))
    return 0


WHERE = ["Closed Won", "Delivery", "Completed"]


def change_deals(a, rng, now):
    deals = call(a.url, a.ca, "GET", "/crm/Deals")
    deals.sort(key=lambda d: d["id"])
    calls = call(a.url, a.ca, "GET", "/crm/Calls")
    with_calls = {(c.get("What_Id") or {}).get("id") for c in calls}
    n = len(deals)
    out = {"deals_added": 0, "calls_added_on_new_deals": 0, "deals_edited": 0, "deals_deleted": 0}

    # Deletions first, then edits of other deals, then new deals.
    callless = [d for d in deals if d["id"] not in with_calls]
    gone = set()
    for d in rng.sample(callless, min(len(callless), int(round(n * a.deal_delete)))):
        call(a.url, a.ca, "DELETE", "/crm/Deals/" + d["id"])
        gone.add(d["id"])
        out["deals_deleted"] += 1

    left = [d for d in deals if d["id"] not in gone]
    for d in rng.sample(left, min(len(left), int(round(n * a.deal_edit)))):
        change = {"id": d["id"]}
        stage = d.get("Stage")
        kind = rng.choice(["name", "date", "amount", "stage", "stage"])
        if kind == "stage" and d["id"] not in with_calls:
            choices = [s for s in WHERE if s != stage]  # into `where`, or within it
            change["Stage"] = rng.choice(choices)
        elif kind == "stage" and stage in ("Closed Won", "Delivery"):
            change["Stage"] = "Delivery" if stage == "Closed Won" else "Closed Won"  # no job status change
        elif kind == "name" or kind == "stage":
            change["Deal_Name"] = "%s r%d" % (d["Deal_Name"].split(" r")[0], a.seed)
        elif kind == "date":
            change["Closing_Date"] = (now + datetime.timedelta(days=rng.randint(1, 90))).strftime("%Y-%m-%d")
        else:
            change["Amount"] = 1000 + 100 * rng.randint(0, 49)
        call(a.url, a.ca, "POST", "/crm/Deals", change)
        out["deals_edited"] += 1

    for i in range(int(round(n * a.deal_add))):
        model = rng.choice(deals)
        stage = rng.choice(["Closed Won", "Delivery", "Completed", "Negotiation"])
        rec = call(a.url, a.ca, "POST", "/crm/Deals", {
            "Deal_Name": "Soak deal %d-%d" % (a.seed, i + 1),
            "Stage": stage,
            "Closing_Date": (now + datetime.timedelta(days=rng.randint(1, 90))).strftime("%Y-%m-%d"),
            "Project_Ref": model["Project_Ref"],
            "Account_Name": model["Account_Name"],
            "Owner": model["Owner"],
            "Amount": 1000 + 100 * rng.randint(0, 49),
        })
        out["deals_added"] += 1
        if stage == "Completed" or rng.random() < 0.5:
            continue
        for k in range(rng.randint(1, 3)):
            start = (now - datetime.timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 1439))).replace(microsecond=0)
            call(a.url, a.ca, "POST", "/crm/Calls", {
                "Subject": "Call on soak deal %d-%d-%d" % (a.seed, i + 1, k + 1),
                "Call_Start_Time": start.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "Call_Duration_in_seconds": 60 * rng.randint(1, 240),
                "Call_Type": "Outbound",
                "Owner": model["Owner"],
                "What_Id": {"name": rec["Deal_Name"], "id": rec["id"]},
            })
            out["calls_added_on_new_deals"] += 1
    return out


if __name__ == "__main__":
    sys.exit(main())
