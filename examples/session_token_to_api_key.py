#!/usr/bin/env python3
"""TraceLink's authentication guide, against the gateway: a session token becomes a long-lived API key.

The guide's steps, with only the server URL and the sign-in changed: where TraceLink's users copy
their browser session's token, a gateway user signs in with the REST API's password grant
(POST /api/oauth/token). The token is then sent as Authorization: Bearer with the guide's body,
unchanged, to authorization-manager:generate-apiKeyCredentials:v1; the apiKey and apiSecret it
answers are encoded as the guide's create_token does and used as HTTP Basic from then on.

    python3 examples/session_token_to_api_key.py --url http://127.0.0.1:8080 \\
        --client-id acme-app --client-secret acme-app-secret-0123 \\
        --username tim@acme.com --password tim-password-1
"""
from __future__ import annotations

import argparse
import base64
import json
import sys

import requests

# The guide's body, unchanged: "Do not replace any values, including the ownerID."
GUIDE_BODY = {
    "payload": {
        "description": "descJ100"
    },
    "header": {
        "dataspace": "default",
        "appName": "user-admin",
        "headerVersion": 1,
        "eventName": "authorization-manager:generate-apiKeyCredentials:v1",
        "ownerId": "00000000-0000-0000-0000-000000000000"
    }
}


def session_token(server, client_id, client_secret, username, password):
    """Signs in (the password grant); the access token is the session token."""
    r = requests.post(f"{server}/api/oauth/token", auth=(client_id, client_secret),
                      data={"grant_type": "password", "username": username, "password": password}, timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


def generate_api_key(server, token):
    """The guide's request with the session token as Bearer; returns the response envelope."""
    r = requests.post(f"{server}/api/events", headers={"Authorization": f"Bearer {token}"}, json=GUIDE_BODY,
                      timeout=30)
    r.raise_for_status()
    return r.json()


def create_token(api_key, api_secret):
    """The guide's create_token: the Basic Authorization header of a key and secret."""
    combine = api_key + ':' + api_secret
    step_two = combine.encode("UTF-8")
    encoded_token = base64.b64encode(step_two).decode("UTF-8")
    return {"Authorization": "Basic %s" % encoded_token}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--owner", required=True, help="the user's company id (the envelope's ownerId)")
    p.add_argument("--network", required=True, help="a process network of the company")
    a = p.parse_args()

    token = session_token(a.url, a.client_id, a.client_secret, a.username, a.password)
    answer = generate_api_key(a.url, token)
    print(json.dumps(answer, indent=2))
    auth_header = create_token(answer["payload"]["apiKey"], answer["payload"]["apiSecret"])

    # The key works as HTTP Basic from now on: create an incident with it.
    r = requests.post(f"{a.url}/api/events", headers=auth_header, timeout=30, json={
        "header": {"headerVersion": 1, "eventName": "agile-process-teams:add-incident:v5", "ownerId": a.owner,
                   "processNetworkId": a.network, "appName": "agile-process-teams", "dataspace": "default"},
        "payload": {"aptBusinessObjectSummary": "created with a key minted from a session token"}})
    print(json.dumps(r.json(), indent=2))
    return 0 if r.ok and not r.json()["header"]["isErr"] else 1


if __name__ == "__main__":
    sys.exit(main())
