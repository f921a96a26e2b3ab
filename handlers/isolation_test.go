package handlers_test

import (
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// targetPayload builds a valid payload of an event that names an existing
// incident; ok is false for events that name none (add, credentials).
func targetPayload(action, processType, id, commentID string) (map[string]any, bool) {
	box := map[string]any{"aptComment": map[string]any{"commentText": "probe"}}
	switch {
	case strings.HasPrefix(action, "add-comment"):
		return map[string]any{"id": id, "processType": processType, "aptCommentBox": box}, true
	case strings.HasPrefix(action, "edit-comment"):
		return map[string]any{"id": id, "processType": processType, "commentId": commentID, "aptCommentBox": box}, true
	case strings.HasPrefix(action, "list-comments"), strings.HasPrefix(action, "toggle-user-follows"), strings.HasPrefix(action, "get-activity-history"):
		return map[string]any{"id": id, "processType": processType}, true
	case strings.HasPrefix(action, "edit-"):
		return map[string]any{"id": id, "aptBusinessObjectDescription": "probe"}, true
	case strings.HasPrefix(action, "copy-"):
		return map[string]any{"id": id, "aptBusinessObjectSummary": "probe", "copyGeneralInfo": true}, true
	case strings.HasPrefix(action, "close-"), strings.HasPrefix(action, "reopen-"), strings.HasPrefix(action, "submit-"), strings.HasPrefix(action, "read-"):
		return map[string]any{"id": id}, true
	}
	return nil, false
}

// typeOfAction names the incident type an event acts on; "" for the shared
// operations of incidents, which act on every type, and "-" for the events
// of the other kinds (their isolation is checked with their lifecycles).
func typeOfAction(action string) string {
	for _, pt := range processTypes {
		for _, a := range []string{"edit-" + pt.noun, "copy-" + pt.noun, "close-" + pt.noun, "reopen-" + pt.noun,
			"submit-" + pt.noun + "-to-partner", "read-" + pt.name} {
			if action == a {
				return pt.name
			}
		}
	}
	if strings.HasSuffix(action, "-for-incident") || action == "toggle-user-follows-incident" {
		return ""
	}
	return "-"
}

type probe struct {
	event   string
	pt      string
	payload map[string]any
}

// probes lists, for every event of the registry that names an incident and
// every process type it applies to, a valid request for acme's incident.
func probes(t *testing.T, h *gt.Harness, ids, comments map[string]string) []probe {
	var out []probe
	for _, ev := range h.Gateway.Registry().Events() {
		types := []string{typeOfAction(ev.Name.Action)}
		if types[0] == "-" {
			continue
		}
		if types[0] == "" {
			types = nil
			for _, pt := range processTypes {
				types = append(types, pt.name)
			}
		}
		for _, pt := range types {
			p, ok := targetPayload(ev.Name.Action, pt, ids[pt], comments[pt])
			if ok {
				out = append(out, probe{ev.Name.String(), pt, p})
			}
		}
	}
	if len(out) != 55 {
		t.Fatalf("%d probes, want 55 (30 typed events, 5 shared ones for 5 types): the matrix does not cover the catalogue", len(out))
	}
	return out
}

// seedIncidents gives acme one incident of every type, naming supplier-1 as
// partner, with one public comment.
func seedIncidents(t *testing.T, h *gt.Harness) (ids, comments map[string]string) {
	ids, comments = map[string]string{}, map[string]string{}
	for _, pt := range processTypes {
		partner := map[string]any{"partnerId": "supplier-1"}
		ids[pt.name] = step(t, h, gt.Acme, pt.add(), map[string]any{"aptBusinessObjectSummary": "acme's " + pt.name,
			"partnerCompany": partner, "responsibleEntity": partner,
			"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "hello", "visibilityType": "Public"}}}, nil).ID
		var list struct {
			Comments []comment `json:"comments"`
		}
		h.Send(t, gt.Acme, listComments, map[string]any{"id": ids[pt.name], "processType": pt.name}).MustOK(t).Decode(t, &list)
		comments[pt.name] = list.Comments[0].ID
	}
	return ids, comments
}

// Another company can neither read, change, comment on, follow, copy nor
// learn of an incident: every event that names one answers 404, the same as
// for an id that does not exist; acting as the owner is 403; and nothing
// changed.
func TestOtherCompaniesLearnNothing(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Config: handlers.Config{Dataspaces: []string{"default", "staging"}}})
	ids, comments := seedIncidents(t, h)
	staging := func(c gt.Client, event string, payload map[string]any) *gt.Response {
		env := map[string]any{"header": gt.Header(c, event), "payload": payload}
		env["header"].(map[string]any)["dataspace"] = "staging"
		return h.Post(t, jsonMarshal(env), gt.Basic(c), nil)
	}
	for _, p := range probes(t, h, ids, comments) {
		// A company in another network, with its own valid credentials.
		r := h.Send(t, gt.Other, p.event, p.payload).MustFail(t, 404, "ObjectNotFoundException")
		if strings.Contains(string(r.Body), "acme") && !strings.Contains(r.Header.ErrMsg, "other-co") {
			t.Errorf("%s: the 404 mentions the owner: %s", p.event, r.Body)
		}
		// The partner company before the incident is submitted to it.
		h.Send(t, gt.Supplier, p.event, p.payload).MustFail(t, 404, "ObjectNotFoundException")
		// Acting as the owner company.
		h.Post(t, gt.Envelope(gt.Acme, p.event, p.payload), gt.Basic(gt.Other), nil).MustFail(t, 403, "AuthorizationException")
		// The owner itself, from another dataspace.
		staging(gt.Acme, p.event, p.payload).MustFail(t, 404, "ObjectNotFoundException")
	}
	for _, pt := range processTypes {
		if rec := read(t, h, gt.Acme, pt, ids[pt.name]); rec.DataVersion != 1 || rec.Data["aptBusinessObjectDescription"] != nil {
			t.Errorf("%s changed under the probes: %+v", pt.name, rec)
		}
	}
	// And what is added in one dataspace is invisible from the other.
	r := staging(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "staging only"}).MustOK(t)
	var added struct{ ID string }
	r.Decode(t, &added)
	h.Send(t, gt.Acme, readIncident, map[string]any{"id": added.ID}).MustFail(t, 404, "ObjectNotFoundException")
}

// After submit the partner may read, list and add comments, edit its
// response (and its own comments); everything else is 403. Its view of the
// comments leaves out the owner's non-public ones.
func TestPartnerAccessAfterSubmit(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	ids, comments := seedIncidents(t, h)
	for _, pt := range processTypes {
		if pt.hasPartner {
			step(t, h, gt.Acme, pt.submit(), map[string]any{"id": ids[pt.name]}, nil)
		}
	}
	allowed := []string{"read-", "list-comments", "add-comment"}
	for _, p := range probes(t, h, ids, comments) {
		var pt processType
		for _, x := range processTypes {
			if x.name == p.pt {
				pt = x
			}
		}
		r := h.Send(t, gt.Supplier, p.event, p.payload)
		action := strings.Split(p.event, ":")[1]
		switch {
		case !pt.hasPartner:
			r.MustFail(t, 404, "ObjectNotFoundException")
		case hasAnyPrefix(action, allowed):
			r.MustOK(t)
		case strings.HasPrefix(action, "edit-comment"):
			r.MustFail(t, 403, "AuthorizationException") // the owner's comment
		default:
			r.MustFail(t, 403, "AuthorizationException")
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
