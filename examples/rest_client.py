#!/usr/bin/env python3
"""A REST client written from the ServiceOps seed document: get a token, create an incident, read it back.

Only the server URL and the credentials are this gateway's; the requests are the document's:
POST /api/oauth/token with the API client's id and secret (HTTP Basic) and the user's name and
password, then POST /api/incident with the Bearer token. See docs/rest-api.md.

    python3 examples/rest_client.py --url http://127.0.0.1:8080 \\
        --client-id acme-app --client-secret acme-app-secret-0123 \\
        --username tim@acme.com --password tim-password-1
"""
from __future__ import annotations

import argparse
import json
import sys

import requests


def get_token(server, client_id, client_secret, username, password):
    """The password grant; returns the token answer (access_token, refresh_token, expires_in, ...)."""
    r = requests.post(f"{server}/api/oauth/token", auth=(client_id, client_secret),
                      data={"grant_type": "password", "username": username, "password": password}, timeout=30)
    r.raise_for_status()
    return r.json()


def create_incident(server, access_token, requester_email, requester_name="Tim"):
    """POST /api/incident with every field of the seed document's table; returns the created incident."""
    r = requests.post(f"{server}/api/incident", headers={"Authorization": f"Bearer {access_token}"},
                      json={"impact": "ONUSER", "urgency": "HIGH", "priority": "URGENT", "tags": ["rest"],
                            "subject": "Test Subject", "description": "Test Description", "category": 5,
                            "fieldValueDetails": {"1": {"type": 1, "stringValue": "Open"}},
                            "requesterEmail": requester_email, "requesterName": requester_name},
                      timeout=30)
    r.raise_for_status()
    return r.json()


def read_incident(server, access_token, incident_id):
    """GET /api/v1/incident/{id}."""
    r = requests.get(f"{server}/api/v1/incident/{incident_id}",
                     headers={"Authorization": f"Bearer {access_token}"}, timeout=30)
    r.raise_for_status()
    return r.json()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag in ("url", "client-id", "client-secret", "username", "password"):
        ap.add_argument(f"--{flag}", required=True)
    args = ap.parse_args()
    token = get_token(args.url, args.client_id, args.client_secret, args.username, args.password)
    created = create_incident(args.url, token["access_token"], args.username)
    print(f"created {created['name']} ({created['id']})")
    again = read_incident(args.url, token["access_token"], created["id"])
    print(json.dumps(again, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
