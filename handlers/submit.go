package handlers

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// submitIncident submits an open incident to the partner company its data
// names, which must belong to the incident's network. From then on the
// partner can read it, comment and respond. A second submit is 409.
func (g *Gateway) submitIncident(pt processType) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		inc, v, err := g.mutate(ctx, call, pt, stringField(call.Payload, "id"), 0, func(inc *store.Incident, r role) (*change, error) {
			if err := ownerOnly(r, "submit it"); err != nil {
				return nil, err
			}
			if err := mustBeOpen(inc, "submit it"); err != nil {
				return nil, err
			}
			if inc.PartnerID != "" {
				return nil, envelope.Errorf(envelope.KindInvalidStateTransition,
					"%s %s was already submitted to partner %q", incidentName(inc), inc.ID, inc.PartnerID)
			}
			partner, err := g.checkPartner(pt, inc.Data, inc.OwnerID, inc.NetworkID)
			if err != nil {
				return nil, err
			}
			ch := newChange(call, inc)
			ch.IfStates = openStates
			ch.IfNotSubmitted = true
			ch.Set["partnerId"] = partner
			ch.setData("isSubmittedToPartner", true)
			ch.setData("dateSubmitted", call.Now.UnixMilli())
			ch.Activity.Detail = map[string]any{"partnerId": partner}
			return ch, nil
		})
		return changedAnswer(inc, v, err)
	}
}
