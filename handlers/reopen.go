package handlers

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// reopenObject moves a Closed object of kind k to the kind's reopened state
// and clears its conclusion; the history entry keeps the conclusion it
// cleared. A child reopens only while its parent is open (reopenGuard).
func (g *Gateway) reopenObject(k *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		for _, f := range k.ConclusionFields {
			if _, sent := call.Payload[f]; sent {
				call.Warnings = append(call.Warnings, "$."+f+": ignored by reopen, which clears the conclusion")
			}
		}
		data := payloadData(call, k, append(k.ConclusionFields, "isSubmittedToPartner")...)
		comments := commentsFrom(call)
		partnerNote := ""
		inc, _, err := g.mutate(ctx, call, k, stringField(call.Payload, "id"), 0, func(inc *store.Incident, r role) (*change, error) {
			if err := ownerOnly(k, r, "reopen it"); err != nil {
				return nil, err
			}
			if inc.CurrentBaseState != k.States.Closed {
				return nil, envelope.Errorf(envelope.KindInvalidStateTransition,
					"%s %s is %s, not Closed; only a Closed %s can be reopened", IncidentName(inc), inc.ID, inc.CurrentBaseState, k.Label)
			}
			if err := g.parentMustBeOpen(ctx, call, k, inc, "reopen it"); err != nil {
				return nil, err
			}
			ch := newChange(call, inc)
			ch.mergeData(data)
			var err error
			if partnerNote, err = g.follow(k, ch, data); err != nil {
				return nil, err
			}
			ch.setData(k.Conclusion, nil)
			ch.Activity.Detail = map[string]any{"cleared" + upperFirst(k.Conclusion): inc.Data[k.Conclusion]}
			ch.setState(k.States.Reopened)
			ch.addComments(comments)
			return ch, nil
		})
		if err == nil && partnerNote != "" {
			call.Warnings = append(call.Warnings, partnerNote)
		}
		return changedAnswer(inc, err)
	}
}
