package handlers

import (
	"context"
)

// toggleFollow makes the calling user follow (follow: true) or unfollow
// (follow: false) an incident, or toggles when follow is absent. The user
// ids are in data.followerId. Asking for what already holds changes nothing.
func (g *Gateway) toggleFollow(ctx context.Context, call *Call) (any, error) {
	inc, r, err := g.sharedTarget(ctx, call, 0)
	if err != nil {
		return nil, err
	}
	if err := ownerOnly(r, "follow it"); err != nil {
		return nil, err
	}
	user := call.Caller.UserID
	following := false
	if list, ok := inc.Data["followerId"].([]any); ok {
		for _, f := range list {
			if f == user {
				following = true
			}
		}
	}
	want := !following
	if f, ok := call.Payload["follow"].(bool); ok {
		want = f
	}
	if want == following {
		return map[string]any{"id": inc.ID, "following": following, "dataVersion": inc.DataVersion}, nil
	}
	ch := newChange(call, inc)
	if want {
		ch.AddToSet = map[string]any{"data.followerId": user}
	} else {
		ch.Pull = map[string]any{"data.followerId": user}
	}
	ch.Activity.Fields = []string{"followerId"}
	v, err := g.commit(ctx, ch, "follow it")
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": inc.ID, "following": want, "dataVersion": v}, nil
}
