package handlers_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// A surface other than HTTP drives the catalogue through Dispatch alone: it
// builds a Request, renders the Result in its own format, and finishes a
// request that holds an idempotency key with the answer it sent, after
// which a retry gets that answer again instead of running twice. Failures
// come back as errors with the same kinds the envelope API answers.
func TestDispatchServesASurfaceWithoutHTTP(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	ctx := context.Background()
	caller := handlers.Caller{APIKey: gt.Acme.APIKey, CompanyID: gt.Acme.CompanyID, UserID: gt.Acme.UserID}
	add := envelope.EventName{App: "agile-process-teams", Action: "add-incident", Version: 5}
	request := func(key string, payload map[string]any) *handlers.Request {
		return &handlers.Request{Caller: caller, Event: add, OwnerID: "acme", NetworkID: "net-1", Dataspace: "default",
			Payload: payload, IdempotencyKey: key, Hash: key + "-hash", LicensePlate: envelope.NewLicensePlate()}
	}

	res := h.Gateway.Dispatch(ctx, request("k1", map[string]any{"aptBusinessObjectSummary": "from another surface"}))
	if res.Err != nil || !res.HoldsKey() {
		t.Fatalf("dispatch: %v (holds key %v)", res.Err, res.HoldsKey())
	}
	answer, _ := json.Marshal(res.Payload) // this surface's wire form
	h.Gateway.Finish(res, 200, answer)
	var created struct{ ID string }
	if err := json.Unmarshal(answer, &created); err != nil || created.ID == "" {
		t.Fatalf("answer %s", answer)
	}
	// The incident is the one the envelope API reads.
	if rec := readOne(t, h, gt.Acme, created.ID); rec.Data["aptBusinessObjectSummary"] != "from another surface" {
		t.Fatalf("read through the envelope API: %+v", rec)
	}

	again := h.Gateway.Dispatch(ctx, request("k1", map[string]any{"aptBusinessObjectSummary": "from another surface"}))
	if again.Replay == nil || string(again.Replay.Body) != string(answer) || again.LicensePlate != res.LicensePlate {
		t.Fatalf("the retry was not answered from the record: %+v", again)
	}
	if n := len(gt.StoredIncidents(t, h.Store, "default", "acme")); n != 1 {
		t.Fatalf("%d incidents after a retry, want 1", n)
	}

	other := request("", map[string]any{"aptBusinessObjectSummary": "x"})
	other.OwnerID = "other-co"
	var perr *envelope.Error
	if res := h.Gateway.Dispatch(ctx, other); res.Err == nil || !asEnvelopeError(res.Err, &perr) || perr.Kind != envelope.KindAuthorization {
		t.Fatalf("acting for another company: %v", res.Err)
	}
	missing := request("", map[string]any{})
	if res := h.Gateway.Dispatch(ctx, missing); !asEnvelopeError(res.Err, &perr) || perr.Kind != envelope.KindSchemaValidation {
		t.Fatalf("a payload without its summary: %v", res.Err)
	}
}

func asEnvelopeError(err error, target **envelope.Error) bool {
	e, ok := err.(*envelope.Error)
	*target = e
	return ok
}
