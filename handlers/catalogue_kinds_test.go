package handlers_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

const apt = "agile-process-teams:"

// object is a record of any kind as a client decodes it.
type object struct {
	ID               string         `json:"id"`
	ObjectType       string         `json:"objectType"`
	SchemaVersion    int            `json:"schemaVersion"`
	DataVersion      int64          `json:"dataVersion"`
	OwnerID          string         `json:"ownerId"`
	CreationDateTime int64          `json:"creationDateTime"`
	CurrentBaseState string         `json:"currentBaseState"`
	Data             map[string]any `json:"data"`
}

// onBothStores runs a flow on a gateway over the embedded store and on one
// over MongoDB, reached through a URI as a deployment reaches it.
func onBothStores(t *testing.T, flow func(*testing.T, *gt.Harness)) {
	for _, viaURI := range []bool{false, true} {
		t.Run(map[bool]string{false: "embedded", true: "mongodb"}[viaURI], func(t *testing.T) {
			t.Parallel()
			flow(t, gt.Start(t, gt.Options{ViaURI: viaURI}))
		})
	}
}

// created sends an add (or copy) and returns the new object's id.
func created(t *testing.T, h *gt.Harness, c gt.Client, event string, payload map[string]any) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	h.Send(t, c, event, payload).MustOK(t).Decode(t, &out)
	if out.ID == "" {
		t.Fatalf("%s answered no id", event)
	}
	return out.ID
}

func readObject(t *testing.T, h *gt.Harness, c gt.Client, event, id string) object {
	t.Helper()
	var rec object
	h.Send(t, c, event, map[string]any{"id": id}).MustOK(t).Decode(t, &rec)
	return rec
}

func historyOf(t *testing.T, h *gt.Harness, c gt.Client, event, processType, id string) []activity {
	t.Helper()
	var hist struct {
		Activities []activity `json:"activities"`
	}
	h.Send(t, c, event, map[string]any{"processId": id, "processType": processType}).MustOK(t).Decode(t, &hist)
	return hist.Activities
}

func eventsOf(acts []activity) string {
	names := make([]string, len(acts))
	for i, a := range acts {
		names[i] = strings.TrimPrefix(a.EventName, apt)
	}
	return strings.Join(names, " ")
}

func mustContain(t *testing.T, r *gt.Response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.Header.ErrMsg, p) {
			t.Fatalf("errMsg %q does not say %q", r.Header.ErrMsg, p)
		}
	}
}

// A change request runs its whole life: shared with its partner by
// isVisible, edited into InImplementation, commented (the comment edited
// by the two ways TraceLink's samples name it), followed, closed and
// reopened at both published versions, with every step in its history.
//
// It runs on the embedded store and on MongoDB (its wire test server).
func TestChangeRequestLifecycle(t *testing.T) {
	t.Parallel()
	onBothStores(t, changeRequestLife)
}

