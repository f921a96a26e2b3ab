package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/scwm-gateway/scwm-gateway/internal/idempotency"
	"github.com/scwm-gateway/scwm-gateway/internal/metrics"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// DefaultIdempotencyTTL is how long an idempotency key is remembered.
const DefaultIdempotencyTTL = idempotency.DefaultTTL

// keyClaim is an idempotency key held by the request being handled.
type keyClaim = idempotency.Claim

// recoveredAnswer is the answer rebuilt from the effect of a request that
// died after its change was written and before its answer was recorded.
type recoveredAnswer struct {
	payload  any
	warnings []string
	// incident is the version the dead request wrote, if it wrote one.
	incident *store.Incident
}

// claimKey makes the request the holder of its idempotency key, or finds
// the answer to send instead (idempotency.Keys.Claim); when it takes over
// the key of a request that died, the dead request's change, if it is
// found by its plate, gives the answer (rebuildAnswer), and otherwise this
// request runs under the dead one's plate.
func (g *Gateway) claimKey(ctx context.Context, call *Call, ev *Event, key, hash string) (*keyClaim, *store.IdempotencyRecord, *recoveredAnswer, error) {
	owner := idempotency.Owner{CompanyID: call.Caller.CompanyID, ClientID: call.Caller.APIKey, UserID: call.Caller.UserID, Seed: call.Caller.answerSeed()}
	claim, replay, err := g.keys.Claim(ctx, owner, key, hash, call.LicensePlate, call.Dataspace)
	switch {
	case err != nil:
	case replay != nil:
		g.metrics.IdempotentRequest(metrics.Replay)
	case claim.TookOver():
		g.metrics.IdempotentRequest(metrics.Takeover)
	}
	if err != nil || replay != nil || !claim.TookOver() {
		return claim, replay, nil, err
	}
	recovered, err := g.rebuildAnswer(ctx, ev, claim.Dataspace(), claim.Plate())
	return claim, nil, recovered, err
}

// lease is how long a claim keeps a key: the request timeout and half of it
// again plus a second, by when the request that claimed it can no longer be
// running (its context, and so its store calls, ended at the timeout).
func (g *Gateway) lease() time.Duration {
	return g.cfg.RequestTimeout + g.cfg.RequestTimeout/2 + time.Second
}

// rebuildAnswer looks for the change a dead request made under its plate
// and rebuilds its answer; nil means it changed nothing and must run again.
func (g *Gateway) rebuildAnswer(ctx context.Context, ev *Event, dataspace, plate string) (*recoveredAnswer, error) {
	effect, err := g.store.FindEffect(ctx, dataspace, plate)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if ev.CreatesFamily && effect.Incident != nil && effect.Incident.ParentID != "" {
		// A child of the family: the request took effect only if the
		// parent, inserted last, is in.
		parent, err := g.store.FindIncident(ctx, dataspace, effect.Incident.ParentID, 0)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		effect.Incident = parent
	}
	payload, warnings := ev.Recover(effect)
	warnings = append(warnings, "the first request with this Idempotency-Key was interrupted after its change was stored; this answer was rebuilt from that change")
	return &recoveredAnswer{payload: payload, warnings: warnings, incident: effect.Incident}, nil
}

// finishKey records the answer of the request holding a key
// (idempotency.Keys.Finish).
func (g *Gateway) finishKey(claim *keyClaim, status int, body []byte) {
	g.keys.Finish(claim, status, body)
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
