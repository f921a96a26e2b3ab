package handlers

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// closeObject closes an open object of kind k: it records the kind's
// conclusion (its ConclusionFields and dateClosed), merges the other fields
// it sends, and adds the comments of its comment boxes, as one atomic
// write. A kind with children closes only when none of them is open
// (closeGuard).
func (g *Gateway) closeObject(k *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		conclusion := map[string]any{"dateClosed": call.Now.UnixMilli()}
		for _, f := range k.ConclusionFields {
			if v, ok := call.Payload[f]; ok {
				conclusion[f] = jsonvalue.Copy(v)
			}
		}
		data := payloadData(call, k, append(k.ConclusionFields, "isSubmittedToPartner")...)
		comments := commentsFrom(call)
		partnerNote := ""
		inc, _, err := g.mutate(ctx, call, k, stringField(call.Payload, "id"), 0, func(inc *store.Incident, r role) (*change, error) {
			if !(r == rolePartner && k.PartnerCloses) {
				if err := ownerOnly(k, r, "close it"); err != nil {
					return nil, err
				}
			}
			switch inc.CurrentBaseState {
			case k.States.Closed:
				return nil, envelope.Errorf(envelope.KindInvalidStateTransition,
					"%s %s is already Closed", IncidentName(inc), inc.ID)
			case k.States.Removed:
				return nil, removedError(k, inc)
			}
			if err := g.closeGuard(ctx, call, k, inc); err != nil {
				return nil, err
			}
			ch := newChange(call, inc)
			ch.mergeData(data)
			var err error
			if partnerNote, err = g.follow(k, ch, data); err != nil {
				return nil, err
			}
			ch.setData(k.Conclusion, conclusion)
			ch.setState(k.States.Closed)
			ch.addComments(comments)
			return ch, nil
		})
		if err == nil && partnerNote != "" {
			call.Warnings = append(call.Warnings, partnerNote)
		}
		return changedAnswer(inc, err)
	}
}
