#!/usr/bin/env python3
"""Run every sample in examples/scwm-samples/ through an scwm-gateway and check each answer.

    python3 examples/run_samples.py              # builds and starts a throw-away gateway itself
    python3 examples/run_samples.py --url http://127.0.0.1:8080 \
        --owner-key K --owner-secret S --partner-key K2 --partner-secret S2 \
        --owner acme --partner supplier-1 --network net-1

Prints one line per check, `PASS <name>` or `FAIL <name>: <why>`, then `N passed, M failed`;
the exit code is 0 only when nothing failed. `--verbose` also prints every request and response.
Only the standard library and `requests` are used.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from catalogue_flows import MASTER_DATA, CatalogueFlows

EXAMPLES = Path(__file__).resolve().parent
REPO = EXAMPLES.parent                       # the repository root: `go build` runs here
SAMPLES = EXAMPLES / "scwm-samples"
SHARED = SAMPLES / "shared"

PROCESS_TYPES = ["incident", "directSupplierIncident", "indirectSupplierIncident",
                 "externalManufacturingIncident", "internalManufacturingIncident"]
HIDDEN_FROM_PARTNER = {"internal", "internalonly", "owneronly"}   # comment visibilityType values

# The catalogue kinds past incidents (docs/lifecycle.md): the event that reads one, its number, the field
# that names it, its initial state; the state a reopen goes to; which kind each sample's action acts on.
# Sub-task templates have no read event: their list-sub-task-for-template checks are in catalogue_flows.py.
READ_KIND = {"change": ("read-change:v3", "CHG-", "aptBusinessObjectSummary", "New"),
             "task": ("read-task:v3", "TASK-", "aptBusinessObjectSummary", "New"),
             "subTask": ("read-subTask:v1", "SUB-", "subTaskName", "New"),
             "taskTemplate": ("read-taskTemplate:v1", "TMPL-", "templateName", "Active")}
REOPENED = {"change": "UnderEvaluation", "task": "InProgress", "subTask": "InProgress"}
ACTION_KIND = {
    **{a: "change" for a in ("add-change", "edit-change", "copy-change", "close-change", "reopen-change")},
    **{a: "task" for a in ("add-task", "edit-task", "copy-task", "close-task", "reopen-task")},
    **{a: "subTask" for a in ("add-sub-task-to-task", "edit-sub-task-on-task", "close-sub-task", "reopen-sub-task",
                              "submit-sub-task-to-partner", "remove-sub-task-from-task")},
    **{a: "taskTemplate" for a in ("add-task-template", "edit-task-template", "copy-task-template")},
}


def action_of(env):
    """`app:action:vN` of an envelope -> action."""
    parts = str(env.get("header", {}).get("eventName", "")).split(":")
    return parts[1] if len(parts) == 3 else None


def patch_payload(env, **fields):
    env["payload"].update(fields)
    return env


def data_field(rec, key):
    data = rec.get("data") if isinstance(rec, dict) else None
    return data.get(key) if isinstance(data, dict) else None

# The seed of the self-started gateway (the seed file format of docs/configuration.md).
SEED = {
    "companies": [{"id": "acme", "name": "Acme Pharma", "masterData": MASTER_DATA["acme"]},
                  {"id": "supplier-1", "name": "Supplier One", "masterData": MASTER_DATA["supplier-1"]},
                  {"id": "other-co", "name": "Other Co"}],
    "networks": [{"id": "net-1", "members": ["acme", "supplier-1"]}, {"id": "net-2", "members": ["other-co"]}],
    "clients": [
        {"apiKey": "acme-key", "apiSecret": "acme-secret-0123456789", "companyId": "acme", "userId": "alice"},
        {"apiKey": "supplier-key", "apiSecret": "supplier-secret-0123456789", "companyId": "supplier-1",
         "userId": "sam"},
        {"apiKey": "other-key", "apiSecret": "other-secret-0123456789", "companyId": "other-co", "userId": "olga"},
    ],
    # The REST surface (docs/rest-api.md), checked with examples/rest_client.py after the samples.
    "users": [{"username": "tim@acme.com", "password": "tim-password-1", "companyId": "acme", "name": "Tim"}],
    "oauthClients": [{"clientId": "acme-app", "clientSecret": "acme-app-secret-0123", "companyId": "acme"}],
}


def check_rest(gw_url, rep):
    """The seed document's REST client creates an incident; it reads back over REST and through read-incident:v4."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import rest_client
    name = "REST: token, POST /api/incident, GET, and read-incident:v4 of the same incident"
    try:
        token = rest_client.get_token(gw_url, "acme-app", "acme-app-secret-0123", "tim@acme.com", "tim-password-1")
        created = rest_client.create_incident(gw_url, token["access_token"], "tim@acme.com")
        again = rest_client.read_incident(gw_url, token["access_token"], created["id"])
    except requests.RequestException as e:
        body = getattr(getattr(e, "response", None), "text", "")
        rep.fail(name, f"{e} {body}")
        return
    env = {"header": {"headerVersion": 1, "eventName": "agile-process-teams:read-incident:v4", "ownerId": "acme",
                      "processNetworkId": "net-1", "appName": "agile-process-teams", "dataspace": "default"},
           "payload": {"id": created["id"]}}
    r = requests.post(f"{gw_url}/api/events", json=env, auth=("acme-key", "acme-secret-0123456789"), timeout=30)
    rec = (r.json().get("payload") or {}) if r.headers.get("Content-Type", "").startswith("application/json") else {}
    data = rec.get("data") or {}
    problems = []
    if not str(created.get("name", "")).startswith("INC-"):
        problems.append(f"created name {created.get('name')!r}")
    if again.get("subject") != "Test Subject" or again.get("id") != created["id"]:
        problems.append(f"GET answered {again}")
    if r.status_code != 200 or data.get("aptBusinessObjectSummary") != "Test Subject" or \
            data.get("aptBusinessObjectId") != created.get("name") or data.get("impact") != "ONUSER":
        problems.append(f"read-incident:v4 answered {r.status_code} {r.text[:500]}")
    rep.check(name, problems)


