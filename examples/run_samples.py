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
            [str(binary), "serve", "--addr", "127.0.0.1:0", "--data-dir", str(self.tmp / "data"), "--seed", str(seed)],
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
    except KeyboardInterrupt:
        rep.fail("run", "interrupted")
    finally:
        if local is not None:
            local.stop(rep)
    print(f"{rep.passed} passed, {rep.failed} failed", flush=True)
    return 0 if rep.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