func changeRequestLife(t *testing.T, h *gt.Harness) {
	id := created(t, h, gt.Acme, apt+"add-change:v3", map[string]any{
		"aptBusinessObjectSummary": "Scanner Upgrade", "businessPriority": "MEDIUM", "isVisible": true,
		"partnerCompany": map[string]any{"partnerId": "supplier-1", "toIdType": "companyMasterData"},
		"changeImpact":   map[string]any{"riskType": "NONTECHNICAL_LOW_RISK", "reasonForChange": "STREAMLINE_OPERATIONS"},
	})
	rec := readObject(t, h, gt.Acme, apt+"read-change:v3", id)
	if rec.ObjectType != apt+"change" || rec.CurrentBaseState != "New" || !strings.HasPrefix(rec.Data["aptBusinessObjectId"].(string), "CHG-") {
		t.Fatalf("read-change answered %+v", rec)
	}
	// The partner sees it while it is visible, and may edit only its own fields.
	readObject(t, h, gt.Supplier, apt+"read-change:v3", id)
	h.Send(t, gt.Supplier, apt+"edit-change:v3", map[string]any{"id": id, "businessPriority": "HIGH"}).
		MustFail(t, http.StatusForbidden, "AuthorizationException")
	h.Send(t, gt.Supplier, apt+"edit-change:v3", map[string]any{"id": id, "responsiblePartyAtPartner": "sam"}).MustOK(t)
	h.Send(t, gt.Other, apt+"read-change:v3", map[string]any{"id": id}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")

	h.Send(t, gt.Acme, apt+"edit-change:v3", map[string]any{"id": id, "newBaseState": "InImplementation"}).MustOK(t)
	h.Send(t, gt.Acme, apt+"edit-change:v3", map[string]any{"id": id, "newBaseState": "UnderInvestigation"}).
		MustFail(t, http.StatusBadRequest, "SchemaValidationException")

	var comment struct {
		ID string `json:"id"`
	}
	h.Send(t, gt.Acme, apt+"add-comment-for-change:v1", map[string]any{"processId": id, "processType": "change",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "PO attached", "visibilityType": "public"},
			"addAttachment": []any{map[string]any{"fileName": "po.pdf", "fileSize": "3mb", "visibilityType": "public"}}}}).MustOK(t).Decode(t, &comment)
	// TraceLink's edit sample names the comment as processId.
	h.Send(t, gt.Acme, apt+"edit-comment-for-change:v1", map[string]any{"processId": comment.ID, "processType": "change",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "Removing incorrect PO document"}}}).MustOK(t)
	var list struct {
		Comments []struct {
			ID          string           `json:"id"`
			CommentText string           `json:"commentText"`
			Attachments []map[string]any `json:"attachments"`
		} `json:"comments"`
	}
	h.Send(t, gt.Supplier, apt+"list-comments-for-change:v1", map[string]any{"processId": id, "processType": "change"}).MustOK(t).Decode(t, &list)
	if len(list.Comments) != 1 || list.Comments[0].CommentText != "Removing incorrect PO document" || len(list.Comments[0].Attachments) != 1 {
		t.Fatalf("the partner lists %+v", list.Comments)
	}
	// The remove-attachment sample names the comment as commentId alone.
	attachment := list.Comments[0].Attachments[0]["id"]
	h.Send(t, gt.Acme, apt+"edit-comment-for-change:v1", map[string]any{"commentId": comment.ID, "processType": "change",
		"aptCommentBox": map[string]any{"removeAttachment": []any{attachment}}}).MustOK(t)
	h.Send(t, gt.Acme, apt+"list-comments-for-change:v1", map[string]any{"processId": id, "processType": "change"}).MustOK(t).Decode(t, &list)
	if len(list.Comments[0].Attachments) != 0 {
		t.Fatalf("the attachment was not removed: %+v", list.Comments)
	}
	// Another company cannot reach the comment by its id.
	h.Send(t, gt.Other, apt+"edit-comment-for-change:v1", map[string]any{"commentId": comment.ID, "processType": "change",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "mine now"}}}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")

	h.Send(t, gt.Acme, apt+"toggle-user-follows-change:v1", map[string]any{"processId": id, "processType": "change", "follow": true}).MustOK(t)
	h.Send(t, gt.Acme, apt+"close-change:v2", map[string]any{"id": id, "resolutionType": "ACCEPTED"}).MustOK(t)
	h.Send(t, gt.Acme, apt+"edit-change:v3", map[string]any{"id": id, "businessPriority": "LOW"}).
		MustFail(t, http.StatusConflict, "InvalidStateTransitionException")
	h.Send(t, gt.Acme, apt+"reopen-change:v1", map[string]any{"id": id}).MustOK(t)
	if rec := readObject(t, h, gt.Acme, apt+"read-change:v3", id); rec.CurrentBaseState != "UnderEvaluation" || rec.Data["changeConclusion"] != nil {
		t.Fatalf("after reopen: %+v", rec)
	}
	h.Send(t, gt.Acme, apt+"close-change:v3", map[string]any{"id": id, "resolutionType": "ACCEPTED", "closingStatement": "done"}).MustOK(t)

	// isVisible false ends the partner's access in the same write.
	id2 := created(t, h, gt.Acme, apt+"add-change:v3", map[string]any{"aptBusinessObjectSummary": "Second", "isVisible": true,
		"partnerCompany": map[string]any{"partnerId": "supplier-1"}})
	readObject(t, h, gt.Supplier, apt+"read-change:v3", id2)
	h.Send(t, gt.Acme, apt+"edit-change:v3", map[string]any{"id": id2, "isVisible": false}).MustOK(t)
	h.Send(t, gt.Supplier, apt+"read-change:v3", map[string]any{"id": id2}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")

	got := eventsOf(historyOf(t, h, gt.Acme, apt+"get-activity-history-for-change:v1", "change", id))
	want := "add-change:v3 edit-change:v3 edit-change:v3 add-comment-for-change:v1 edit-comment-for-change:v1 edit-comment-for-change:v1 " +
		"toggle-user-follows-change:v1 close-change:v2 reopen-change:v1 close-change:v3"
	if got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
}