def check_session_token(gw_url, rep):
    """The authentication guide's way in: a session token mints an API key that then works as Basic."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import session_token_to_api_key as guide
    name = "session token: the authentication guide's generate-apiKeyCredentials, then the key as Basic"
    try:
        token = guide.session_token(gw_url, "acme-app", "acme-app-secret-0123", "tim@acme.com", "tim-password-1")
        answer = guide.generate_api_key(gw_url, token)
    except requests.RequestException as e:
        body = getattr(getattr(e, "response", None), "text", "")
        rep.fail(name, f"{e} {body}")
        return
    problems = []
    header, payload = answer.get("header") or {}, answer.get("payload") or {}
    if header.get("isErr") or header.get("errCode") != "200_OK" or not payload.get("apiKey"):
        problems.append(f"the mint answered {answer}")
    else:
        env = {"header": {"headerVersion": 1, "eventName": "agile-process-teams:add-incident:v5", "ownerId": "acme",
                          "processNetworkId": "net-1", "appName": "agile-process-teams", "dataspace": "default"},
               "payload": {"aptBusinessObjectSummary": "with a key minted from a session token"}}
        r = requests.post(f"{gw_url}/api/events", json=env, timeout=30,
                          headers=guide.create_token(payload["apiKey"], payload["apiSecret"]))
        if r.status_code != 200 or r.json().get("header", {}).get("isErr"):
            problems.append(f"the minted key as Basic answered {r.status_code} {r.text[:500]}")
    rep.check(name, problems)


def check_webhooks(gw_url, rep):
    """docs/webhooks.md's receiver, as the partner: every change of an incident's life, verified, once, as the feed has it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import threading
    import webhook_receiver
    name = "webhook_receiver.py: the partner receives and verifies every change of an incident's life, as its feed has it"
    partner = ("supplier-key", "supplier-secret-0123456789")
    got, arrived = [], threading.Event()

    def handle(event):
        got.append(event)
        arrived.set()

    def send(event, payload):
        env = {"header": {"headerVersion": 1, "eventName": "agile-process-teams:" + event, "ownerId": "acme",
                          "processNetworkId": "net-1", "appName": "agile-process-teams", "dataspace": "default"},
               "payload": payload}
        r = requests.post(f"{gw_url}/api/events", json=env, auth=("acme-key", "acme-secret-0123456789"), timeout=30)
        if r.status_code != 200:
            raise RuntimeError(f"{event}: {r.status_code} {r.text[:300]}")
        return r.json().get("payload") or {}

    srv = None
    try:
        # Subscribe first with a placeholder port, then serve on the port the system gives: the
        # subscription names the endpoint, so the server must be up before the first change.
        srv = webhook_receiver.serve("127.0.0.1:0", b"", webhook_receiver.Seen(None), handle)
        port = srv.server_address[1]
        _, secret = webhook_receiver.subscribe(gw_url, partner, f"http://127.0.0.1:{port}/hooks")
        srv.RequestHandlerClass = webhook_receiver.make_handler(webhook_receiver.key_of(secret),
                                                                webhook_receiver.Seen(None), handle)
        inc = send("add-incident:v5", {"aptBusinessObjectSummary": "a partner hears of it",
                                        "partnerCompany": {"partnerId": "supplier-1"}})["id"]
        send("submit-incident-to-partner:v1", {"id": inc})
        send("add-comment-for-incident:v1", {"processId": inc, "processType": "incident",
                                             "aptCommentBox": {"aptComment": {"commentText": "please look", "visibilityType": "Public"}}})
        send("edit-incident:v5", {"id": inc, "aptBusinessObjectDescription": "more detail"})
        send("close-incident:v1", {"id": inc})
        deadline = time.time() + 60
        while not any(e["data"]["objectId"] == inc and e["type"].endswith("close-incident:v1") for e in got):
            if time.time() > deadline:
                raise RuntimeError(f"the close did not arrive within 60 s; got {[e['type'] for e in got]}")
            arrived.wait(1)
            arrived.clear()
        feed = requests.get(f"{gw_url}/api/v1/changes", params={"limit": 1000}, auth=partner, timeout=30).json()["changes"]
    except (requests.RequestException, RuntimeError, OSError) as e:
        rep.fail(name, str(e))
        return
    finally:
        if srv is not None:
            srv.shutdown()
    hooked = [(e["type"], e["data"]["dataVersion"], e["data"]["licensePlate"]) for e in got if e["data"]["objectId"] == inc]
    fed = [(c["eventName"], c["dataVersion"], c["licensePlate"]) for c in feed if c["objectId"] == inc]
    problems = []
    if hooked != fed:
        problems.append(f"the deliveries {hooked} are not the feed's changes {fed}")
    if len(hooked) < 4:
        problems.append(f"only {len(hooked)} deliveries of the incident")
    if len({e["id"] for e in got}) != len(got):
        problems.append("a delivery was handled twice")
    rep.check(name, problems)


def check_follow_feed(gw_url, rep):
    """docs/feed.md's follower, as the partner: every change it may see once, then nothing more."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import contextlib
    import io
    import follow_feed
    name = "follow_feed.py: the partner follows the change feed, and a second run sees nothing twice"
    session = requests.Session()
    session.auth = ("supplier-key", "supplier-secret-0123456789")
    with tempfile.TemporaryDirectory(prefix="scwm-feed-") as tmp:
        cursor = os.path.join(tmp, "partner.cursor")
        try:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                first = follow_feed.follow_once(session, gw_url, cursor, limit=7)
                again = follow_feed.follow_once(session, gw_url, cursor, limit=7)
        except (requests.RequestException, RuntimeError) as e:
            rep.fail(name, str(e))
            return
        lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
        problems = []
        if first == 0:
            problems.append("the partner's feed is empty after the samples submitted incidents to it")
        if again != 0:
            problems.append(f"a second run handled {again} changes again")
        seen = [(line["change"]["objectId"], line["change"]["dataVersion"]) for line in lines]
        if len(set(seen)) != len(seen):
            problems.append("a change was handled twice")
        if any(line["change"]["kind"] == "incident" and not line.get("aptBusinessObjectId") and line.get("state") for line in lines):
            problems.append("an incident read back without its business id")
        rep.check(name, problems)


def check_graphql(gw_url, rep):
    """TraceLink's GraphQL scripts (examples/scwm-graphql/), changed only in URL, token and ids."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import graphql_scripts
    from catalogue_flows import ACME_GLN, ASPIRIN_NDC
    graphql_scripts.check_graphql_scripts(gw_url, rep, "acme-key", "acme-secret-0123456789", {
        "company": "acme", "network": "net-1", "YOUR_COMPANY_ID": ACME_GLN,
        "PARTNER_COMPANY_ID": MASTER_DATA["supplier-1"]["identifiers"][0]["value"],
        "YOUR_PRODUCT_ID": ASPIRIN_NDC, "ITEM_CODE_TYPE": "US_NDC532",
        "company_name": MASTER_DATA["acme"]["businessName"], "partner_name": MASTER_DATA["supplier-1"]["businessName"]})


# ---- Results -------------------------------------------------------------------------------------

class Report:
    """Counts and prints the checks, one line each."""

    def __init__(self):
        self.passed = self.failed = 0

    def fail(self, name, why, ans=None):
        self.failed += 1
        body = f" -- HTTP {ans.status} body: {ans.snippet()}" if ans is not None and ans.error is None else ""
        print(f"FAIL {name}: {why}{body}", flush=True)

    def check(self, name, problems, ans=None):
        """PASS when `problems` is empty; returns whether it passed."""
        if problems:
            self.fail(name, "; ".join(problems), ans)
        else:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        return not problems


