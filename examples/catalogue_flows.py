"""The published samples of the kinds past incidents, each through its whole life (used by run_samples.py).

Change requests, task templates with their sub-task templates, tasks with sub-tasks, and the master-data
queries. Each flow sends the published sample with its placeholders filled in, as a user would, and checks
the effect its doc describes from what a user sees: the answer, then reads, lists and histories.
Several published samples put YOUR_PROCESS_NETWORK_ID (or TEMPLATE_ID) where the id of the object belongs;
a user must put the right id there, and so does this script (each place says so).
"""
from __future__ import annotations

import json

CHANGE, TASK, TEMPLATE, MASTER = "changeRequest", "task", "taskTemplate", "masterData"

# The master data run_samples.py's seed declares (the seed file's companies[].masterData).
ACME_GLN, SUPPLIER_DC_SGLN, ASPIRIN_NDC = "0614141000005", "7612345000015", "12345-678-90"
MASTER_DATA = {
    "acme": {"businessName": "Acme Pharma", "identifiers": [{"type": "GLN", "value": ACME_GLN}],
             "address": {"address1": "1 Main St", "city": "Boston", "country": "US"},
             "products": [{"id": "aspirin-100", "name": "Aspirin 100 mg",
                           "itemCodes": [{"type": "US_NDC532", "value": ASPIRIN_NDC}]}]},
    "supplier-1": {"businessName": "Supplier One", "identifiers": [{"type": "GLN", "value": "7612345000008"}],
                   "locations": [{"id": "supplier-dc", "businessName": "Supplier DC", "locationType": "Distribution",
                                  "identifiers": [{"type": "SGLN", "value": SUPPLIER_DC_SGLN}]}]},
}


def has_id(p):
    return [] if isinstance(p.get("id"), str) else ["no payload.id"]


def data_of(rec):
    return rec.get("data") if isinstance(rec.get("data"), dict) else {}