// A task with three sub-tasks, one submitted to a partner who works it:
// the partner sees that sub-task and no other, the task does not close
// while a sub-task is open, and a closed task keeps its sub-tasks.
//
// It runs on the embedded store and on MongoDB (its wire test server).
func TestTaskWithSubTasks(t *testing.T) {
	t.Parallel()
	onBothStores(t, taskWithSubTasks)
}

func taskWithSubTasks(t *testing.T, h *gt.Harness) {
	task := created(t, h, gt.Acme, apt+"add-task:v2", map[string]any{"aptBusinessObjectSummary": "Quarterly audit", "businessPriority": "LOW"})
	sub := func(name string, extra map[string]any) string {
		p := map[string]any{"taskId": task, "subTaskName": name}
		for k, v := range extra {
			p[k] = v
		}
		return created(t, h, gt.Acme, apt+"add-sub-task-to-task:v2", p)
	}
	s1 := sub("Collect records", nil)
	s2 := sub("Supplier questionnaire", map[string]any{"isSubmittedToPartner": true, "partnerCompany": map[string]any{"partnerId": "supplier-1"}})
	s3 := sub("Spare", nil)

	// A sub-task of another company's task is 404, as is its task.
	h.Send(t, gt.Other, apt+"add-sub-task-to-task:v2", map[string]any{"taskId": task, "subTaskName": "intruder"}).
		MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
	h.Send(t, gt.Other, apt+"read-subTask:v1", map[string]any{"id": s1}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")

	var list struct {
		ID       string   `json:"id"`
		SubTasks []object `json:"subTasks"`
	}
	h.Send(t, gt.Acme, apt+"list-sub-task-for-task:v1", map[string]any{"id": task}).MustOK(t).Decode(t, &list)
	if len(list.SubTasks) != 3 || list.SubTasks[0].ID != s1 || list.SubTasks[2].ID != s3 {
		t.Fatalf("the owner lists %+v", list.SubTasks)
	}
	// The partner sees only the sub-task submitted to it, not the task.
	h.Send(t, gt.Supplier, apt+"list-sub-task-for-task:v1", map[string]any{"id": task}).MustOK(t).Decode(t, &list)
	if len(list.SubTasks) != 1 || list.SubTasks[0].ID != s2 {
		t.Fatalf("the partner lists %+v", list.SubTasks)
	}
	h.Send(t, gt.Supplier, apt+"read-task:v3", map[string]any{"id": task}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
	h.Send(t, gt.Supplier, apt+"read-subTask:v1", map[string]any{"id": s1}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
	h.Send(t, gt.Other, apt+"list-sub-task-for-task:v1", map[string]any{"id": task}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")

	// The partner works its sub-task: starts it, answers, comments, closes it.
	h.Send(t, gt.Supplier, apt+"edit-sub-task-on-task:v3", map[string]any{"id": s2, "newBaseState": "InProgress",
		"subTaskResponse": map[string]any{"responseText": "on it"}}).MustOK(t)
	h.Send(t, gt.Supplier, apt+"edit-sub-task-on-task:v3", map[string]any{"id": s2, "subTaskName": "renamed"}).
		MustFail(t, http.StatusForbidden, "AuthorizationException")
	h.Send(t, gt.Supplier, apt+"add-comment-for-process:v1", map[string]any{"processId": s2, "processType": "subTask",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "questionnaire sent back"}}}).MustOK(t)
	r := h.Send(t, gt.Supplier, apt+"remove-sub-task-from-task:v1", map[string]any{"id": s2}).MustFail(t, http.StatusForbidden, "AuthorizationException")
	mustContain(t, r, "this sub-task", "edit newBaseState, subTaskResponse", "it may not remove it")
	h.Send(t, gt.Supplier, apt+"close-sub-task:v1", map[string]any{"id": s2, "closingStatement": "answered"}).MustOK(t)
	h.Send(t, gt.Supplier, apt+"remove-sub-task-from-task:v1", map[string]any{"id": s1}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")

	// The task does not close while s1 and s3 are open; the answer names them.
	r = h.Send(t, gt.Acme, apt+"close-task:v1", map[string]any{"id": task, "resolutionType": "COMPLETED"}).
		MustFail(t, http.StatusConflict, "InvalidStateTransitionException")
	mustContain(t, r, "SUB-1 (New)", "SUB-3 (New)", "close or remove them first")
	h.Send(t, gt.Acme, apt+"edit-sub-task-on-task:v3", map[string]any{"id": s1, "newBaseState": "InProgress"}).MustOK(t)
	h.Send(t, gt.Acme, apt+"close-sub-task:v1", map[string]any{"id": s1}).MustOK(t)
	h.Send(t, gt.Acme, apt+"remove-sub-task-from-task:v1", map[string]any{"id": s3}).MustOK(t)
	h.Send(t, gt.Acme, apt+"close-task:v1", map[string]any{"id": task, "resolutionType": "COMPLETED"}).MustOK(t)

	// A closed task keeps its sub-tasks: none is added, removed or reopened.
	r = h.Send(t, gt.Acme, apt+"remove-sub-task-from-task:v1", map[string]any{"id": s1}).MustFail(t, http.StatusConflict, "InvalidStateTransitionException")
	mustContain(t, r, "cannot be removed from a Closed task", "reopen it first")
	h.Send(t, gt.Acme, apt+"add-sub-task-to-task:v2", map[string]any{"taskId": task, "subTaskName": "late"}).
		MustFail(t, http.StatusConflict, "InvalidStateTransitionException")
	r = h.Send(t, gt.Acme, apt+"reopen-sub-task:v1", map[string]any{"id": s1}).MustFail(t, http.StatusConflict, "InvalidStateTransitionException")
	mustContain(t, r, "reopen the task first")
	h.Send(t, gt.Acme, apt+"reopen-task:v1", map[string]any{"id": task}).MustOK(t)
	h.Send(t, gt.Acme, apt+"reopen-sub-task:v1", map[string]any{"id": s1}).MustOK(t)

	h.Send(t, gt.Acme, apt+"list-sub-task-for-task:v1", map[string]any{"id": task}).MustOK(t).Decode(t, &list)
	if len(list.SubTasks) != 2 {
		t.Fatalf("after removing one, the owner lists %+v", list.SubTasks)
	}
	if got := eventsOf(historyOf(t, h, gt.Acme, apt+"get-activity-history-for-process:v1", "subTask", s2)); got !=
		"add-sub-task-to-task:v2 edit-sub-task-on-task:v3 add-comment-for-process:v1 close-sub-task:v1" {
		t.Fatalf("the partner's sub-task's history: %s", got)
	}
	if got := eventsOf(historyOf(t, h, gt.Acme, apt+"get-activity-history-for-process:v1", "task", task)); got !=
		"add-task:v2 close-task:v1 reopen-task:v1" {
		t.Fatalf("the task's history: %s", got)
	}
}

// A task made from a template takes the template's fields, due date and
// sub-tasks, and keeps its rule on adding and removing sub-tasks; members
// of the network change a template only when it lets them.
//
// It runs on the embedded store and on MongoDB (its wire test server).
func TestTaskFromTemplate(t *testing.T) {
	t.Parallel()
	onBothStores(t, taskFromTemplate)
}

func taskFromTemplate(t *testing.T, h *gt.Harness) {
	tmpl := created(t, h, gt.Acme, apt+"add-task-template:v1", map[string]any{
		"templateName": "Customer service", "aptBusinessObjectDescription": "From the template",
		"isTemplateModifiableByMember": false, "isAddRemoveSubtaskAllowed": false, "completionRequiredWithinDays": 14, "businessPriority": "LOW"})
	created(t, h, gt.Acme, apt+"add-sub-task-to-template:v2", map[string]any{"templateId": tmpl, "subTaskName": "Call back", "completionRequiredWithinDays": 7})
	gone := created(t, h, gt.Acme, apt+"add-sub-task-to-template:v2", map[string]any{"templateId": tmpl, "subTaskName": "Obsolete"})
	h.Send(t, gt.Acme, apt+"remove-sub-task-from-template:v1", map[string]any{"id": gone}).MustOK(t)

	// A member of the network reads it but may not change it...
	readObject(t, h, gt.Supplier, apt+"read-taskTemplate:v1", tmpl)
	h.Send(t, gt.Supplier, apt+"edit-task-template:v3", map[string]any{"id": tmpl, "businessPriority": "HIGH"}).
		MustFail(t, http.StatusForbidden, "AuthorizationException")
	h.Send(t, gt.Other, apt+"read-taskTemplate:v1", map[string]any{"id": tmpl}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
	// ...until the template is modifiable by members.
	h.Send(t, gt.Acme, apt+"edit-task-template:v3", map[string]any{"id": tmpl, "isTemplateModifiableByMember": true}).MustOK(t)
	h.Send(t, gt.Supplier, apt+"edit-task-template:v3", map[string]any{"id": tmpl, "businessPriority": "HIGH"}).MustOK(t)

	var subs struct {
		SubTasks []object `json:"subTasks"`
	}
	h.Send(t, gt.Acme, apt+"list-sub-task-for-template:v1", map[string]any{"id": tmpl}).MustOK(t).Decode(t, &subs)
	if len(subs.SubTasks) != 1 || subs.SubTasks[0].Data["subTaskName"] != "Call back" {
		t.Fatalf("the template lists %+v", subs.SubTasks)
	}

	task := created(t, h, gt.Acme, apt+"add-task:v2", map[string]any{"templateId": tmpl, "aptBusinessObjectSummary": "Ticket 42"})
	rec := readObject(t, h, gt.Acme, apt+"read-task:v3", task)
	const day = 24 * 60 * 60 * 1000
	if rec.Data["aptBusinessObjectDescription"] != "From the template" || rec.Data["businessPriority"] != "HIGH" ||
		rec.Data["completionDueDate"] != float64(rec.CreationDateTime+14*day) || rec.Data["templateId"] != tmpl {
		t.Fatalf("the task from the template: %+v", rec)
	}
	h.Send(t, gt.Acme, apt+"list-sub-task-for-task:v1", map[string]any{"id": task}).MustOK(t).Decode(t, &subs)
	if len(subs.SubTasks) != 1 || subs.SubTasks[0].Data["subTaskName"] != "Call back" ||
		subs.SubTasks[0].Data["subTaskDueDate"] != float64(rec.CreationDateTime+7*day) {
		t.Fatalf("the task's sub-tasks from the template: %+v", subs.SubTasks)
	}
	r := h.Send(t, gt.Acme, apt+"add-sub-task-to-task:v2", map[string]any{"taskId": task, "subTaskName": "extra"}).
		MustFail(t, http.StatusConflict, "InvalidStateTransitionException")
	mustContain(t, r, "isAddRemoveSubtaskAllowed is false")
	h.Send(t, gt.Acme, apt+"remove-sub-task-from-task:v1", map[string]any{"id": subs.SubTasks[0].ID}).
		MustFail(t, http.StatusConflict, "InvalidStateTransitionException")

	// A template id no one may see is a schema error on $.templateId.
	r = h.Send(t, gt.Acme, apt+"add-task:v2", map[string]any{"templateId": "no-such-template", "aptBusinessObjectSummary": "x"}).
		MustFail(t, http.StatusBadRequest, "SchemaValidationException")
	if !strings.Contains(string(r.Body), "$.templateId") {
		t.Fatalf("the error does not name $.templateId: %s", r.Body)
	}
	h.Send(t, gt.Other, apt+"add-task:v2", map[string]any{"templateId": tmpl, "aptBusinessObjectSummary": "x"}).
		MustFail(t, http.StatusBadRequest, "SchemaValidationException")

	// Copies take the sub-tasks along when asked.
	copyT := created(t, h, gt.Acme, apt+"copy-task-template:v1", map[string]any{"id": tmpl, "templateName": "Copy", "copyGeneralInfo": true, "copySubTasks": true})
	h.Send(t, gt.Acme, apt+"list-sub-task-for-template:v1", map[string]any{"id": copyT}).MustOK(t).Decode(t, &subs)
	if len(subs.SubTasks) != 1 || subs.SubTasks[0].Data["templateId"] != copyT {
		t.Fatalf("the copied template's sub-tasks: %+v", subs.SubTasks)
	}
	copyTask := created(t, h, gt.Acme, apt+"copy-task:v1", map[string]any{"id": task, "aptBusinessObjectSummary": "Copy of 42", "copySubTasks": true})
	h.Send(t, gt.Acme, apt+"list-sub-task-for-task:v1", map[string]any{"id": copyTask}).MustOK(t).Decode(t, &subs)
	if len(subs.SubTasks) != 1 || subs.SubTasks[0].CurrentBaseState != "New" || subs.SubTasks[0].Data["taskId"] != copyTask {
		t.Fatalf("the copied task's sub-tasks: %+v", subs.SubTasks)
	}
}

// A compliance exception runs the incident family's life, with the
// comment and history events TraceLink's GraphQL scripts use for it.
func TestComplianceExceptionLifecycle(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	id := created(t, h, gt.Acme, apt+"add-compliance-exception:v1", map[string]any{
		"aptBusinessObjectSummary": "GraphQL flow test run 1", "businessPriority": "MEDIUM", "resolutionDueDate": "1736613281000",
		"partnerCompany": map[string]any{"partnerId": "supplier-1"}})
	rec := readObject(t, h, gt.Acme, apt+"read-complianceException:v1", id)
	if rec.Data["aptBusinessObjectId"] != "CE-1" || rec.CurrentBaseState != "New" {
		t.Fatalf("read: %+v", rec)
	}
	h.Send(t, gt.Acme, apt+"add-comment-for-incident:v1", map[string]any{"processId": id, "processType": "complianceException",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "test", "visibilityType": "Public"}}}).MustOK(t)
	h.Send(t, gt.Acme, apt+"edit-compliance-exception:v1", map[string]any{"id": id, "businessPriority": "LOW", "newBaseState": "UnderInvestigation"}).MustOK(t)
	h.Send(t, gt.Supplier, apt+"read-complianceException:v1", map[string]any{"id": id}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
	h.Send(t, gt.Acme, apt+"submit-compliance-exception-to-partner:v1", map[string]any{"id": id}).MustOK(t)
	h.Send(t, gt.Supplier, apt+"edit-compliance-exception:v1", map[string]any{"id": id,
		"complianceExceptionResponse": map[string]any{"initialResponseInformation": "looking"}, "submitInitialResponse": true}).MustOK(t)
	h.Send(t, gt.Acme, apt+"close-compliance-exception:v1", map[string]any{"id": id, "resolutionType": "RESOLVED"}).MustOK(t)
	h.Send(t, gt.Acme, apt+"reopen-compliance-exception:v1", map[string]any{"id": id}).MustOK(t)
	got := eventsOf(historyOf(t, h, gt.Acme, apt+"get-activity-history-for-incident:v1", "complianceException", id))
	if got != "add-compliance-exception:v1 add-comment-for-incident:v1 edit-compliance-exception:v1 submit-compliance-exception-to-partner:v1 "+
		"edit-compliance-exception:v1 close-compliance-exception:v1 reopen-compliance-exception:v1" {
		t.Fatalf("history: %s", got)
	}
	// The incident numbers are not the compliance exceptions'.
	inc := created(t, h, gt.Acme, apt+"add-incident:v5", map[string]any{"aptBusinessObjectSummary": "an incident"})
	if n := readObject(t, h, gt.Acme, apt+"read-incident:v4", inc).Data["aptBusinessObjectId"]; n != "INC-1" {
		t.Fatalf("the first incident is %v", n)
	}
}

// A document review runs its life with its own comment events, and
// TraceLink's history script (get-activity-history-for-incident) reads it.
func TestDocumentReviewLifecycle(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	id := created(t, h, gt.Acme, apt+"add-document-review:v1", map[string]any{
		"aptBusinessObjectSummary": "SOP review", "businessPriority": "LOW", "approvalDueDate": "1736613281000"})
	h.Send(t, gt.Acme, apt+"edit-document-review:v1", map[string]any{"id": id, "newBaseState": "UnderReview"}).MustOK(t)
	h.Send(t, gt.Acme, apt+"add-comment-for-document-review:v1", map[string]any{"processId": id, "processType": "documentReview",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "section 3 is stale", "visibilityType": "Public"}}}).MustOK(t)
	var list struct {
		Comments []map[string]any `json:"comments"`
	}
	h.Send(t, gt.Acme, apt+"list-comments-for-document-review:v1", map[string]any{"id": id, "processType": "documentReview"}).MustOK(t).Decode(t, &list)
	if len(list.Comments) != 1 {
		t.Fatalf("comments: %+v", list.Comments)
	}
	h.Send(t, gt.Acme, apt+"close-document-review:v1", map[string]any{"id": id, "resolutionType": "APPROVED"}).MustOK(t)
	if rec := readObject(t, h, gt.Acme, apt+"read-documentReview:v1", id); rec.CurrentBaseState != "Closed" ||
		rec.Data["aptBusinessObjectId"] != "DR-1" {
		t.Fatalf("read: %+v", rec)
	}
	// A processType naming another kind is answered with a warning.
	r := h.Send(t, gt.Acme, apt+"list-comments-for-document-review:v1", map[string]any{"id": id, "processType": "change"}).MustOK(t)
	if !warned(r, "$.processType") {
		t.Fatalf("no warning for a processType of another kind: %+v", r.Header.Warnings)
	}
	got := eventsOf(historyOf(t, h, gt.Acme, apt+"get-activity-history-for-incident:v1", "documentReview", id))
	if got != "add-document-review:v1 edit-document-review:v1 add-comment-for-document-review:v1 close-document-review:v1" {
		t.Fatalf("history: %s", got)
	}
}

// The older add-direct-supplier-incident:v2 that TraceLink's sample.py
// sends is served, and the record says which version made it.
func TestOlderDirectSupplierAdd(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	id := created(t, h, gt.Acme, apt+"add-direct-supplier-incident:v2", map[string]any{"aptBusinessObjectSummary": "from sample.py"})
	if rec := readObject(t, h, gt.Acme, apt+"read-directSupplierIncident:v4", id); rec.SchemaVersion != 2 {
		t.Fatalf("schemaVersion %d, want 2", rec.SchemaVersion)
	}
}

// masterSeed declares master data for acme (with a location and a
// product) and for its supplier; other-co shares no network with either.
func masterSeed() *store.Seed {
	seed := gt.DefaultSeed()
	seed.Companies[0].MasterData = &store.CompanyMasterData{
		BusinessName: "Acme Pharma", Identifiers: []store.Identifier{{Type: "GLN", Value: "0614141000005"}},
		Address:   &store.Address{Address1: "1 Main St", City: "Boston", Country: "US"},
		Locations: []store.LocationMasterData{{ID: "acme-plant-1", BusinessName: "Acme Plant 1", LocationType: "Internal", Identifiers: []store.Identifier{{Type: "SGLN", Value: "0614141000012"}}}},
		Products:  []store.ProductMasterData{{ID: "aspirin-100", Name: "Aspirin 100 mg", ItemCodes: []store.Identifier{{Type: "US_NDC532", Value: "12345-678-90"}, {Type: "GTIN", Value: "00312345678906"}}}},
	}
	seed.Companies[1].MasterData = &store.CompanyMasterData{
		BusinessName: "Supplier One", Identifiers: []store.Identifier{{Type: "GLN", Value: "7612345000008"}},
		Locations: []store.LocationMasterData{{ID: "supplier-dc", BusinessName: "Supplier DC", LocationType: "Distribution", Identifiers: []store.Identifier{{Type: "SGLN", Value: "7612345000015"}}}},
	}
	return seed
}

// Master-data queries answer from the seed, and only to the companies that
// may see the record: a company its own, a partner sharing a network the
// other's.
func TestMasterDataQueries(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Seed: masterSeed()})
	const md = "masterdata-manager:"
	var rec struct {
		ID         string         `json:"id"`
		ObjectType string         `json:"objectType"`
		Data       map[string]any `json:"data"`
	}
	h.Send(t, gt.Acme, md+"get-company-by-regulatory-identifier:v1", map[string]any{"regulatoryCompanyIdentifier": "0614141000005", "regulatoryCompanyIdentifierType": "gln"}).
		MustOK(t).Decode(t, &rec)
	common, _ := rec.Data["businessMasterDataCommon"].(map[string]any)
	if rec.ID != "acme" || common["businessName"] != "Acme Pharma" {
		t.Fatalf("company query: %+v", rec)
	}
	h.Send(t, gt.Acme, md+"get-company-by-identifier:v1", map[string]any{"regulatoryCompanyIdentifierValue": "0614141000005", "regulatoryCompanyIdentifierType": "GLN"}).MustOK(t)
	// Another company's GLN is not the caller's company.
	h.Send(t, gt.Acme, md+"get-company-by-regulatory-identifier:v1", map[string]any{"regulatoryCompanyIdentifier": "7612345000008", "regulatoryCompanyIdentifierType": "GLN"}).
		MustFail(t, http.StatusNotFound, "ObjectNotFoundException")

	h.Send(t, gt.Acme, md+"get-partner-by-regulatory-identifier:v1", map[string]any{"regulatoryCompanyIdentifier": "7612345000015", "regulatoryCompanyIdentifierType": "SGLN"}).
		MustOK(t).Decode(t, &rec)
	if rec.ID != "supplier-dc" || rec.ObjectType != md+"partnerLocationMasterData" {
		t.Fatalf("partner query: %+v", rec)
	}
	h.Send(t, gt.Other, md+"get-partner-by-regulatory-identifier:v1", map[string]any{"regulatoryCompanyIdentifier": "7612345000015", "regulatoryCompanyIdentifierType": "SGLN"}).
		MustFail(t, http.StatusNotFound, "ObjectNotFoundException")

	h.Send(t, gt.Supplier, md+"get-product-by-itemcode:v1", map[string]any{"regulatoryItemCodeType": "US_NDC532", "regulatoryItemCodeValue": "12345-678-90"}).
		MustOK(t).Decode(t, &rec)
	if rec.ID != "aspirin-100" || rec.Data["productName"] != "Aspirin 100 mg" {
		t.Fatalf("product query: %+v", rec)
	}
	h.Send(t, gt.Other, md+"get-product-by-itemcode:v1", map[string]any{"regulatoryItemCodeType": "US_NDC532", "regulatoryItemCodeValue": "12345-678-90"}).
		MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
}

