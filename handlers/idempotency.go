package handlers

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// DefaultIdempotencyTTL is how long an idempotency key is remembered.
const DefaultIdempotencyTTL = 24 * time.Hour

// keyClaim is an idempotency key held by the request being handled.
type keyClaim struct {
	id    string // the record's _id: the caller and its key
	plate string // the plate the answer and the effect carry
	// seed, when set, seals the recorded answer (sealAnswer).
	seed []byte
}

// sealedPrefix starts a recorded answer that is sealed; no JSON answer
// starts so.
var sealedPrefix = []byte("scwm-sealed-v1:")

// sealAnswer is the form an answer is recorded in: sealed under the
// caller's answer seed when it has one (credentials.Seal), so that the
// store never holds a minted apiSecret, or any answer, in clear, and only
// the caller that presents the same secret can read it again.
func sealAnswer(seed []byte, id string, body []byte) []byte {
	if seed == nil {
		return body
	}
	return append(append([]byte{}, sealedPrefix...), credentials.Seal(seed, id, body)...)
}

// openAnswer undoes sealAnswer for the caller's seed.
func openAnswer(seed []byte, id string, recorded []byte) ([]byte, error) {
	sealed, ok := bytes.CutPrefix(recorded, sealedPrefix)
	if !ok {
		return recorded, nil
	}
	if seed == nil {
		return nil, credentials.ErrSealed
	}
	return credentials.Open(seed, id, sealed)
}

// recoveredAnswer is the answer rebuilt from the effect of a request that
// died after its change was written and before its answer was recorded.
type recoveredAnswer struct {
	payload  any
	warnings []string
}

// idempotencyPoll is how often a retry looks whether the first request with
// its key has finished.
const idempotencyPoll = 20 * time.Millisecond

