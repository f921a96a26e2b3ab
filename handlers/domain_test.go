package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// domain runs catalogue events through Dispatch alone, as a surface without
// HTTP does.
type domain struct {
	t  *testing.T
	gw *handlers.Gateway
}

func (d domain) call(c gt.Client, event string, payload map[string]any) *handlers.Result {
	d.t.Helper()
	name, err := envelope.ParseEventName(event)
	if err != nil {
		d.t.Fatal(err)
	}
	// A payload as a surface decodes it: numbers as json.Number.
	raw, _ := json.Marshal(payload)
	var p map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		d.t.Fatal(err)
	}
	return d.gw.Dispatch(context.Background(), &handlers.Request{
		Caller: handlers.Caller{APIKey: c.APIKey, CompanyID: c.CompanyID, UserID: c.UserID},
		Event:  name, OwnerID: c.CompanyID, NetworkID: c.NetworkID, Dataspace: "default",
		Payload: p, LicensePlate: envelope.NewLicensePlate()})
}

func (d domain) ok(c gt.Client, event string, payload map[string]any) map[string]any {
	d.t.Helper()
	res := d.call(c, event, payload)
	if res.Err != nil {
		d.t.Fatalf("%s: %v", event, res.Err)
	}
	raw, _ := json.Marshal(res.Payload)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

func (d domain) fails(c gt.Client, event string, payload map[string]any, kind envelope.Kind) {
	d.t.Helper()
	res := d.call(c, event, payload)
	var e *envelope.Error
	if !asEnvelopeError(res.Err, &e) || e.Kind != kind {
		d.t.Fatalf("%s: %v, want %s", event, res.Err, kind.ExceptionName())
	}
}

// The incident's life, without HTTP: the state machine, the partner's
// access after submit and its limits, the conclusion of a close and its
// clearing on reopen, comments in every state, and the history of it all.
func TestIncidentLifeThroughTheDomain(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	d := domain{t, h.Gateway}
	const (
		add     = "agile-process-teams:add-incident:v5"
		edit    = "agile-process-teams:edit-incident:v5"
		read    = "agile-process-teams:read-incident:v4"
		submit  = "agile-process-teams:submit-incident-to-partner:v1"
		closeEv = "agile-process-teams:close-incident:v1"
		reopen  = "agile-process-teams:reopen-incident:v1"
		comment = "agile-process-teams:add-comment-for-incident:v1"
	)
	id := d.ok(gt.Acme, add, map[string]any{"aptBusinessObjectSummary": "through the domain",
		"partnerCompany": map[string]any{"partnerId": gt.Supplier.CompanyID}})["id"].(string)
	d.fails(gt.Supplier, read, map[string]any{"id": id}, envelope.KindObjectNotFound) // not submitted yet

	if v := d.ok(gt.Acme, edit, map[string]any{"id": id, "newBaseState": "UnderInvestigation"})["dataVersion"]; v != 2.0 {
		t.Fatalf("edit answered dataVersion %v", v)
	}
	d.ok(gt.Acme, submit, map[string]any{"id": id})
	if rec := d.ok(gt.Supplier, read, map[string]any{"id": id}); rec["currentBaseState"] != "UnderInvestigation" {
		t.Fatalf("the partner reads %v", rec["currentBaseState"])
	}
	d.fails(gt.Supplier, edit, map[string]any{"id": id, "aptBusinessObjectSummary": "hijack"}, envelope.KindAuthorization)
	d.fails(gt.Other, read, map[string]any{"id": id}, envelope.KindObjectNotFound)

	d.ok(gt.Acme, closeEv, map[string]any{"id": id, "resolutionType": "RESOLVED", "closingStatement": "done"})
	rec := d.ok(gt.Acme, read, map[string]any{"id": id})
	conclusion, _ := rec["data"].(map[string]any)["incidentConclusion"].(map[string]any)
	if rec["currentBaseState"] != "Closed" || conclusion["resolutionType"] != "RESOLVED" {
		t.Fatalf("after close: %v %v", rec["currentBaseState"], conclusion)
	}
	d.fails(gt.Acme, edit, map[string]any{"id": id, "aptBusinessObjectDescription": "x"}, envelope.KindInvalidStateTransition)
	d.ok(gt.Acme, comment, map[string]any{"id": id, "processType": "incident",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "closed but talking"}}})
	d.ok(gt.Acme, reopen, map[string]any{"id": id})
	d.fails(gt.Acme, reopen, map[string]any{"id": id}, envelope.KindInvalidStateTransition)
	rec = d.ok(gt.Acme, read, map[string]any{"id": id})
	if rec["currentBaseState"] != "UnderInvestigation" || rec["data"].(map[string]any)["incidentConclusion"] != nil {
		t.Fatalf("after reopen: %v", rec)
	}
	history := d.ok(gt.Acme, "agile-process-teams:get-activity-history-for-incident:v1", map[string]any{"id": id, "processType": "incident"})
	if n := len(history["activities"].([]any)); n != 6 {
		t.Fatalf("%d history entries, want 6 (add, edit, submit, close, comment, reopen)", n)
	}
}
