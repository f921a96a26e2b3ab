package handlers

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// toggleFollow makes the calling user follow (follow: true) or unfollow
// (follow: false) an object, or toggles when follow is absent. The user
// ids are in data.followerId. Asking for what already holds changes nothing.
func (g *Gateway) toggleFollow(fixed *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		return g.toggleFollowOf(ctx, call, fixed)
	}
}

func (g *Gateway) toggleFollowOf(ctx context.Context, call *Call, fixed *kind) (any, error) {
	user := call.Caller.UserID
	var following bool
	inc, _, err := g.mutateShared(ctx, call, fixed, 0, func(k *kind) planFunc {
		return func(inc *store.Incident, r role) (*change, error) {
			if err := ownerOnly(k, r, "follow it"); err != nil {
				return nil, err
			}
			now := false
			if list, ok := inc.Data["followerId"].([]any); ok {
				for _, f := range list {
					now = now || f == user
				}
			}
			following = !now
			if f, ok := call.Payload["follow"].(bool); ok {
				following = f
			}
			if following == now {
				return nil, nil
			}
			ch := newChange(call, inc)
			if following {
				ch.AddToSet = map[string]any{"data.followerId": user}
			} else {
				ch.Pull = map[string]any{"data.followerId": user}
			}
			ch.Activity.Fields = []string{"followerId"}
			ch.Activity.Detail = map[string]any{"following": following}
			return ch, nil
		}
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": inc.ID, "following": following, "dataVersion": inc.DataVersion}, nil
}
