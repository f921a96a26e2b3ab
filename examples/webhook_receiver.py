#!/usr/bin/env python3
"""A partner's webhook receiver (docs/webhooks.md), with nothing but the standard library.

It subscribes to the gateway (POST /api/v1/webhooks) unless --secret names the secret of an existing
subscription, then serves the endpoint: every delivery's signature is checked (Standard Webhooks:
HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>", the key the secret's base64 after
"whsec_"), a timestamp more than five minutes away is refused, and a delivery whose id was seen
before is answered 200 and not handled again. Each change handled is printed as one JSON line.

    python3 examples/webhook_receiver.py --url https://gateway.example --key K --secret-of-key S \\
        --listen 0.0.0.0:9000 --public-url https://partner.example/hooks

A real receiver keeps the ids it has seen in its database, in the transaction that handles the
change; this one keeps them in a file (--seen-file) so that a restart does not handle one twice.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time

import requests

TOLERANCE = 5 * 60  # seconds a delivery's timestamp may be away from this machine's clock


def key_of(secret: str) -> bytes:
    """The signing key of a whsec_ secret."""
    if not secret.startswith("whsec_"):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret[len("whsec_"):])


def verify(key: bytes, headers, body: bytes, now: float | None = None) -> dict:
    """The delivery's JSON if its signature and timestamp hold; ValueError otherwise."""
    msg_id = headers.get("webhook-id") or ""
    stamp = headers.get("webhook-timestamp") or ""
    signatures = headers.get("webhook-signature") or ""
    if not msg_id or not stamp.isdigit():
        raise ValueError("webhook-id or webhook-timestamp missing")
    if abs((now or time.time()) - int(stamp)) > TOLERANCE:
        raise ValueError("the timestamp is too far from now: a replay, or a clock out of step")
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    # The header may hold several signatures ("v1,<sig> v1,<sig>") while a secret is rotated.
    for part in signatures.split():
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return json.loads(body)
    raise ValueError("no signature matches")


class Seen:
    """The delivery ids already handled, kept in a file, one per line."""

    def __init__(self, path):
        self.path, self.ids, self.lock = path, set(), threading.Lock()
        if path and os.path.exists(path):
            with open(path) as f:
                self.ids = {line.strip() for line in f if line.strip()}

    def first_time(self, msg_id) -> bool:
        with self.lock:
            if msg_id in self.ids:
                return False
            self.ids.add(msg_id)
            if self.path:
                with open(self.path, "a") as f:
                    f.write(msg_id + "\n")
            return True


def make_handler(key: bytes, seen: Seen, handle):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1 << 20:
                self.send_error(413)
                return
            body = self.rfile.read(length)
            try:
                event = verify(key, self.headers, body)
            except ValueError as e:
                self.send_response(401)
                self.end_headers()
                self.wfile.write(str(e).encode())
                return
            if seen.first_time(event["id"]):
                handle(event)
            self.send_response(204)  # a repeat is answered as the first was, so that it stops
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def subscribe(url, auth, endpoint, kinds=(), events=()):
    """Creates a subscription; returns (id, secret). The secret is shown this once."""
    r = requests.post(f"{url}/api/v1/webhooks", auth=auth, timeout=30,
                      json={"url": endpoint, "kinds": list(kinds), "events": list(events)})
    if r.status_code != 201:
        raise RuntimeError(f"subscribe: {r.status_code} {r.text}")
    body = r.json()
    return body["id"], body["secret"]


def serve(listen: str, key: bytes, seen: Seen, handle) -> http.server.ThreadingHTTPServer:
    host, _, port = listen.rpartition(":")
    srv = http.server.ThreadingHTTPServer((host or "127.0.0.1", int(port)), make_handler(key, seen, handle))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="the gateway, e.g. http://127.0.0.1:8080")
    ap.add_argument("--key", required=True, help="the partner's API key")
    ap.add_argument("--secret-of-key", required=True, help="the API key's secret")
    ap.add_argument("--listen", default="127.0.0.1:9000", help="address:port this receiver listens on")
    ap.add_argument("--public-url", help="the URL the gateway posts to (default http://<listen>/hooks)")
    ap.add_argument("--secret", help="the whsec_ secret of an existing subscription (no new one is made)")
    ap.add_argument("--seen-file", default="webhook.seen", help="where the ids handled are kept")
    args = ap.parse_args()
    secret = args.secret
    if not secret:
        endpoint = args.public_url or f"http://{args.listen}/hooks"
        sub_id, secret = subscribe(args.url, (args.key, args.secret_of_key), endpoint)
        print(json.dumps({"subscribed": sub_id, "secret": secret}), file=sys.stderr, flush=True)

    def handle(event):
        print(json.dumps(event), flush=True)

    serve(args.listen, key_of(secret), Seen(args.seen_file), handle)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
