#!/usr/bin/env python3
"""A partner system following the gateway's change feed (docs/feed.md).

Reads GET /api/v1/changes from the cursor kept in --cursor-file, a page at a time, to the end of the
feed; for each change it reads the object as the caller may see it (GraphQL genericGetObject) and
prints one JSON line: the change and the object's business id, state and summary. The cursor is
saved after each page, so a run that is stopped goes on where it was, and no change is handled twice.
With --poll N it then waits N seconds and reads again, for ever.

    python3 examples/follow_feed.py --url http://127.0.0.1:8080 --key K --secret S --cursor-file partner.cursor
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import requests

READ = """query($type: String!, $id: String!) { genericGetObject(type: $type, id: $id) {
  __typename ... on ALL_RETURNS { ... on Incident { id currentBaseState data { aptBusinessObjectId aptBusinessObjectSummary } }
  ... on DirectSupplierIncident { id currentBaseState data { aptBusinessObjectId aptBusinessObjectSummary } }
  ... on Change { id currentBaseState data { aptBusinessObjectId aptBusinessObjectSummary } }
  ... on DocumentReview { id currentBaseState data { aptBusinessObjectId aptBusinessObjectSummary } }
  ... on Task { id currentBaseState data { aptBusinessObjectId aptBusinessObjectSummary } } } } }"""


def read_cursor(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def save_cursor(path, cursor):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(cursor)
    os.replace(tmp, path)  # a stop mid-write leaves the old cursor, never half of one


def read_object(session, url, kind, object_id):
    """The object as the caller may see it, or None (no longer visible, or a kind without a read)."""
    typ = kind[:1].upper() + kind[1:]
    r = session.post(f"{url}/api/graphql", json={"query": READ, "variables": {"type": typ, "id": object_id}}, timeout=30)
    r.raise_for_status()
    return (r.json().get("data") or {}).get("genericGetObject")


def follow_once(session, url, cursor_file, limit=100):
    """Reads the feed to its end from the saved cursor; returns the changes handled."""
    handled = 0
    while True:
        cursor = read_cursor(cursor_file)
        params = {"limit": limit}
        if cursor:
            params["after"] = cursor
        r = session.get(f"{url}/api/v1/changes", params=params, timeout=30)
        if r.status_code != 200:
            raise RuntimeError(f"GET /api/v1/changes answered {r.status_code}: {r.text[:300]}")
        page = r.json()
        for change in page["changes"]:
            obj = read_object(session, url, change["kind"], change["objectId"]) or {}
            data = obj.get("data") or {}
            print(json.dumps({"change": change, "aptBusinessObjectId": data.get("aptBusinessObjectId"),
                              "state": obj.get("currentBaseState"), "summary": data.get("aptBusinessObjectSummary")}), flush=True)
            handled += 1
        save_cursor(cursor_file, page["next"])
        if len(page["changes"]) < limit:
            return handled


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--cursor-file", required=True)
    ap.add_argument("--poll", type=float, default=0, help="seconds between reads; 0 reads once")
    a = ap.parse_args()
    session = requests.Session()
    session.auth = (a.key, a.secret)
    while True:
        n = follow_once(session, a.url.rstrip("/"), a.cursor_file)
        print(f"# {n} changes", file=sys.stderr)
        if a.poll <= 0:
            return
        time.sleep(a.poll)


if __name__ == "__main__":
    main()
