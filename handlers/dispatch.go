package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Request is one call of a catalogue event, from any surface, its caller
// already authenticated: who calls, which event, where it acts, the
// payload, the idempotency key and what identifies the request for it. A
// surface (the envelope API today; GraphQL, or any other, tomorrow) turns
// its wire format into a Request, hands it to Dispatch, and turns the
// Result back into its wire format.
type Request struct {
	Caller Caller
	Event  envelope.EventName
	// OwnerID, NetworkID and Dataspace say where the event acts.
	OwnerID, NetworkID, Dataspace string
	// OwnCompany is set when the request names the caller's own company
	// instead of an owner (the authorization-manager's zero UUID).
	OwnCompany bool
	Payload    map[string]any
	// IdempotencyKey, when set, makes a state-changing event run once;
	// Hash tells a retry under the same key from another request (the
	// surface computes it from its wire format, before the payload is
	// checked).
	IdempotencyKey, Hash string
	// LicensePlate identifies the request in the answer, the log and the
	// history.
	LicensePlate string
	// Now is the time of the request; zero means the gateway's clock at
	// Dispatch.
	Now time.Time
	// Detail, when set, is recorded in the history entry of the change.
	Detail map[string]any
}

// Result is what Dispatch did with a request.
type Result struct {
	// Payload and Warnings are the handler's answer, or Err its failure
	// (turned into a kind by failure).
	Payload  any
	Warnings []string
	Err      error
	// LicensePlate is the plate the answer carries: the request's, or,
	// for a retry that took over a key, that of the request that first
	// held it.
	LicensePlate string
	// Replay, when set, is the recorded answer of an earlier request with
	// the same key: the surface sends it again as it is.
	Replay *store.IdempotencyRecord
	// Step is what the request was doing last, for the answer when the
	// request's deadline passed.
	Step string
	// Incident is the version of the incident the event created, wrote or
	// read (for a takeover, the one the dead request wrote), when it names
	// one.
	Incident *store.Incident

	claim *keyClaim
}

// HoldsKey reports whether the request holds an idempotency key, whose
// answer the surface must record with Finish once it has sent it.
func (r *Result) HoldsKey() bool { return r.claim != nil }

// errPanicked is the failure of a handler that panicked.
var errPanicked = errors.New("handler panicked")

// Dispatch serves one request: the event's lookup, authorization, the
// schema check, the idempotency claim and the handler. A request that holds
// an idempotency key must be finished with Finish after its answer is sent,
// so that a retry gets the same answer; a handler's panic is a failure
// like any other, so the key is given back too.
func (g *Gateway) Dispatch(ctx context.Context, req *Request) (res *Result) {
	res = &Result{LicensePlate: req.LicensePlate, Step: "looking up " + req.Event.String()}
	ev, eerr := g.registry.Lookup(req.Event)
	if eerr != nil {
		res.Err = eerr
		return res
	}
	if res.Err = g.authorize(req); res.Err != nil {
		return res
	}
	warnings, eerr := ev.schema.Check(req.Payload)
	if eerr != nil {
		res.Err = eerr
		return res
	}
	now := req.Now
	if now.IsZero() {
		now = g.now()
	}
	call := &Call{Event: req.Event, OwnerID: req.OwnerID, NetworkID: req.NetworkID, Dataspace: req.Dataspace,
		Payload: req.Payload, Caller: req.Caller, LicensePlate: req.LicensePlate, Now: now, Detail: req.Detail, Warnings: warnings}
	if req.IdempotencyKey != "" && !ev.ReadOnly {
		res.Step = "claiming the Idempotency-Key"
		claim, replay, recovered, err := g.claimKey(ctx, call, ev, req.IdempotencyKey, req.Hash)
		switch {
		case err != nil:
			res.Err = err
			return res
		case replay != nil:
			res.Replay, res.LicensePlate = replay, replay.LicensePlate
			return res
		}
		res.claim = claim
		// A takeover answers under the plate of the request that first
		// held the key, and its effect, if any, carries that plate too.
		res.LicensePlate, call.LicensePlate = claim.Plate(), claim.Plate()
		// The store may record the claim with the request's first change.
		ctx = store.WithClaim(ctx, claim.ID(), claim.Plate())
		if recovered != nil {
			res.Payload, res.Warnings, res.Incident = recovered.payload, recovered.warnings, recovered.incident
			return res
		}
	}
	res.Step = "handling " + req.Event.String()
	defer func() {
		if p := recover(); p != nil {
			g.log.Error().Str("licensePlate", res.LicensePlate).Interface("panic", p).Msg("handler panicked")
			res.Payload, res.Err = nil, errPanicked
		}
	}()
	res.Payload, res.Err = ev.Handle(ctx, call)
	res.Warnings, res.Incident = call.Warnings, call.Incident
	if !ev.ReadOnly {
		g.hooks.Nudge() // a change may have been committed: its deliveries go now
	}
	return res
}

// Finish records the answer a surface sent (its status and body) for a
// result that holds an idempotency key; see finishKey.
func (g *Gateway) Finish(res *Result, status int, body []byte) {
	if res.claim != nil {
		g.finishKey(res.claim, status, body)
	}
}

// authorize checks that the caller may act as the request's owner and, for
// network-scoped events, that the company belongs to the named network.
func (g *Gateway) authorize(req *Request) error {
	if req.OwnCompany {
		return nil // "my own company"
	}
	company := req.Caller.CompanyID
	if req.OwnerID != company {
		return envelope.Errorf(envelope.KindAuthorization,
			"this API client acts for company %q and may not act as ownerId %q", company, req.OwnerID)
	}
	if req.NetworkID != "" && !g.dir.IsMember(req.NetworkID, company) {
		return envelope.Errorf(envelope.KindAuthorization,
			"company %q is not a member of processNetworkId %q", company, req.NetworkID)
	}
	return nil
}