class Answer:
    """One HTTP answer of the gateway (or the reason there was none)."""

    def __init__(self, status=None, text="", headers=None, error=None):
        self.status, self.text, self.headers, self.error = status, text, headers or {}, error
        try:
            self.body = json.loads(text) if text else None
        except ValueError:
            self.body = None

    @property
    def header(self):
        h = self.body.get("header") if isinstance(self.body, dict) else None
        return h if isinstance(h, dict) else {}

    @property
    def payload(self):
        p = self.body.get("payload") if isinstance(self.body, dict) else None
        return p if isinstance(p, dict) else {}

    def snippet(self, limit=2000):
        text = " ".join(self.text.split())
        return text if len(text) <= limit else text[:limit] + "..."


def response_event(event):
    """`app:action:vN` -> `app:action-response:vN`."""
    parts = event.split(":") if isinstance(event, str) else []
    return f"{parts[0]}:{parts[1]}-response:{parts[2]}" if len(parts) == 3 else None


def envelope_problems(ans, status, exception, event):
    """What is wrong with an answer that should have HTTP `status` (and `exception` if it is an error).
    The envelope itself is checked against the HTTP status it came with."""
    if ans.error:
        return [ans.error]
    h = ans.header
    problems = []
    if ans.status != status:
        got = f"HTTP {ans.status} {h.get('exceptionName') or ''} {h.get('errMsg') or ''}".strip()
        problems.append(f"{got}; expected HTTP {status} {exception or ''}".strip())
    if not h:
        return problems + ["the answer is not an envelope with a header"]
    is_err, code = ans.status != 200, "200_OK" if ans.status == 200 else str(ans.status)
    if h.get("isErr") is not is_err:
        problems.append(f"header.isErr is {h.get('isErr')!r} with HTTP {ans.status}")
    if h.get("errCode") != code:
        problems.append(f"header.errCode is {h.get('errCode')!r}, expected {code!r}")
    if exception and ans.status == status and h.get("exceptionName") != exception:
        problems.append(f"header.exceptionName is {h.get('exceptionName')!r}, expected {exception}")
    if is_err and (ans.body.get("payload") is not None or not h.get("errMsg") or not h.get("exceptionName")):
        problems.append("an error envelope needs errMsg, exceptionName and payload null")
    plate = h.get("licensePlate")
    if not isinstance(plate, str) or not 0 < len(plate) <= 16:
        problems.append(f"header.licensePlate {plate!r} is not 1-16 characters")
    elif ans.headers.get("X-License-Plate") != plate:
        problems.append("X-License-Plate HTTP header differs from header.licensePlate")
    want_event = response_event(event)
    if want_event and h.get("eventName") != want_event:
        problems.append(f"header.eventName is {h.get('eventName')!r}, expected {want_event!r}")
    return problems


# ---- The HTTP client -----------------------------------------------------------------------------

class Gateway:
    """A small client of `POST /api/events`."""

    def __init__(self, url, verbose=False):
        url = url.rstrip("/")
        self.url = url if url.endswith("/api/events") else url + "/api/events"
        self.verbose = verbose
        self.session = requests.Session()

    def post(self, auth, envelope=None, raw=None):
        """Send an envelope as JSON, or `raw` text as it is (for the samples that are not valid JSON)."""
        if raw is None:
            kwargs = {"json": envelope}
        else:
            kwargs = {"data": raw.encode(), "headers": {"Content-Type": "application/json"}}
        if self.verbose:
            print(f"  > POST {self.url} as {auth[0]}: {raw if raw is not None else json.dumps(envelope)}")
        try:
            r = self.session.post(self.url, auth=auth, timeout=30, **kwargs)
        except requests.RequestException as e:
            ans = Answer(error=f"request failed: {e}")
        else:
            ans = Answer(r.status_code, r.text, r.headers)
        if self.verbose:
            print(f"  < {ans.status}: {ans.error or ans.text}")
        return ans


# ---- One process type's samples and what the run learned about them ------------------------------

class TypeRun:
    def __init__(self, pt):
        self.pt = pt
        files = sorted((SAMPLES / pt).glob("*.json"))
        pick = lambda prefix: [f for f in files if f.name.startswith(prefix)]
        # Full add samples first: the first incident created is "the incident" of the whole flow.
        self.adds = sorted(pick("add"), key=lambda f: "MinFields" in f.name)
        # Edits in a natural order: base state, partner/impact, initial response, final response.
        order = lambda f: 0 if "BaseState" in f.name else 2 if "InitResp" in f.name else 3 if "FinalResp" in f.name else 1
        self.edits = sorted(pick("edit"), key=order)
        one = lambda prefix: (pick(prefix) or [None])[0]
        self.read, self.copy, self.close = one("read"), one("copy"), one("close")
        self.reopen, self.submit = one("reopen"), one("submit")   # internal manufacturing has no submit
        self.main = None             # the incident the flow works on
        self.main_submitted = False  # its add sample had isSubmittedToPartner: true
        self.partner_inc = None      # a submitted incident the partner can see
        self.comment_id = self.attachment_id = None
        self.dv = 0                  # the last dataVersion seen for the main incident
        self.plates = []             # license plates of every change to the main incident, in order

    def ids(self, incident):
        """Placeholder values known so far; unknown ones stay as they are."""
        return {"INCIDENT_ID": incident, "ITEM_ID": incident,
                "COMMENT_ID": self.comment_id, "ATTACHMENT_ID": self.attachment_id}


def stem(path):
    return path.stem.replace("PayloadTemplate", "")


def is_response_edit(payload):
    """Edits of the partner-response fields (`*Response` objects, submitInitial/FinalResponse)."""
    return any(k.endswith("Response") for k in payload)


# ---- The runner: one method per step of the flow -------------------------------------------------

