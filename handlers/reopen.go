package handlers

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// reopenIncident moves a Closed incident to UnderInvestigation and clears
// incidentConclusion; the history entry keeps the conclusion it cleared.
func (g *Gateway) reopenIncident(pt processType) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		for _, f := range conclusionFields {
			if _, sent := call.Payload[f]; sent {
				call.Warnings = append(call.Warnings, "$."+f+": ignored by reopen, which clears the conclusion")
			}
		}
		data := payloadData(call, append(conclusionFields, "isSubmittedToPartner")...)
		comments := commentsFrom(call)
		partnerNote := ""
		inc, _, err := g.mutate(ctx, call, pt, stringField(call.Payload, "id"), 0, func(inc *store.Incident, r role) (*change, error) {
			if err := ownerOnly(r, "reopen it"); err != nil {
				return nil, err
			}
			if inc.CurrentBaseState != stateClosed {
				return nil, envelope.Errorf(envelope.KindInvalidStateTransition,
					"%s %s is %s, not Closed; only a Closed incident can be reopened", IncidentName(inc), inc.ID, inc.CurrentBaseState)
			}
			ch := newChange(call, inc)
			ch.mergeData(data)
			var err error
			if partnerNote, err = g.followPartner(ch, data); err != nil {
				return nil, err
			}
			ch.setData("incidentConclusion", nil)
			ch.Activity.Detail = map[string]any{"clearedIncidentConclusion": inc.Data["incidentConclusion"]}
			ch.setState(stateUnderInvestigation)
			ch.addComments(comments)
			return ch, nil
		})
		if err == nil && partnerNote != "" {
			call.Warnings = append(call.Warnings, partnerNote)
		}
		return changedAnswer(inc, err)
	}
}
