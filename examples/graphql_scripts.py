#!/usr/bin/env python3
"""Run TraceLink's GraphQL scripts (examples/scwm-graphql/) against an scwm-gateway, changed only in URL, token and ids.

Each script is copied with its placeholders replaced (the URL, `YOUR_TOKEN`, `YOUR_COMPANY_ID`,
`YOUR_PROCESS_NETWORK_ID`, `YOUR_ID`, `PARTNER_COMPANY_ID`, `YOUR_PRODUCT_ID`, `ITEM_CODE_TYPE`), run with
this Python, and what it prints is checked. Per folder the scripts run as a user would: add, comment, edit,
list the comments, the activity history, read. run_samples.py calls check_graphql_scripts; on its own:

    python3 examples/graphql_scripts.py --url http://127.0.0.1:8080 --key K --secret S \
        --company acme --network net-1 --company-gln G --partner-gln P --product-code CODE --product-type TYPE
"""
from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scwm-graphql"

# The order a user runs a folder's scripts in.
STEPS = ["add", "comment", "edit", "list", "history", "read"]


def step_of(name: str) -> str:
    n = name.lower()
    if n.startswith("add") and "comment" in n:
        return "comment"
    steps = (("add", ["add"]), ("edit", ["edit", "eddit"]), ("list", ["list"]),
             ("history", ["history", "activity"]), ("read", ["read"]))
    for step, words in steps:
        if any(n.startswith(w) for w in words):
            return step
    for step, words in steps:
        if any(w in n for w in words):
            return step
    return "other"


def substitute(src: str, url: str, token: str, ids: dict) -> str:
    src = src.replace("https://valvir-opus.tracelink.com", url)
    src = src.replace("Basic YOUR_TOKEN", "Basic " + token)
    # The headers name the company and network; elsewhere YOUR_COMPANY_ID is the company's identifier (GLN).
    src = src.replace("'companyId': 'YOUR_COMPANY_ID'", f"'companyId': '{ids['company']}'")
    src = src.replace("'processNetworkId': 'YOUR_PROCESS_NETWORK_ID'", f"'processNetworkId': '{ids['network']}'")
    for placeholder in ("YOUR_COMPANY_ID", "PARTNER_COMPANY_ID", "YOUR_PRODUCT_ID", "ITEM_CODE_TYPE", "YOUR_ID"):
        if placeholder in ids:
            src = src.replace(placeholder, ids[placeholder])
    return src


def printed_json(out: str):
    """The JSON the script printed last (some print the raw response first, then the result)."""
    text = out.strip()
    for start in range(len(text)):
        if text[start] in "{[" and (start == 0 or text[start - 1] == "\n"):
            try:
                return json.loads(text[start:])
            except ValueError:
                continue
    raise ValueError("no JSON in the output")


def run_script(path: Path, tmp: Path, url: str, token: str, ids: dict):
    script = tmp / path.name
    script.write_text(substitute(path.read_text(), url, token, ids))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-800:]}")
    return printed_json(proc.stdout)


def check_folder(folder: Path, tmp: Path, url: str, token: str, ids: dict, rep):
    scripts = sorted(p for p in folder.glob("*.py"))
    scripts.sort(key=lambda p: STEPS.index(step_of(p.name)) if step_of(p.name) in STEPS else len(STEPS))
    ids = dict(ids)
    comment_text = None
    for path in scripts:
        name = f"graphql script {folder.name}/{path.name}"
        step = step_of(path.name)
        if step != "add" and step in STEPS and "YOUR_ID" not in ids:
            rep.fail(name, "not run: the folder's add script gave no id")
            continue
        try:
            out = run_script(path, tmp, url, token, ids)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            rep.fail(name, str(e))
            continue
        problems = []
        if not isinstance(out, dict):
            problems.append(f"printed {str(out)[:300]}")
        elif step == "add":
            if isinstance(out.get("id"), str) and out["id"]:
                ids["YOUR_ID"] = out["id"]
            else:
                problems.append(f"no id in {str(out)[:300]}")
        elif step == "comment":
            if not out.get("id"):
                problems.append(f"no comment id in {str(out)[:300]}")
            src = path.read_text()
            comment_text = src.split('commentText\\":\\"', 1)[1].split('\\"', 1)[0] if 'commentText\\":\\"' in src else None
        elif step == "edit":
            if out.get("id") != ids["YOUR_ID"]:
                problems.append(f"the edit answered {str(out)[:300]}")
        elif step == "list":
            texts = [c.get("commentText") for c in out.get("comments", []) if isinstance(c, dict)]
            if comment_text and comment_text not in texts:
                problems.append(f"the comment {comment_text!r} is not listed: {texts}")
        elif step == "history":
            entries = out.get("activities") or out.get("activityHistory") or out.get("history")
            if not isinstance(entries, list) or len(entries) < 2:
                problems.append(f"the history has not the add and the edit: {str(out)[:400]}")
        elif step == "read":
            if out.get("id") != ids["YOUR_ID"] or not (out.get("data") or {}).get("aptBusinessObjectSummary"):
                problems.append(f"the read answered {str(out)[:400]}")
            edges = out.get("aptBusinessObjectContainsComment")
            if comment_text and edges is not None:
                texts = [((e.get("to") or {}).get("data") or {}).get("commentText") for e in edges]
                if comment_text not in texts:
                    problems.append(f"the comment {comment_text!r} is not among the read's comments {texts}")
        elif folder.name == "master":
            problems += master_problems(path.name, out, ids)
        rep.check(name, problems)


def master_problems(name: str, out: dict, ids: dict) -> list:
    data = out.get("data") or {}
    if "Product" in name:
        return [] if data.get("productName") else [f"no product in {str(out)[:300]}"]
    common = data.get("businessMasterDataCommon") or {}
    want = ids.get("partner_name" if "Partner" in name else "company_name")
    return [] if common.get("businessName") == want else [f"expected {want!r}: {str(out)[:300]}"]


def check_graphql_scripts(url: str, rep, key: str, secret: str, ids: dict):
    """Runs every folder of examples/scwm-graphql/ against url; ids holds company, network, the placeholders'
    values and the expected company_name and partner_name."""
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    with tempfile.TemporaryDirectory(prefix="scwm-graphql-") as tmp:
        for folder in sorted(p for p in SCRIPTS.iterdir() if p.is_dir()):
            check_folder(folder, Path(tmp), url, token, ids, rep)


class PrintReport:
    def __init__(self):
        self.passed = self.failed = 0

    def fail(self, name, why, ans=None):
        self.failed += 1
        print(f"FAIL {name}: {why}")

    def check(self, name, problems, ans=None):
        if problems:
            self.fail(name, "; ".join(problems))
        else:
            self.passed += 1
            print(f"PASS {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in ("url", "key", "secret", "company", "network", "company-gln", "partner-gln", "product-code", "product-type"):
        ap.add_argument("--" + flag, required=True)
    ap.add_argument("--company-name", default="")
    ap.add_argument("--partner-name", default="")
    a = ap.parse_args()
    rep = PrintReport()
    check_graphql_scripts(a.url, rep, a.key, a.secret, {
        "company": a.company, "network": a.network, "YOUR_COMPANY_ID": a.company_gln, "PARTNER_COMPANY_ID": a.partner_gln,
        "YOUR_PRODUCT_ID": a.product_code, "ITEM_CODE_TYPE": a.product_type,
        "company_name": a.company_name, "partner_name": a.partner_name})
    print(f"{rep.passed} passed, {rep.failed} failed")
    sys.exit(1 if rep.failed else 0)


if __name__ == "__main__":
    main()
