package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// Every event of the kinds past incidents that names an object answers
// another company the 404 of an id that does not exist, and changes
// nothing; the registry's events of those kinds are all probed, so a new
// event without a probe fails here.
func TestOtherCompaniesLearnNothingOfTheCatalogue(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	box := map[string]any{"aptComment": map[string]any{"commentText": "probe"}}
	ids := map[string]string{
		"change":              created(t, h, gt.Acme, apt+"add-change:v3", map[string]any{"aptBusinessObjectSummary": "c", "aptCommentBox": box}),
		"complianceException": created(t, h, gt.Acme, apt+"add-compliance-exception:v1", map[string]any{"aptBusinessObjectSummary": "ce", "aptCommentBox": box}),
		"documentReview":      created(t, h, gt.Acme, apt+"add-document-review:v1", map[string]any{"aptBusinessObjectSummary": "dr", "aptCommentBox": box}),
		"task":                created(t, h, gt.Acme, apt+"add-task:v2", map[string]any{"aptBusinessObjectSummary": "t", "aptCommentBox": box}),
		"taskTemplate":        created(t, h, gt.Acme, apt+"add-task-template:v1", map[string]any{"templateName": "tt"}),
	}
	ids["subTask"] = created(t, h, gt.Acme, apt+"add-sub-task-to-task:v2", map[string]any{"taskId": ids["task"], "subTaskName": "s", "aptCommentBox": box})
	ids["subTaskTemplate"] = created(t, h, gt.Acme, apt+"add-sub-task-to-template:v2", map[string]any{"templateId": ids["taskTemplate"], "subTaskName": "st"})
	comment := func(kind string) string {
		var list struct {
			Comments []struct {
				ID string `json:"id"`
			} `json:"comments"`
		}
		h.Send(t, gt.Acme, apt+"list-comments-for-process:v1", map[string]any{"id": ids[kind], "processType": kind}).MustOK(t).Decode(t, &list)
		return list.Comments[0].ID
	}
	// kindOf names the kind each event acts on by its action's noun.
	nouns := []struct{ noun, kind string }{
		{"compliance-exception", "complianceException"}, {"complianceException", "complianceException"},
		{"document-review", "documentReview"}, {"documentReview", "documentReview"},
		{"sub-task-on-template", "subTaskTemplate"}, {"sub-task-from-template", "subTaskTemplate"}, {"sub-task-for-template", "taskTemplate"},
		{"sub-task-to-template", "taskTemplate"}, {"task-template", "taskTemplate"}, {"taskTemplate", "taskTemplate"},
		{"sub-task-for-task", "task"}, {"sub-task-to-task", "task"}, {"sub-task", "subTask"}, {"subTask", "subTask"},
		{"change", "change"}, {"task", "task"},
	}
	probed := 0
	for _, ev := range h.Gateway.Registry().Events() {
		action := ev.Name.Action
		if ev.Name.App != "agile-process-teams" || strings.Contains(strings.ToLower(action), "incident") {
			continue
		}
		kind := ""
		for _, n := range nouns {
			if strings.HasSuffix(action, n.noun) || strings.Contains(action, n.noun+"-") {
				kind = n.kind
				break
			}
		}
		var payload map[string]any
		if action == "search-process" || action == "list-changes" {
			// Names no object: it finds none of another company's.
			var page struct{ Items, Changes []any }
			h.Send(t, gt.Other, ev.Name.String(), map[string]any{}).MustOK(t).Decode(t, &page)
			if len(page.Items)+len(page.Changes) != 0 {
				t.Errorf("%s shows other-co %d objects", action, len(page.Items)+len(page.Changes))
			}
			probed++
			continue
		}
		shared := strings.HasSuffix(action, "-process")
		switch {
		case shared:
			kind = "subTask" // the generic events: the kind a partner works with
			fallthrough
		case strings.Contains(action, "comment") || strings.HasPrefix(action, "toggle-") || strings.HasPrefix(action, "get-activity"):
			payload = map[string]any{"processId": ids[kind], "processType": kind, "aptCommentBox": box}
			if strings.HasPrefix(action, "edit-comment") {
				payload["commentId"] = comment(kind)
			}
			if strings.HasPrefix(action, "list-") || strings.HasPrefix(action, "get-") || strings.HasPrefix(action, "toggle-") {
				delete(payload, "aptCommentBox")
			}
		case strings.HasPrefix(action, "add-sub-task-to-task"):
			payload = map[string]any{"taskId": ids["task"], "subTaskName": "probe"}
		case strings.HasPrefix(action, "add-sub-task-to-template"):
			payload = map[string]any{"templateId": ids["taskTemplate"], "subTaskName": "probe"}
		case strings.HasPrefix(action, "add-"):
			continue // makes a new object: names none
		case strings.HasPrefix(action, "copy-"):
			payload = map[string]any{"id": ids[kind], "aptBusinessObjectSummary": "probe", "templateName": "probe"}
		case strings.HasPrefix(action, "edit-"):
			payload = map[string]any{"id": ids[kind], "aptBusinessObjectDescription": "probe"}
		default:
			payload = map[string]any{"id": ids[kind]}
		}
		if kind == "" || ids[kind] == "" {
			t.Fatalf("no probe for %s", ev.Name)
		}
		// Schemas refuse fields an event does not know only with warnings, so one payload shape serves.
		h.Send(t, gt.Other, ev.Name.String(), payload).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
		probed++
	}
	if probed < 40 {
		t.Fatalf("%d events probed: the probes do not cover the catalogue", probed)
	}
	for kind, id := range ids {
		read := map[string]string{"change": "read-change:v3", "complianceException": "read-complianceException:v1",
			"documentReview": "read-documentReview:v1", "task": "read-task:v3", "taskTemplate": "read-taskTemplate:v1", "subTask": "read-subTask:v1"}[kind]
		if read == "" {
			continue
		}
		if rec := readObject(t, h, gt.Acme, apt+read, id); rec.DataVersion != 1 || rec.Data["aptBusinessObjectDescription"] != nil {
			t.Errorf("%s changed under the probes: %+v", kind, rec)
		}
	}
}