class CatalogueFlows:
    """Mixed into run_samples.Runner: uses its envelope(), call() and the samples directory."""

    # --- helpers --------------------------------------------------------------------------------

    def sample(self, folder, name):
        return self.samples_dir / folder / name

    def own(self, event, payload, who="owner"):
        """An envelope the script writes itself, for events no sample shows (reads of templates, histories)."""
        owner = self.partner if who == "partner" else self.owner
        return {"header": {"headerVersion": 1, "eventName": f"agile-process-teams:{event}", "ownerId": owner,
                           "processNetworkId": self.network, "appName": "agile-process-teams", "dataspace": "default"},
                "payload": payload}

    def create(self, name, env, who="owner"):
        p, ans = self.call(name, env, who=who, check=has_id)
        return (p["id"] if p else None), ans

    def changed_ok(self, target):
        def check(p):
            if p.get("id") != target or not isinstance(p.get("dataVersion"), int):
                return [f'payload is not {{"id": {target}, "dataVersion": n}}']
            return []
        return check

    def change(self, name, env, target, plates=None, who="owner", status=200, exception=None):
        """An edit/close/reopen/submit/remove of target; on success its plate is kept for the history check."""
        env["payload"]["id"] = target
        p, ans = self.call(name, env, status, exception, who, self.changed_ok(target) if status == 200 else None,
                           needs=(target,))
        if p is not None and plates is not None and status == 200:
            plates.append(ans.header.get("licensePlate"))
        return p

    def read_as(self, name, env, target, who="owner", status=200, exception=None, **want):
        """Read target; `want` names fields of the record (state, objectType) or of its data (data__x)."""
        env["payload"] = {"id": target}

        def check(rec):
            problems = []
            if rec.get("id") != target:
                problems.append(f"id is {rec.get('id')!r}")
            for k, v in want.items():
                got = data_of(rec).get(k[6:]) if k.startswith("data__") else rec.get(
                    "currentBaseState" if k == "state" else k)
                if callable(v):
                    if not v(got):
                        problems.append(f"{k} is {got!r}")
                elif got != v:
                    problems.append(f"{k} is {got!r}, expected {v!r}")
            return problems
        return self.call(name, env, status, exception, who, check if status == 200 else None, (target,))[0]

    def listed(self, name, env, who="owner", check=None):
        """A list-sub-task event; `check(records)`."""
        def full(p):
            if not isinstance(p.get("subTasks"), list):
                return ['payload has no "subTasks" list']
            return check(p["subTasks"]) if check else []
        p, _ = self.call(name, env, who=who, check=full)
        return p["subTasks"] if p else None

    def list_of(self, task, who="owner"):
        """The list-sub-task-for-task sample for task: its id is YOUR_PROCESS_NETWORK_ID, the task's belongs there."""
        env = self.envelope(self.sample(TASK, "listSubTaskForTaskPayloadTemplate.json"), as_partner=(who == "partner"))
        env["payload"]["id"] = task
        return env

    def comments_of(self, name, target, who="owner", check=None):
        env = self.envelope(self.sample(CHANGE, "listCommentsForChangePayloadTemplate.json"), {"ITEM_ID": target},
                            as_partner=(who == "partner"))
        p, _ = self.call(name, env, who=who, check=lambda p: check(p.get("comments") or []) if check else [],
                         needs=(target,))
        return (p or {}).get("comments")

    # --- change requests ------------------------------------------------------------------------

    def run_change(self):
        s = lambda n: self.sample(CHANGE, n)
        plates = []
        read = lambda: self.envelope(s("readChangePayloadTemplate.json"))
        read_p = lambda: self.envelope(s("readChangePayloadTemplate.json"), as_partner=True)
        is_chg = lambda v: isinstance(v, str) and v.startswith("CHG-")

        main, ans = self.create("change: add (all fields, isVisible with a partner)", self.envelope(s("addChangeRequestAllFieldsPayloadTemplate.json")))
        if main:
            plates.append(ans.header.get("licensePlate"))
        self.read_as("change: read-change:v3 -> New, CHG-<n>", read(), main, state="New",
                     objectType="agile-process-teams:change", data__aptBusinessObjectId=is_chg, data__isVisible=True)
        self.read_as("change: the partner reads the visible change", read_p(), main, "partner")
        if self.outsider:
            env = read()
            env["header"].update(ownerId=self.outsider[0], processNetworkId=self.outsider[1])
            self.read_as("change: a company outside the network reads it -> 404", env, main, "outsider", 404,
                         "ObjectNotFoundException")
        hidden, _ = self.create("change: add (min fields, not visible)", self.envelope(s("addChangeRequestMinFieldsPayloadTemplate.json")))
        self.read_as("change: the partner reads an invisible change -> 404", read_p(), hidden, "partner", 404,
                     "ObjectNotFoundException")

        # The base-state sample also sends isVisible false: the partner loses access in the same write.
        self.change("change: edit base state (InImplementation, isVisible false)",
                    self.envelope(s("editChangeRequestBaseStatePayloadTemplate.json")), main, plates)
        self.read_as("change: edit -> read shows InImplementation", read(), main, state="InImplementation")
        self.read_as("change: not visible now -> the partner reads 404", read_p(), main, "partner", 404,
                     "ObjectNotFoundException")
        self.change("change: edit partner impact (isVisible true again)",
                    self.envelope(s("editChangeRequestPartnerImpactPayloadTemplate.json")), main, plates)
        self.read_as("change: visible again -> the partner reads it", read_p(), main, "partner",
                     data__changeImpact=lambda v: isinstance(v, dict) and v.get("riskType") == "NONTECHNICAL_LOW_RISK")

        # Comments: add, edit (the sample names the comment as processId), remove an attachment (commentId alone).
        env = self.envelope(s("addCommentForChangePayloadTemplate.json"), {"ITEM_ID": main})
        p, ans = self.call("change: add-comment-for-change", env, check=has_id, needs=(main,))
        comment = p.get("id") if p else None
        if p:
            plates.append(ans.header.get("licensePlate"))
        attachment = None

        def find_attachment(cs):
            nonlocal attachment
            for c in cs:
                if c.get("id") == comment and c.get("attachments"):
                    attachment = c["attachments"][0].get("id")
            return [] if attachment else ["the new comment and its attachment are not listed"]
        self.comments_of("change: list-comments-for-change shows the comment and its attachment", main, check=find_attachment)
        env = self.envelope(s("editCommentTextForChangePayloadTemplate.json"), {"COMMENT_ID": comment})
        p, ans = self.call("change: edit-comment-for-change (comment named as processId)", env, check=has_id, needs=(comment,))
        if p:
            plates.append(ans.header.get("licensePlate"))
        self.comments_of("change: the edited text is listed", main, check=lambda cs: [] if any(
            c.get("commentText") == "Removing incorrect PO document" for c in cs) else ["the edited text is missing"])
        env = self.envelope(s("removeAttachmentFromchangeCommentPayloadTemplate.json"), {"COMMENT_ID": comment, "ATTACHMENT_ID": attachment})
        p, ans = self.call("change: remove an attachment (commentId alone)", env, check=has_id, needs=(comment, attachment))
        if p:
            plates.append(ans.header.get("licensePlate"))
        self.comments_of("change: the attachment is gone", main, check=lambda cs: [] if all(
            not c.get("attachments") for c in cs if c.get("id") == comment) else ["the attachment is still listed"])
        owner_only = "Comment to explain why this is necessary."
        self.comments_of("change: the partner does not see the ownerOnly comment of the add", main, "partner",
                         check=lambda cs: ["the partner sees an ownerOnly comment"] if owner_only in json.dumps(cs) else [])

        env = self.envelope(s("toggleUserFollowsChangePayloadTemplate.json"), {"ITEM_ID": main})
        p, ans = self.call("change: toggle-user-follows-change", env, needs=(main,),
                           check=lambda p: [] if p.get("following") is True else ["following is not true"])
        if p:
            plates.append(ans.header.get("licensePlate"))

        # Copies at both published versions. The sample's id is YOUR_PROCESS_NETWORK_ID: the change's id belongs there.
        for version in ("v2", "v3"):
            env = self.envelope(s("copyChangeRequestPayloadTemplate.json"))
            env["header"]["eventName"] = env["header"]["eventName"].rsplit(":", 1)[0] + ":" + version
            env["payload"]["id"] = main
            copy, _ = self.create(f"change: copy-change:{version}", env)
            self.read_as(f"change: copy-change:{version} -> a new change in New", read(), copy, state="New",
                         data__aptBusinessObjectSummary="Make a copy of a change")

        close, reopen = s("closeChangeRequestPayloadTemplate.json"), s("reopenChangeRequestPayloadTemplate.json")
        self.change("change: close-change:v2", self.envelope(close), main, plates)
        self.read_as("change: close -> Closed with its conclusion", read(), main, state="Closed",
                     data__changeConclusion=lambda v: isinstance(v, dict) and v.get("resolutionType") == "ACCEPTED")
        self.change("change: edit of the Closed change -> 409", self.envelope(s("editChangeRequestBaseStatePayloadTemplate.json")),
                    main, status=409, exception="InvalidStateTransitionException")
        self.change("change: close again -> 409", self.envelope(close), main, status=409, exception="InvalidStateTransitionException")
        self.change("change: reopen-change:v1", self.envelope(reopen), main, plates)
        self.read_as("change: reopen -> UnderEvaluation, conclusion cleared", read(), main, state="UnderEvaluation",
                     data__changeConclusion=None)
        for sample_, version in ((close, "v3"), (reopen, "v3")):
            env = self.envelope(sample_)
            env["header"]["eventName"] = env["header"]["eventName"].rsplit(":", 1)[0] + ":" + version
            action = env["header"]["eventName"].split(":")[1]
            self.change(f"change: {action}:{version} (the version the doc names)", env, main, plates)

        env = self.envelope(s("getChangeActivityHistoryPayloadTemplate.json"), {"ITEM_ID": main})

        def history(p):
            got = [a.get("licensePlate") for a in p.get("activities") or []]
            return [] if got == plates else [f"license plates {got} are not those of the changes, oldest first: {plates}"]
        self.call("change: get-activity-history-for-change", env, check=history, needs=(main,))

    # --- task templates -------------------------------------------------------------------------

    def run_templates(self):
        """Returns the template a task is then made from, with one sub-task template."""
        s = lambda n: self.sample(TEMPLATE, n)
        read = lambda: self.own("read-taskTemplate:v1", {})
        tmpl, _ = self.create("taskTemplate: add-task-template", self.envelope(s("addTaskTemplatePayloadTemplate.json")))
        self.read_as("taskTemplate: read it -> Active, TMPL-<n>", read(), tmpl, state="Active",
                     data__completionRequiredWithinDays=14,
                     data__aptBusinessObjectId=lambda v: isinstance(v, str) and v.startswith("TMPL-"))
        self.read_as("taskTemplate: a member of the network reads it", self.own("read-taskTemplate:v1", {}, "partner"),
                     tmpl, "partner")
        self.change("taskTemplate: edit-task-template", self.envelope(s("editTaskTemplatePayloadTemplate.json"), {"TEMPLATE_ID": tmpl}), tmpl)
        self.read_as("taskTemplate: edit -> read shows it", read(), tmpl, data__businessPriority="HIGH",
                     data__completionRequiredWithinDays=3)
        add = s("addSubTaskToTemplatePayloadTemplate.json")
        first, _ = self.create("taskTemplate: add-sub-task-to-template", self.envelope(add, {"TEMPLATE_ID": tmpl}))
        second, _ = self.create("taskTemplate: add-sub-task-to-template (a second one)", self.envelope(add, {"TEMPLATE_ID": tmpl}))
        # The edit sample's id is TEMPLATE_ID, but it edits a sub-task template: that id belongs there.
        self.change("taskTemplate: edit-sub-task-on-template", self.envelope(s("editSubTaskOnTemplatePayloadTemplate.json"),
                    {"TEMPLATE_ID": first}), first)
        lst = s("listSubTaskForTemplatePayloadTemplate.json")
        names = lambda recs: [data_of(r).get("subTaskName") for r in recs]
        self.listed("taskTemplate: list-sub-task-for-template -> both, the first edited",
                    self.envelope(lst, {"TEMPLATE_ID": tmpl}),
                    check=lambda rs: [] if names(rs) == ["Sub-Task 56789", "Sub-Task 01234"] else [f"listed {names(rs)}"])
        self.change("taskTemplate: remove-sub-task-from-template", self.envelope(s("removeSubTaskfromTemplatePayloadTemplate.json"),
                    {"SUBTASK_ID": second}), second)
        self.listed("taskTemplate: list after the remove -> one", self.envelope(lst, {"TEMPLATE_ID": tmpl}),
                    check=lambda rs: [] if names(rs) == ["Sub-Task 56789"] else [f"listed {names(rs)}"])
        copy, _ = self.create("taskTemplate: copy-task-template (copySubTasks)",
                              self.envelope(s("copyTaskTemplatePayloadTemplate.json"), {"TASK_TEMPLATE_ID": tmpl}))
        self.listed("taskTemplate: the copy has the sub-task template", self.envelope(lst, {"TEMPLATE_ID": copy}),
                    check=lambda rs: [] if names(rs) == ["Sub-Task 56789"] else [f"listed {names(rs)}"])
        return tmpl

    # --- tasks and sub-tasks --------------------------------------------------------------------

    def run_task(self, tmpl):
        s = lambda n: self.sample(TASK, n)
        read_file = s("readTaskPayloadTemplate.json")
        task, _ = self.create("task: add-task from the template", self.envelope(s("addTaskPayloadTemplate.json"), {"TEMPLATE_ID": tmpl}))

        # The published read sample is not valid JSON: as published it gets a line-precise 400.
        text = self.sample_text(read_file, {"TASK_ID": task})
        ans = self.gw.post(self.auth["owner"], raw=text)
        problems = self.answer_problems(ans, 400, "MalformedEnvelopeException", None)
        if not problems and "line" not in (ans.header.get("errMsg") or ""):
            problems = ["errMsg does not say at which line"]
        self.rep.check("task: readTaskPayloadTemplate as published (not valid JSON) -> 400", problems, ans)
        read = lambda who="owner": self.envelope(read_file, as_partner=(who == "partner"))
        self.read_as("task: read-task:v3 (repaired) -> New, TASK-<n>, made from the template", read(), task, state="New",
                     data__templateId=tmpl, data__completionDueDate=1672489485000, data__businessPriority="LOW",
                     data__aptBusinessObjectId=lambda v: isinstance(v, str) and v.startswith("TASK-"))
        lst = lambda who="owner": self.list_of(task, who)
        from_template = []

        def made_from_template(rs):
            from_template.extend(r.get("id") for r in rs)
            return [] if [data_of(r).get("subTaskName") for r in rs] == ["Sub-Task 56789"] else [f"listed {rs}"]
        self.listed("task: the template's sub-task template became a sub-task", lst(), check=made_from_template)
        self.change("task: edit-task (InProgress)", self.envelope(s("editTaskPayloadTemplate.json"), {"TASK_ID": task}), task)
        self.read_as("task: edit -> read shows InProgress", read(), task, state="InProgress")

        add = s("addTaskSubTaskPayloadTemplate.json")
        sub1, _ = self.create("task: add-sub-task-to-task", self.envelope(add, {"TASK_ID": task}))
        env = self.envelope(add, {"TASK_ID": task})
        env["payload"]["isSubmittedToPartner"] = True
        sub2, _ = self.create("task: add-sub-task-to-task submitted to the partner", env)
        sub3, _ = self.create("task: add-sub-task-to-task (a third one)", self.envelope(add, {"TASK_ID": task}))
        ids = lambda rs: sorted(r.get("id") for r in rs)
        self.listed("task: the owner lists all four sub-tasks", lst(),
                    check=lambda rs: [] if len(rs) == 4 else [f"{len(rs)} listed"])
        self.listed("task: the partner lists only the one submitted to it", lst("partner"), "partner",
                    check=lambda rs: [] if ids(rs) == [sub2] else [f"listed {ids(rs)}"])
        self.read_as("task: the partner cannot read the task itself -> 404", read("partner"), task, "partner", 404,
                     "ObjectNotFoundException")
        self.change("task: submit-sub-task-to-partner", self.envelope(s("submitSubTaskToPartnerPayloadTemplate.json")), sub1)
        self.listed("task: now the partner lists two", lst("partner"), "partner",
                    check=lambda rs: [] if ids(rs) == sorted([sub1, sub2]) else [f"listed {ids(rs)}"])
        self.change("task: edit-sub-task-on-task (InProgress)", self.envelope(s("editSubTaskPayloadTemplate.json")), sub1)
        # The partner works its sub-task: it may move it (not rename its type, as the owner's sample does).
        env = self.envelope(s("editSubTaskPayloadTemplate.json"), as_partner=True)
        self.change("task: the partner sends the edit sample -> 403 (subTaskType is the owner's)", env, sub2, who="partner",
                    status=403, exception="AuthorizationException")
        env = self.envelope(s("editSubTaskPayloadTemplate.json"), as_partner=True)
        env["payload"] = {"newBaseState": "InProgress", "currentlyAssignedPartnerUsers": ["PARTNER_USER_ID1"]}
        self.change("task: the partner starts its sub-task", env, sub2, who="partner")

        close_task = s("closeTaskPayloadTemplate.json")
        p, ans = self.call("task: close-task while sub-tasks are open -> 409", dict(self.envelope(close_task, {"ITEM_ID": task})),
                           409, "InvalidStateTransitionException", needs=(task,))
        # Close, reopen and remove samples carry YOUR_PROCESS_NETWORK_ID as their id: the sub-task's belongs there.
        close_sub, reopen_sub = s("closeSubTaskPayloadTemplate.json"), s("reopenSubTaskPayloadTemplate.json")
        self.change("task: close-sub-task", self.envelope(close_sub), sub1)
        self.change("task: reopen-sub-task", self.envelope(reopen_sub), sub1)
        self.change("task: close-sub-task again", self.envelope(close_sub), sub1)
        self.change("task: the partner closes its sub-task", self.envelope(close_sub, as_partner=True), sub2, who="partner")
        remove = s("removeSubTaskFromTaskPayloadTemplate.json")
        self.change("task: remove-sub-task-from-task", self.envelope(remove), sub3)
        for sid in from_template:
            self.change("task: remove the sub-task the template made", self.envelope(remove), sid)
        self.listed("task: removed sub-tasks are not listed", lst(),
                    check=lambda rs: [] if ids(rs) == sorted([sub1, sub2]) else [f"listed {ids(rs)}"])
        self.change("task: close-task once every sub-task is Closed or Removed", self.envelope(close_task), task)
        self.read_as("task: close -> Closed with its conclusion", read(), task, state="Closed",
                     data__taskConclusion=lambda v: isinstance(v, dict) and v.get("resolutionType") == "COMPLETED")
        self.change("task: reopen-sub-task of a Closed task -> 409", self.envelope(reopen_sub), sub1, status=409,
                    exception="InvalidStateTransitionException")
        self.change("task: reopen-task", self.envelope(s("reopenTaskPayloadTemplate.json")), task)
        # The copy sample's id is YOUR_PROCESS_NETWORK_ID: the task's id belongs there.
        env = self.envelope(s("copyTaskPayloadTemplate.json"))
        env["payload"]["id"] = task
        copy, _ = self.create("task: copy-task (copySubTasks)", env)
        self.listed("task: the copy has the sub-tasks that were not removed, in New", self.list_of(copy),
                    check=lambda rs: [] if len(rs) == 2 and all(r.get("currentBaseState") == "New" for r in rs)
                    else [f"listed {rs}"])

    # --- master data ----------------------------------------------------------------------------

    def run_master(self):
        s = lambda n: self.sample(MASTER, n)
        want = lambda rid, kind: lambda p: [] if p.get("id") == rid and p.get("objectType") == f"masterdata-manager:{kind}" \
            else [f"answered {p}"]
        self.call("masterData: get-company-by-regulatory-identifier (own GLN)",
                  self.envelope(s("queryCompanyMasterTemplate.json"), {"YOUR_COMPANY_ID": ACME_GLN}),
                  check=want(self.owner, "companyMasterData"))
        self.call("masterData: get-partner-by-regulatory-identifier (the partner's location)",
                  self.envelope(s("queryPartnerMasterTemplate.json"), {"YOUR_PARTNER_ID": SUPPLIER_DC_SGLN}),
                  check=want("supplier-dc", "partnerLocationMasterData"))
        self.call("masterData: get-product-by-itemcode",
                  self.envelope(s("queryProductMasterTemplate.json"), {"YOUR_PRODUCT_ID": ASPIRIN_NDC}),
                  check=want("aspirin-100", "productMasterData"))
        self.call("masterData: an identifier no one has -> 404",
                  self.envelope(s("queryCompanyMasterTemplate.json"), {"YOUR_COMPANY_ID": "0000000000000"}),
                  404, "ObjectNotFoundException")
        if self.outsider:
            env = self.envelope(s("queryPartnerMasterTemplate.json"), {"YOUR_PARTNER_ID": SUPPLIER_DC_SGLN})
            env["header"]["ownerId"] = self.outsider[0]
            self.call("masterData: a company sharing no network with the partner -> 404", env, 404,
                      "ObjectNotFoundException", who="outsider")

    def run_catalogue(self):
        for name, flow in (("change", self.run_change), ("master data", self.run_master)):
            try:
                flow()
            except Exception as e:   # a bug or a surprising answer must not stop the run
                self.rep.fail(f"{name} flow", f"the script failed: {type(e).__name__}: {e}")
        try:
            self.run_task(self.run_templates())
        except Exception as e:
            self.rep.fail("task flow", f"the script failed: {type(e).__name__}: {e}")
