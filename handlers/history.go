package handlers

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// activityHistory returns every change of an object, oldest first: which
// event, by whom, when, under which license plate, and what changed (fields,
// state from and to, comments). It is the owner's.
func (g *Gateway) activityHistory(fixed *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		return g.activityHistoryOf(ctx, call, fixed)
	}
}

func (g *Gateway) activityHistoryOf(ctx context.Context, call *Call, fixed *kind) (any, error) {
	inc, k, r, err := g.sharedTarget(ctx, call, fixed, store.WithActivities)
	if err != nil {
		return nil, err
	}
	if err := ownerOnly(k, r, "read its activity history"); err != nil {
		return nil, err
	}
	activities := make([]wireActivity, len(inc.Activities))
	for i, a := range inc.Activities {
		activities[i] = newWireActivity(a)
	}
	return map[string]any{"id": inc.ID, "activities": activities}, nil
}