// The generic comment events of TraceLink's GraphQL task scripts work for
// every kind, templates included, and a member of a template's network
// comments on it.
func TestCommentsForProcessOnEveryKind(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	tmpl := created(t, h, gt.Acme, apt+"add-task-template:v1", map[string]any{"templateName": "commented"})
	box := map[string]any{"aptComment": map[string]any{"commentText": "from a member", "visibilityType": "Public"}}
	h.Send(t, gt.Supplier, apt+"add-comment-for-process:v1", map[string]any{"processId": tmpl, "processType": "taskTemplate", "aptCommentBox": box}).MustOK(t)
	var list struct {
		Comments []struct {
			CommentText string `json:"commentText"`
			CompanyID   string `json:"companyId"`
		} `json:"comments"`
	}
	h.Send(t, gt.Acme, apt+"list-comments-for-process:v1", map[string]any{"id": tmpl, "processType": "taskTemplate"}).MustOK(t).Decode(t, &list)
	if len(list.Comments) != 1 || list.Comments[0].CompanyID != "supplier-1" {
		t.Fatalf("the template's comments: %+v", list.Comments)
	}
	h.Send(t, gt.Other, apt+"add-comment-for-process:v1", map[string]any{"processId": tmpl, "processType": "taskTemplate", "aptCommentBox": box}).
		MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
	// A processType no kind has is a schema error naming the field.
	r := h.Send(t, gt.Acme, apt+"list-comments-for-process:v1", map[string]any{"id": tmpl, "processType": "deviation"}).
		MustFail(t, http.StatusBadRequest, "SchemaValidationException")
	if !strings.Contains(string(r.Body), "$.processType") {
		t.Fatalf("the error does not name $.processType: %s", r.Body)
	}
}