class Runner(CatalogueFlows):
    samples_dir = SAMPLES

    def __init__(self, gw, rep, owner, partner, network, owner_auth, partner_auth, outsider=None):
        self.gw, self.rep = gw, rep
        self.owner, self.partner, self.network = owner, partner, network
        self.auth = {"owner": owner_auth, "partner": partner_auth}
        self.outsider = outsider     # (company, network, auth) of a company outside the network, if known
        self.used = set()            # sample files the run used

    # --- building and sending envelopes ---------------------------------------------------------

    def sample_text(self, path, ids=None, as_partner=False):
        """The sample's text with the placeholders replaced (only whole string values)."""
        self.used.add(path)
        text = path.read_text()
        values = {"YOUR_OWNER_ID": self.partner if as_partner else self.owner,
                  "YOUR_PROCESS_NETWORK_ID": self.network, "PARTNER_COMPANY_ID": self.partner, **(ids or {})}
        for token, value in values.items():
            if value is not None:
                text = text.replace(f'"{token}"', json.dumps(value))
        return text

    def envelope(self, path, ids=None, as_partner=False, pt=None):
        """A sample as an envelope. Two published read samples lack their final `}`: repaired here."""
        text = self.sample_text(path, ids, as_partner)
        try:
            env = json.loads(text)
        except ValueError:
            env = json.loads(text.rstrip() + "\n}\n")
        # What a user changes: act as our own company (the history sample hard-codes "tracelink").
        env["header"]["ownerId"] = self.partner if as_partner else self.owner
        if pt is not None:          # shared samples: run them for this process type
            env["payload"]["processType"] = pt
        return env

    def call(self, name, env, status=200, exception=None, who="owner", check=None, needs=()):
        """Send, check the status and the envelope (and `check(payload)` on success), record one line.
        Returns (payload or None if the check failed, the answer). A step whose `needs` (ids made by
        earlier steps) are missing is reported as failed without being sent."""
        if any(v is None for v in needs):
            self.rep.fail(name, "not run: an earlier step that creates the incident/comment it needs failed")
            return None, None
        auth = self.outsider[2] if who == "outsider" else self.auth[who]
        ans = self.gw.post(auth, envelope=env)
        problems = envelope_problems(ans, status, exception, env["header"].get("eventName"))
        if not problems and check is not None:
            problems = check(ans.payload)
        warnings = ans.header.get("warnings") or []
        for w in [warnings] if isinstance(warnings, str) else warnings:
            print(f"  warning from the gateway ({name}): {w}")
        ok = self.rep.check(name, problems, ans)
        return (ans.payload if ok else None), ans

    # --- reusable checks ------------------------------------------------------------------------

    def changed(self, tr, target):
        """Check for edit/close/reopen/submit answers: {"id", "dataVersion"} with a growing version."""
        def check(p):
            dv, problems = p.get("dataVersion"), []
            if p.get("id") != target:
                problems.append(f"payload.id is {p.get('id')!r}, expected {target}")
            if not isinstance(dv, int) or isinstance(dv, bool):
                problems.append("payload.dataVersion is missing")
            elif target == tr.main and dv <= tr.dv:
                problems.append(f"dataVersion {dv} is not above the previous {tr.dv}")
            return problems
        return check

    def track(self, tr, target, ans, payload):
        """Remember the license plate of a successful change of the main incident (for its history)."""
        if payload is not None and target == tr.main:
            tr.plates.append(ans.header.get("licensePlate"))
            if isinstance(payload.get("dataVersion"), int):
                tr.dv = payload["dataVersion"]

    def read(self, tr, name, incident, who="owner", status=200, exception=None, **want):
        """Read with the type's read sample; `want` names what the record must show."""
        env = self.envelope(tr.read, {"INCIDENT_ID": incident}, as_partner=(who == "partner"))
        reader = self.partner if who == "partner" else self.owner

        def check(rec):
            data = rec.get("data") if isinstance(rec.get("data"), dict) else {}
            problems = []
            expect = [("id", rec.get("id"), incident), ("objectType", rec.get("objectType"),
                      f"agile-process-teams:{tr.pt}"), ("contextualOwnerId", rec.get("contextualOwnerId"), reader)]
            expect += [("currentBaseState", rec.get("currentBaseState"), want["state"])] if "state" in want else []
            expect += [("dataVersion", rec.get("dataVersion"), want["dv"])] if "dv" in want else []
            expect += [("data.aptBusinessObjectSummary", data.get("aptBusinessObjectSummary"), want["summary"])
                       ] if want.get("summary") else []
            problems += [f"{k} is {got!r}, expected {exp!r}" for k, got, exp in expect if got != exp]
            name_, n = data.get("aptBusinessObjectId"), data.get("aptBusinessObjectIntegerIdentifier")
            if not (isinstance(name_, str) and name_.startswith("INC-") and name_[4:].isdigit() and n == int(name_[4:])):
                problems.append(f"data.aptBusinessObjectId {name_!r} / IntegerIdentifier {n!r} are not INC-<n> / n")
            if "submitted" in want and bool(data.get("isSubmittedToPartner")) != want["submitted"]:
                problems.append(f"data.isSubmittedToPartner is {data.get('isSubmittedToPartner')!r}")
            concl = data.get("incidentConclusion")
            if want.get("concluded") is True and not (isinstance(concl, dict) and concl.get("resolutionType")):
                problems.append(f"data.incidentConclusion is {concl!r}, expected it set")
            if want.get("concluded") is False and concl is not None:
                problems.append(f"data.incidentConclusion is {concl!r}, expected null")
            if isinstance(rec.get("dataVersion"), int) and incident == tr.main:
                tr.dv = max(tr.dv, rec["dataVersion"])
            return problems

        return self.call(name, env, status, exception, who, check if status == 200 else None, (incident,))[0]

    def list_comments(self, tr, name, incident, who="owner", check=None):
        env = self.envelope(SHARED / "listCommentsPayloadTemplate.json", tr.ids(incident),
                            as_partner=(who == "partner"), pt=tr.pt)
        env["payload"]["id"] = incident

        def full_check(p):
            if p.get("id") != incident or not isinstance(p.get("comments"), list):
                return [f'payload is not {{"id": {incident}, "comments": [...]}}']
            return check(p["comments"]) if check else []
        p, _ = self.call(name, env, who=who, check=full_check, needs=(incident,))
        return p["comments"] if p else None

    def add_comment(self, tr, name, incident, who="owner", comment=None):
        """The shared add-comment sample (or a variant with `comment` as its only comment)."""
        env = self.envelope(SHARED / "addCommentPayloadTemplate.json", tr.ids(incident),
                            as_partner=(who == "partner"), pt=tr.pt)
        env["payload"]["processId"] = incident
        if comment is not None:
            env["payload"]["aptCommentBox"] = {"aptComment": [comment]}
        id_check = lambda p: [] if isinstance(p.get("id"), str) else ["payload.id (the comment id) is missing"]
        p, ans = self.call(name, env, who=who, check=id_check, needs=(incident,))
        self.track(tr, incident, ans, p)
        return p.get("id") if p else None

    def history(self, tr, name):
        """Activity history of the main incident: one entry per change, oldest first, our plates."""
        env = self.envelope(SHARED / "getActivityHistoryPayloadTemplate.json", tr.ids(tr.main), pt=tr.pt)
        env["payload"]["id"] = tr.main

        def check(p):
            acts = p.get("activities")
            if p.get("id") != tr.main or not isinstance(acts, list):
                return [f'payload is not {{"id": {tr.main}, "activities": [...]}}']
            plates = [a.get("licensePlate") if isinstance(a, dict) else None for a in acts]
            if None in plates:
                return ["an activity has no licensePlate"]
            if plates != tr.plates:
                return [f"license plates {plates} are not those of the changes, oldest first: {tr.plates}"]
            return []
        self.call(name, env, check=check, needs=(tr.main,))

    # --- the steps ------------------------------------------------------------------------------

    def step_add(self, tr):
        """1. Every add sample; each must read back New, dataVersion 1, INC-<n>."""
        for f in tr.adds:
            name = f"{tr.pt}: add {stem(f)}"
            env = self.envelope(f)
            p, ans = self.call(name, env, check=lambda p: [] if isinstance(p.get("id"), str) else ["no payload.id"])
            if p is None:
                continue
            submitted = env["payload"].get("isSubmittedToPartner") is True
            if tr.main is None:
                tr.main, tr.main_submitted = p["id"], submitted
                self.track(tr, tr.main, ans, {"dataVersion": 1})
            self.read(tr, f"{name} -> read", p["id"], state="New", dv=1, submitted=submitted,
                      summary=env["payload"].get("aptBusinessObjectSummary"))

    def step_malformed_read(self, tr):
        """The published read samples that are not valid JSON: sent as they are -> 400, line 11."""
        text = self.sample_text(tr.read, tr.ids(tr.main))
        try:
            json.loads(text)
            return
        except ValueError:
            pass
        ans = self.gw.post(self.auth["owner"], raw=text)
        problems = envelope_problems(ans, 400, "MalformedEnvelopeException", None)
        if not problems and "line 11" not in (ans.header.get("errMsg") or ""):
            problems = ["errMsg does not point at line 11"]
        self.rep.check(f"{tr.pt}: {stem(tr.read)} as published (not valid JSON) -> 400", problems, ans)
        self.read(tr, f"{tr.pt}: {stem(tr.read)} repaired (closing brace added)", tr.main)

    def step_edits(self, tr):
        """2. Every edit sample, as the owner (who may edit everything, partner responses included)."""
        for f in tr.edits:
            name = f"{tr.pt}: edit {stem(f)}"
            env = self.envelope(f, tr.ids(tr.main))
            # The published editIncidentPayloadTemplate.json has no "id": without it the gateway cannot
            # know which incident is meant, so the id is added (the other edit samples carry ITEM_ID).
            env["payload"].setdefault("id", tr.main)
            p, ans = self.call(name, env, check=self.changed(tr, tr.main), needs=(tr.main,))
            self.track(tr, tr.main, ans, p)
            if p is not None and "newBaseState" in env["payload"]:
                self.read(tr, f"{name} -> read shows UnderInvestigation", tr.main, state="UnderInvestigation")

    def step_submit(self, tr):
        """3. Submit to the partner: 200 on an unsubmitted incident, 409 the second time."""
        if tr.submit is None:     # internal manufacturing: no partner, never visible to one
            self.read(tr, f"{tr.pt}: partner read -> 404", tr.main, "partner", 404, "ObjectNotFoundException")
            return
        # Submitting needs a partner in the network, so the fresh incident names one. (The main incident
        # may be submitted by its add sample already, and the incident edit sample names another partner.)
        env = self.envelope(tr.adds[0])
        field = "responsibleEntity" if tr.pt == "incident" else "partnerCompany"
        env["payload"] = {"aptBusinessObjectSummary": f"{tr.pt} to submit to the partner",
                          field: {"partnerId": self.partner, "toIdType": "companyMasterData"}}
        p, _ = self.call(f"{tr.pt}: add an unsubmitted incident (to submit)", env,
                         check=lambda p: [] if isinstance(p.get("id"), str) else ["no payload.id"])
        fresh = p["id"] if p else None
        self.read(tr, f"{tr.pt}: partner read before submit -> 404", fresh, "partner", 404, "ObjectNotFoundException")
        name = f"{tr.pt}: {stem(tr.submit)}"
        p, _ = self.call(name, self.envelope(tr.submit, tr.ids(fresh)), check=self.changed(tr, fresh), needs=(fresh,))
        if p is not None:
            tr.partner_inc = fresh
            self.read(tr, f"{name} -> read shows it submitted", fresh, submitted=True)
        self.call(f"{name} again -> 409", self.envelope(tr.submit, tr.ids(fresh)), 409,
                  "InvalidStateTransitionException", needs=(fresh,))
        if tr.main_submitted:
            self.call(f"{name} on the incident its add sample submitted -> 409", self.envelope(
                tr.submit, tr.ids(tr.main)), 409, "InvalidStateTransitionException", needs=(tr.main,))
            tr.partner_inc = tr.main   # the partner-side checks use the richer sample incident

    def step_partner(self, tr):
        """4. The partner company reads, lists comments, comments, and edits its response."""
        target, pt = tr.partner_inc, tr.pt
        if tr.submit is None:
            return
        self.read(tr, f"{pt}: partner read of the submitted incident", target, "partner")
        self.list_comments(tr, f"{pt}: partner list-comments", target, "partner")
        self.add_comment(tr, f"{pt}: partner add-comment", target, "partner")
        for f in [f for f in tr.edits if is_response_edit(json.loads(self.sample_text(f))["payload"])][:1]:
            p, ans = self.call(f"{pt}: partner {stem(f)} (a partner-response edit, as {self.partner})",
                               self.envelope(f, tr.ids(target), as_partner=True), who="partner",
                               check=self.changed(tr, target), needs=(target,))
            self.track(tr, target, ans, p)
        if self.outsider:
            env = self.envelope(tr.read, tr.ids(tr.main))
            env["header"].update(ownerId=self.outsider[0], processNetworkId=self.outsider[1])
            self.call(f"{pt}: a company outside the network reads it -> 404", env, 404, "ObjectNotFoundException",
                      who="outsider", needs=(tr.main,))

    def step_shared(self, tr):
        """5. The shared samples: comments, follow, activity history."""
        pt = tr.pt
        tr.comment_id = self.add_comment(tr, f"{pt}: add-comment", tr.main)

        def find_attachment(comments):   # ATTACHMENT_ID of the edit-comment sample, if the gateway has one
            for c in comments:
                if isinstance(c, dict) and tr.comment_id in (c.get("id"), c.get("commentId")):
                    tr.attachment_id = find_id_under(c, "ttachment")
            return [] if tr.comment_id in json.dumps(comments) else ["the new comment is not listed"]
        self.list_comments(tr, f"{pt}: list-comments (owner)", tr.comment_id and tr.main, check=find_attachment)
        env = self.envelope(SHARED / "editCommentForProcessRespPayloadTemplate.json", tr.ids(tr.main), pt=pt)
        env["payload"].update(id=tr.main, commentId=tr.comment_id)
        edited = env["payload"]["aptCommentBox"]["aptComment"]["commentText"]
        p, ans = self.call(f"{pt}: edit-comment", env, needs=(tr.main, tr.comment_id))
        self.track(tr, tr.main, ans, p)
        if p is not None:
            self.list_comments(tr, f"{pt}: edit-comment -> list-comments shows the new text", tr.main,
                               check=lambda cs: [] if edited in json.dumps(cs) else ["the edited text is missing"])
        # An internal comment on the partner's incident: the partner must not see it.
        marker = f"Internal note on this {pt}: partners must not see this"
        if tr.partner_inc and self.add_comment(tr, f"{pt}: add an Internal comment", tr.partner_inc,
                                               comment={"commentText": marker, "visibilityType": "Internal"}):
            def no_hidden(comments):
                hidden = [c for c in comments if isinstance(c, dict) and str(c.get("visibilityType") or (
                    c.get("aptComment") or {}).get("visibilityType") or "").lower() in HIDDEN_FROM_PARTNER]
                seen = hidden or marker in json.dumps(comments)
                return ["the partner sees Internal/ownerOnly comments"] if seen else []
            self.list_comments(tr, f"{pt}: partner list-comments hides internal comments", tr.partner_inc,
                               "partner", no_hidden)
        env = self.envelope(SHARED / "toggleUserFollowsProcessPayloadTemplate.json", tr.ids(tr.main), pt=pt)
        env["payload"]["id"] = tr.main
        follows = lambda p: [] if p.get("id") == tr.main and p.get("following") is True else [
            'payload is not {"id", "following": true}']
        p, ans = self.call(f"{pt}: toggle-user-follows", env, check=follows, needs=(tr.main,))
        self.track(tr, tr.main, ans, p)   # following changes data.followerId: a change of the incident
        self.history(tr, f"{pt}: get-activity-history")

    def step_close(self, tr):
        """6. Close; then an edit and a second close answer 409."""
        name = f"{tr.pt}: {stem(tr.close)}"
        p, ans = self.call(name, self.envelope(tr.close, tr.ids(tr.main)), check=self.changed(tr, tr.main),
                           needs=(tr.main,))
        self.track(tr, tr.main, ans, p)
        if p is None:
            return
        self.read(tr, f"{name} -> read shows Closed", tr.main, state="Closed", concluded=True)
        edit = self.envelope(tr.edits[0], tr.ids(tr.main))
        edit["payload"].setdefault("id", tr.main)
        self.call(f"{tr.pt}: {stem(tr.edits[0])} on the closed incident -> 409", edit, 409,
                  "InvalidStateTransitionException")
        self.call(f"{name} again -> 409", self.envelope(tr.close, tr.ids(tr.main)), 409,
                  "InvalidStateTransitionException")

    def step_reopen(self, tr):
        """7. Reopen; a second reopen answers 409."""
        name = f"{tr.pt}: {stem(tr.reopen)}"
        p, ans = self.call(name, self.envelope(tr.reopen, tr.ids(tr.main)), check=self.changed(tr, tr.main),
                           needs=(tr.main,))
        self.track(tr, tr.main, ans, p)
        if p is None:
            return
        self.read(tr, f"{name} -> read shows UnderInvestigation", tr.main, state="UnderInvestigation",
                  concluded=False)
        self.call(f"{name} again -> 409", self.envelope(tr.reopen, tr.ids(tr.main)), 409,
                  "InvalidStateTransitionException")

    def step_copy(self, tr):
        """8. Copy: a new New incident with the copy sample's summary."""
        name = f"{tr.pt}: {stem(tr.copy)}"
        env = self.envelope(tr.copy, tr.ids(tr.main))
        p, _ = self.call(name, env, check=lambda p: [] if isinstance(p.get("id"), str) and p["id"] != tr.main
                         else ["payload.id is not a new id"], needs=(tr.main,))
        if p is not None:
            self.read(tr, f"{name} -> read the copy", p["id"], state="New", dv=1,
                      summary=env["payload"].get("aptBusinessObjectSummary"))

    def step_history(self, tr):
        """9. The activity history names every change above, oldest first, with its license plate."""
        self.history(tr, f"{tr.pt}: activity history after all the changes")

    def run_type(self, pt):
        tr = TypeRun(pt)
        steps = [self.step_add, self.step_malformed_read, self.step_edits, self.step_submit, self.step_partner,
                 self.step_shared, self.step_close, self.step_reopen, self.step_copy, self.step_history]
        for step in steps:
            try:
                step(tr)
            except Exception as e:   # a bug or a surprising answer must not stop the run
                self.rep.fail(f"{pt}: {step.__name__}", f"the script failed: {type(e).__name__}: {e}")

    # --- the catalogue kinds: every create and change read back, as the incident steps do -------
    # catalogue_flows.py sends the samples of changeRequest/, task/, taskTemplate/ and masterData/ through
    # create() and change(). Here each success is also read back with the kind's read event: what a user
    # then sees must be what the event did (state, dataVersion, number, conclusion, the comment it carried).

    def create(self, name, env, who="owner"):
        new, ans = super().create(name, env, who)
        action = action_of(env)
        kind = ACTION_KIND.get(action)
        if new is None or kind not in READ_KIND:
            return new, ans
        read_event, prefix, summary_field, initial = READ_KIND[kind]
        payload = env["payload"]
        want = {"state": initial, "dataVersion": 1, "objectType": f"agile-process-teams:{kind}",
                "data__aptBusinessObjectId": lambda v: isinstance(v, str) and v.startswith(prefix)}
        if summary_field in payload:
            want[f"data__{summary_field}"] = payload[summary_field]
        if kind == "subTask":
            want["data__taskId"] = payload.get("taskId")
            want["data__isSubmittedToPartner"] = payload.get("isSubmittedToPartner") is True
        self.read_as(f"{name} -> {read_event} shows {prefix}<n>, {initial}, dataVersion 1",
                     self.own(read_event, {}, who), new, who, **want)
        if kind == "subTask" and payload.get("isSubmittedToPartner") is True:
            self.read_as(f"{name} -> the partner reads its sub-task", self.own(read_event, {}, "partner"), new,
                         "partner", contextualOwnerId=self.partner)
        if action == "copy-change":   # the copy sample sends copyPartnerInfo false, copyImpactInfo true
            self.read_as(f"{name} -> the copy has the impact but not the partner", self.own(read_event, {}, who), new,
                         who, data__partnerCompany=None, data__changeImpact=lambda v: isinstance(v, dict) and bool(v))
        return new, ans

    def change(self, name, env, target, plates=None, who="owner", status=200, exception=None):
        p = super().change(name, env, target, plates, who, status, exception)
        action = action_of(env)
        kind = ACTION_KIND.get(action)
        if p is None or status != 200 or kind not in READ_KIND:
            return p
        read_event = READ_KIND[kind][0]
        payload, conclusion = env["payload"], f"data__{kind}Conclusion"
        want, shows = {"dataVersion": p.get("dataVersion")}, []
        state = payload.get("newBaseState") or (
            "Closed" if action.startswith("close-") else REOPENED.get(kind) if action.startswith("reopen-")
            else "Removed" if action.startswith("remove-") else None)
        if state:
            want["state"] = state
            shows.append(state)
        if action.startswith("close-"):
            want[conclusion] = lambda v: isinstance(v, dict) and bool(v.get("dateClosed"))
            shows.append("its conclusion")
        elif action.startswith("reopen-"):
            want[conclusion] = None
            shows.append("no conclusion")
        if action.startswith("submit-"):
            want["data__isSubmittedToPartner"] = True
            shows.append("submitted")
        shows.append(f"dataVersion {p.get('dataVersion')}")
        self.read_as(f"{name} -> {read_event} shows {', '.join(shows)}", self.own(read_event, {}, who), target, who,
                     **want)
        box = payload.get("aptCommentBox")
        comment = box.get("aptComment") if isinstance(box, dict) else None
        if isinstance(comment, dict) and comment.get("commentText") and kind in ("change", "task"):
            self.comment_listed(name, kind, target, comment)
        return p

    def comments_env(self, kind, target, who="owner"):
        event = "list-comments-for-change:v1" if kind == "change" else "list-comments-for-process:v1"
        return self.own(event, {"processId": target, "processType": kind}, who)

    def comment_listed(self, name, kind, target, comment):
        """The comment a change event carried is listed for the owner; an ownerOnly/internal one is never
        listed for the partner."""
        text = comment["commentText"]
        listed = lambda p: [] if any(isinstance(c, dict) and c.get("commentText") == text
                                     for c in p.get("comments") or []) else [f"{text!r} is not listed"]
        self.call(f"{name} -> its comment is listed", self.comments_env(kind, target), check=listed)
        if kind == "change" and str(comment.get("visibilityType", "")).lower() in HIDDEN_FROM_PARTNER:
            ans = self.gw.post(self.auth["partner"], envelope=self.comments_env(kind, target, "partner"))
            problems = envelope_problems(ans, 200, None, "agile-process-teams:list-comments-for-change:v1")
            if ans.status == 404:    # the change is not visible to the partner at all: hidden too
                problems = envelope_problems(ans, 404, "ObjectNotFoundException", None)
            elif not problems and text in json.dumps(ans.payload):
                problems = [f"the partner sees the {comment.get('visibilityType')} comment {text!r}"]
            self.rep.check(f"{name} -> the partner does not see its {comment.get('visibilityType')} comment",
                           problems, ans)

    def run_task_without_template(self):
        """add-task without templateId: only the payload's fields, no sub-tasks; and a close refused by one."""
        s = lambda n: self.sample("task", n)
        add = s("addTaskPayloadTemplate.json")
        # As published, templateId is the placeholder TEMPLATE_ID: no template has that id.
        _, ans = self.call("task: add-task with templateId left as TEMPLATE_ID -> 400", self.envelope(add), 400,
                           "SchemaValidationException")
        if ans is not None and ans.status == 400:
            self.rep.check("task: ... its errMsg names $.templateId", [] if "$.templateId" in (
                ans.header.get("errMsg") or "") else ["errMsg does not name $.templateId"], ans)
        env = self.envelope(add)
        del env["payload"]["templateId"]
        task, _ = self.create("task: add-task without templateId", env)
        self.read_as("task: the task without a template has only the sample's fields", self.own("read-task:v3", {}),
                     task, data__templateId=None, data__completionDueDate=1672489485000, data__businessPriority="LOW",
                     data__responsibleDepartmentAtCompany=None,
                     data__aptBusinessObjectDescription="simple test of payload")
        self.listed("task: the task without a template has no sub-tasks", self.list_of(task),
                    check=lambda rs: [] if rs == [] else [f"listed {rs}"])
        self.call("task: the add's ownerOnly comment is listed for the owner", self.comments_env("task", task),
                  check=lambda p: [] if "my comment" in json.dumps(p.get("comments")) else ["'my comment' is missing"],
                  needs=(task,))
        sub, _ = self.create("task: add-sub-task-to-task (on the task without a template)",
                             self.envelope(s("addTaskSubTaskPayloadTemplate.json"), {"TASK_ID": task}))
        number = [None]

        def only_sub(rs):
            number[0] = data_field(rs[0], "aptBusinessObjectId") if rs else None
            ids = [r.get("id") for r in rs]
            return [] if ids == [sub] else [f"listed {ids}, expected [{sub}]"]
        self.listed("task: list-sub-task-for-task shows that one sub-task", self.list_of(task), check=only_sub)
        close = s("closeTaskPayloadTemplate.json")
        env = self.envelope(close, {"ITEM_ID": task})
        _, ans = self.call("task: close-task with a New sub-task -> 409", env, 409, "InvalidStateTransitionException",
                           needs=(task, sub))
        if ans is not None and ans.status == 409:
            msg = ans.header.get("errMsg") or ""
            named = number[0] and f"{number[0]} (New)" in msg
            self.rep.check("task: ... its errMsg names the open sub-task", [] if named else [
                f"errMsg does not name {number[0]} (New)"], ans)
        self.change("task: remove-sub-task-from-task (its only sub-task)",
                    self.envelope(s("removeSubTaskFromTaskPayloadTemplate.json")), sub)
        self.change("task: close-task once its only sub-task is Removed", self.envelope(close), task)

    def read_as(self, name, env, target, who="owner", status=200, exception=None, check_with=None, **want):
        """catalogue_flows' read_as, plus `check_with(record)` for what `want` cannot say."""
        if check_with is None:
            return super().read_as(name, env, target, who, status, exception, **want)
        env["payload"] = {"id": target}
        return self.call(name, env, status, exception, who, check_with, (target,))[0]

    def run_templates(self):
        self.template = super().run_templates()   # the template the task flows make tasks from
        return self.template

    def run_task_due_dates(self):
        """add-task from the template without completionDueDate: the template's days set it, and the
        sub-task template's days set its sub-task's subTaskDueDate (both from the task's creation)."""
        tmpl, day = getattr(self, "template", None), 24 * 3600 * 1000
        env = self.envelope(self.sample("task", "addTaskPayloadTemplate.json"), {"TEMPLATE_ID": tmpl})
        del env["payload"]["completionDueDate"]
        name = "task: add-task from the template, completionDueDate left out"
        task, _ = self.create(name, env) if tmpl else (None, None)
        tmpl_rec = self.read_as("taskTemplate: read the template's days", self.own("read-taskTemplate:v1", {}), tmpl)
        days = data_field(tmpl_rec, "completionRequiredWithinDays") if tmpl_rec else None
        created = [None]

        def due(rec):
            created[0] = rec.get("creationDateTime")
            got, want = data_field(rec, "completionDueDate"), (created[0] or 0) + (days or 0) * day
            return [] if isinstance(days, int) and got == want else [
                f"completionDueDate {got!r}, expected creationDateTime + {days} days = {want}"]
        self.read_as("task: ... completionDueDate = creation + the template's completionRequiredWithinDays",
                     self.own("read-task:v3", {}), task, check_with=due)

        def sub_due(rs):
            sub_days = 7   # the add-sub-task-to-template sample's completionRequiredWithinDays
            problems = [f"{data_field(r, 'aptBusinessObjectId')}: subTaskDueDate {data_field(r, 'subTaskDueDate')!r},"
                        f" expected the task's creation + {sub_days} days" for r in rs
                        if created[0] is None or data_field(r, "subTaskDueDate") != created[0] + sub_days * day]
            return problems or ([] if rs else ["no sub-task was made from the template"])
        self.listed("task: ... its sub-task's subTaskDueDate = creation + the sub-task template's days",
                    self.list_of(task), check=sub_due)

    def run_master(self):
        super().run_master()
        s = lambda n: self.sample("masterData", n)
        acme_gln = MASTER_DATA["acme"]["identifiers"][0]["value"]
        ndc = MASTER_DATA["acme"]["products"][0]["itemCodes"][0]["value"]
        self.call("masterData: get-partner-by-regulatory-identifier with the owner's own GLN -> 404 (not a partner)",
                  patch_payload(self.envelope(s("queryPartnerMasterTemplate.json"), {"YOUR_PARTNER_ID": acme_gln}),
                                regulatoryCompanyIdentifierType="GLN"), 404, "ObjectNotFoundException")
        self.call("masterData: get-company-by-regulatory-identifier, identifier type in lower case (gln) -> found",
                  patch_payload(self.envelope(s("queryCompanyMasterTemplate.json"), {"YOUR_COMPANY_ID": acme_gln}),
                                regulatoryCompanyIdentifierType="gln"),
                  check=lambda p: [] if p.get("id") == self.owner else [f"answered {p}"])
        if self.outsider:
            env = self.envelope(s("queryProductMasterTemplate.json"), {"YOUR_PRODUCT_ID": ndc})
            env["header"]["ownerId"] = self.outsider[0]
            self.call("masterData: get-product-by-itemcode from a company sharing no network -> 404", env, 404,
                      "ObjectNotFoundException", who="outsider")

    def run_catalogue(self):
        super().run_catalogue()
        for name, flow in (("task flow (without a template)", self.run_task_without_template),
                           ("task flow (due dates from the template)", self.run_task_due_dates)):
            try:
                flow()
            except Exception as e:   # a bug or a surprising answer must not stop the run
                self.rep.fail(name, f"the script failed: {type(e).__name__}: {e}")

    def answer_problems(self, ans, status, exception, event):
        return envelope_problems(ans, status, exception, event)

    def run(self):
        for pt in PROCESS_TYPES:
            self.run_type(pt)
        self.run_catalogue()
        missing = sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.json") if p not in self.used)
        self.rep.check("every published sample is part of the run", [f"not sent: {', '.join(missing)}"] if missing else [])