// claimKey makes the request the holder of its idempotency key, or finds
// the answer to send instead. Keys belong to the caller that sent them (its
// company, API client and user): another caller's same key is another key.
//   - a new key is claimed, under this request's plate;
//   - a key used for a different request is 422;
//   - a key whose request was answered gives that answer again (replay);
//   - a key whose request is still running is waited for;
//   - a key whose request died (its lease ran out) is taken over: if the
//     dead request's change is found by its plate, its answer is rebuilt;
//     otherwise this request runs under the dead one's plate.
func (g *Gateway) claimKey(ctx context.Context, call *Call, ev *Event, key, hash string) (*keyClaim, *store.IdempotencyRecord, *recoveredAnswer, error) {
	now := g.now()
	rec := &store.IdempotencyRecord{
		Key:          store.IdempotencyKeyID(call.Caller.CompanyID, call.Caller.APIKey, call.Caller.UserID, key),
		RequestHash:  hash,
		LicensePlate: call.LicensePlate,
		Dataspace:    call.Dataspace,
		State:        store.IdempotencyPending,
		LeaseUntil:   now.Add(g.lease()),
		CreatedAt:    now,
		ExpiresAt:    now.Add(g.cfg.IdempotencyTTL),
	}
	existing, err := g.store.ClaimIdempotencyKey(ctx, rec)
	if err != nil {
		return nil, nil, nil, err
	}
	for existing != nil {
		if existing.RequestHash != hash {
			return nil, nil, nil, envelope.Errorf(envelope.KindIdempotencyKeyReuse,
				"Idempotency-Key %q was used for a different request (license plate %s); use a new key for a new request", key, existing.LicensePlate)
		}
		if existing.State == store.IdempotencyDone {
			body, err := openAnswer(call.Caller.answerSeed, existing.Key, existing.Body)
			if err != nil {
				// Only a secret changed under the same apiKey (a seed
				// rewrite) gets here.
				return nil, nil, nil, envelope.Errorf(envelope.KindIdempotencyKeyReuse,
					"Idempotency-Key %q was answered to this apiKey under another apiSecret (license plate %s); use a new key", key, existing.LicensePlate)
			}
			replay := *existing
			replay.Body = body
			return nil, &replay, nil, nil
		}
		if g.now().After(existing.LeaseUntil) {
			won, err := g.store.TakeOverIdempotencyKey(ctx, existing, g.now().Add(g.lease()))
			if err != nil {
				return nil, nil, nil, err
			}
			if won {
				claim := &keyClaim{id: existing.Key, plate: existing.LicensePlate, seed: call.Caller.answerSeed}
				recovered, err := g.rebuildAnswer(ctx, ev, existing)
				return claim, nil, recovered, err
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil, nil, &envelope.Error{Kind: envelope.KindServiceUnavailable, RetryAfter: time.Second,
				Message: "the first request with this Idempotency-Key is still running; retry later"}
		case <-time.After(idempotencyPoll):
		}
		if existing, err = g.store.FindIdempotencyKey(ctx, existing.Key); errors.Is(err, store.ErrNotFound) {
			return g.claimKey(ctx, call, ev, key, hash) // expired meanwhile
		} else if err != nil {
			return nil, nil, nil, err
		}
	}
	return &keyClaim{id: rec.Key, plate: rec.LicensePlate, seed: call.Caller.answerSeed}, nil, nil, nil
}

// lease is how long a claim keeps a key: the request timeout and half of it
// again plus a second, by when the request that claimed it can no longer be
// running (its context, and so its store calls, ended at the timeout).
func (g *Gateway) lease() time.Duration {
	return g.cfg.RequestTimeout + g.cfg.RequestTimeout/2 + time.Second
}

// rebuildAnswer looks for the change a dead request made under its plate
// and rebuilds its answer; nil means it changed nothing and must run again.
func (g *Gateway) rebuildAnswer(ctx context.Context, ev *Event, rec *store.IdempotencyRecord) (*recoveredAnswer, error) {
	effect, err := g.store.FindEffect(ctx, rec.Dataspace, rec.LicensePlate)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	payload, warnings := ev.Recover(effect)
	warnings = append(warnings, "the first request with this Idempotency-Key was interrupted after its change was stored; this answer was rebuilt from that change")
	return &recoveredAnswer{payload: payload, warnings: warnings}, nil
}

// finishKey records the answer of the request holding a key. A server-side
// failure may or may not have had its effect, so instead of recording it
// the lease is ended: the next retry takes the key over and finds out.
func (g *Gateway) finishKey(claim *keyClaim, status int, body []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if status >= 500 {
		err = g.store.ReleaseIdempotencyLease(ctx, claim.id, claim.plate)
	} else {
		err = g.store.FinishIdempotencyKey(ctx, claim.id, claim.plate, status, sealAnswer(claim.seed, claim.id, body))
	}
	if err != nil {
		// The answer was sent; a retry will take the key over once the
		// lease runs out and rebuild the answer from the change.
		g.log.Warn().Err(err).Str("licensePlate", claim.plate).Msg("could not record the answer of an idempotent request")
	}
}

// Answers rebuilt from a request's effect, by kind of event.
func recoverCreated(e *store.Effect) (any, []string) {
	return map[string]any{"id": e.Incident.ID}, nil
}

func recoverChanged(e *store.Effect) (any, []string) {
	return map[string]any{"id": e.Incident.ID, "dataVersion": e.Activity.DataVersion}, nil
}

func recoverComment(e *store.Effect) (any, []string) {
	return commentAnswer(e.Incident.ID, e.Activity.CommentIDs, e.Activity.DataVersion), nil
}

func recoverFollow(e *store.Effect) (any, []string) {
	following, _ := e.Activity.Detail["following"].(bool)
	return map[string]any{"id": e.Incident.ID, "following": following, "dataVersion": e.Activity.DataVersion}, nil
}

func recoverCredentials(e *store.Effect) (any, []string) {
	return map[string]any{"apiKey": e.Client.APIKey, "companyId": e.Client.CompanyID, "userId": e.Client.UserID},
		[]string{"$.apiSecret: the secret is stored only as a hash and cannot be shown again; revoke this key and generate a new one if it was lost"}
}

// runIdempotencySweeper forgets expired keys every interval; MongoDB's TTL
// index does the same, the embedded store needs this.
func (g *Gateway) runIdempotencySweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := g.store.ExpireIdempotencyKeys(ctx, now); err != nil && ctx.Err() == nil {
				g.log.Warn().Err(err).Msg("expiring idempotency keys failed")
			} else if n > 0 {
				g.log.Debug().Int64("expired", n).Msg("idempotency keys expired")
			}
			if n, err := g.store.ExpireTokens(ctx, now); err != nil && ctx.Err() == nil {
				g.log.Warn().Err(err).Msg("expiring OAuth tokens failed")
			} else if n > 0 {
				g.log.Debug().Int64("expired", n).Msg("OAuth tokens expired")
			}
		}
	}
}
