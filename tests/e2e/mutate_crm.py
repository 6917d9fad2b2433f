#!/usr/bin/env python3
"""Changes the sandbox's CRM calls through its admin API, deterministically
for a seed: edits the duration of some calls (their time logs must be edited
in place), deletes some (their time logs must go) and adds new ones on
existing deals. Prints what it did as one line."""
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
    print("CRM changed: %d calls edited, %d deleted, %d added" % (edited, deleted, added))
    return 0


if __name__ == "__main__":
    sys.exit(main())