def find_id_under(obj, key_part):
    """The id of the first object listed under a key containing `key_part` (a comment's attachments)."""
    if isinstance(obj, list):
        return next(filter(None, (find_id_under(v, key_part) for v in obj)), None)
    for k, v in obj.items() if isinstance(obj, dict) else ():
        items = v if key_part in k and isinstance(v, list) else []
        ids = [i.get("id") or i.get("attachmentId") for i in items if isinstance(i, dict)]
        found = next((i for i in ids if isinstance(i, str)), None) or find_id_under(v, key_part)
        if found:
            return found
    return None


# ---- A throw-away gateway: built, seeded and started here, stopped with SIGTERM at the end -------

class StartError(Exception):
    pass


class LocalGateway:
    def __init__(self, verbose=False):
        self.tmp = Path(tempfile.mkdtemp(prefix="scwm-samples-"))
        self.proc = self.addr = None
        self.verbose = verbose
        self.log_tail = collections.deque(maxlen=40)   # the child's last stderr lines, for diagnostics
        self.listening = threading.Event()
        self.reader = None

    def start(self, timeout):
        deadline = time.monotonic() + timeout          # covers the build and the start
        binary = self.tmp / "scwm-gateway"
        try:
            build = subprocess.run(["go", "build", "-o", str(binary), "./cmd/scwm-gateway"], cwd=REPO,
                                   capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise StartError(f"go build: {e}")
        if build.returncode != 0:
            raise StartError(f"go build failed: {build.stderr.strip()}")
        seed = self.tmp / "seed.json"
        seed.write_text(json.dumps(SEED, indent=2))
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--addr", "127.0.0.1:0", "--data-dir", str(self.tmp / "data"), "--seed", str(seed),
             # the webhook check's receiver listens on loopback, over http
             "--webhook-allow-private", "--webhook-allow-http"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "SCWM_LOG_FORMAT": "json"})
        # Drain stderr for the whole run (a full pipe would block the gateway); spot the "listening" line.
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        while not self.listening.wait(0.05):
            if self.proc.poll() is not None:
                raise StartError(f"the gateway exited with {self.proc.returncode} before listening")
            if time.monotonic() > deadline:
                raise StartError(f"no 'listening' log line within {timeout:.0f}s")
        return f"http://{self.addr}"

    def _read_log(self):
        for line in self.proc.stderr:
            self.log_tail.append(line.rstrip())
            if self.verbose:
                print(f"  [gateway] {line.rstrip()}")
            if not self.listening.is_set():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("message") == "listening" and entry.get("addr"):
                    self.addr = entry["addr"]
                    self.listening.set()

    def stop(self, rep):
        """SIGTERM, then kill if it has not exited within 10 s; remove the temp dir."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(10)
                rep.check("gateway exits cleanly on SIGTERM", [] if code == 0 else [f"exit code {code}"])
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rep.fail("gateway exits cleanly on SIGTERM", "still running 10 s after SIGTERM: killed")
        if self.reader is not None:
            self.reader.join(5)
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running gateway (base URL); without it one is built and started here")
    for flag in ("owner-key", "owner-secret", "partner-key", "partner-secret", "owner", "partner", "network"):
        ap.add_argument(f"--{flag}", help="with --url")
    ap.add_argument("--start-timeout", type=float, default=120, help="seconds for build and start (default 120)")
    ap.add_argument("--verbose", action="store_true", help="print every request and response")
    args = ap.parse_args()

    rep, local = Report(), None
    try:
        if args.url:
            missing = [f"--{k.replace('_', '-')}" for k in ("owner_key", "owner_secret", "partner_key",
                       "partner_secret", "owner", "partner", "network") if not getattr(args, k)]
            if missing:
                ap.error(f"--url needs {' '.join(missing)}")
            runner = Runner(Gateway(args.url, args.verbose), rep, args.owner, args.partner, args.network,
                            (args.owner_key, args.owner_secret), (args.partner_key, args.partner_secret))
        else:
            local = LocalGateway(args.verbose)
            try:
                url = local.start(args.start_timeout)
            except StartError as e:
                tail = " | ".join(local.log_tail)
                rep.fail("gateway start", " ".join(str(e).split()) + (f" -- log: {tail}" if tail else ""))
                runner = None
            else:
                print(f"gateway listening on {url} (temp dir {local.tmp})", flush=True)
                runner = Runner(Gateway(url, args.verbose), rep, "acme", "supplier-1", "net-1",
                                ("acme-key", "acme-secret-0123456789"),
                                ("supplier-key", "supplier-secret-0123456789"),
                                outsider=("other-co", "net-2", ("other-key", "other-secret-0123456789")))
        if runner is not None:
            runner.run()
            if local is not None:
                check_rest(url, rep)
                check_session_token(url, rep)
                check_graphql(url, rep)
                check_follow_feed(url, rep)
                check_webhooks(url, rep)
    except KeyboardInterrupt:
        rep.fail("run", "interrupted")
    finally:
        if local is not None:
            local.stop(rep)
    print(f"{rep.passed} passed, {rep.failed} failed", flush=True)
    return 0 if rep.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
