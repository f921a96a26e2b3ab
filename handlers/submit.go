package handlers

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// submitObject submits an open object of kind k to the partner company its data
// names, which must belong to the incident's network. From then on the
// partner can read it, comment and respond.
//
// The payload may name the partner itself (partnerCompany or
// responsibleEntity, merged into the data as an edit merges them). So a
// submitted incident is handed to another partner by submitting it to that
// partner: the new partner can read it at once, the previous one no longer
// can, and the history entry names both (detail.partnerFrom). Submitting
// it again to the partner it is submitted to is 409.
func (g *Gateway) submitObject(k *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		named := partnerFieldsOf(payloadData(call, k))
		inc, _, err := g.mutate(ctx, call, k, stringField(call.Payload, "id"), 0, func(inc *store.Incident, r role) (*change, error) {
			if err := ownerOnly(k, r, "submit it"); err != nil {
				return nil, err
			}
			if err := mustBeOpen(k, inc, "submit it"); err != nil {
				return nil, err
			}
			partner := partnerAfter(inc.Data, named)
			if inc.PartnerID != "" && partner == inc.PartnerID {
				return nil, envelope.Errorf(envelope.KindInvalidStateTransition,
					"%s %s was already submitted to partner %q; to hand it to another partner, submit it with that partner in partnerCompany.partnerId (or change partnerCompany.partnerId in an edit)",
					IncidentName(inc), inc.ID, inc.PartnerID)
			}
			if err := g.checkSubmission(k, partner, inc.OwnerID, inc.NetworkID); err != nil {
				return nil, err
			}
			ch := newChange(call, inc)
			ch.mergeData(named)
			ch.Set["partnerId"] = partner
			ch.setData("isSubmittedToPartner", true)
			ch.setData("dateSubmitted", call.Now.UnixMilli())
			ch.detail("partnerId", partner)
			if inc.PartnerID != "" {
				ch.detail("partnerFrom", inc.PartnerID)
			}
			return ch, nil
		})
		return changedAnswer(inc, err)
	}
}