// A task close and a sub-task reopen that race never leave a Closed task
// with an open sub-task: whichever goes first, the other is decided on
// what it left.
func TestTaskCloseRacesSubTaskReopen(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	for i := range 20 {
		task := created(t, h, gt.Acme, apt+"add-task:v2", map[string]any{"aptBusinessObjectSummary": "race"})
		sub := created(t, h, gt.Acme, apt+"add-sub-task-to-task:v2", map[string]any{"taskId": task, "subTaskName": "s"})
		h.Send(t, gt.Acme, apt+"close-sub-task:v1", map[string]any{"id": sub}).MustOK(t)
		var wg sync.WaitGroup
		var closeStatus, reopenStatus int
		wg.Go(func() {
			closeStatus = h.Send(t, gt.Acme, apt+"close-task:v1", map[string]any{"id": task}).Status
		})
		wg.Go(func() {
			reopenStatus = h.Send(t, gt.Acme, apt+"reopen-sub-task:v1", map[string]any{"id": sub}).Status
		})
		wg.Wait()
		taskState := readObject(t, h, gt.Acme, apt+"read-task:v3", task).CurrentBaseState
		subState := readObject(t, h, gt.Acme, apt+"read-subTask:v1", sub).CurrentBaseState
		if taskState == "Closed" && subState != "Closed" {
			t.Fatalf("round %d: the task is Closed with its sub-task %s (close %d, reopen %d)", i, subState, closeStatus, reopenStatus)
		}
		if closeStatus == http.StatusOK && reopenStatus == http.StatusOK {
			t.Fatalf("round %d: both the close and the reopen were accepted", i)
		}
	}
}
