package handlers

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// closeIncident closes an open incident: it records incidentConclusion
// (resolutionType, isReoccuring, finalRootCause, closingStatement, dateClosed),
// merges the other fields it sends, and adds the comments of its comment
// boxes, as one atomic write.
func (g *Gateway) closeIncident(pt processType) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		conclusion := map[string]any{"dateClosed": call.Now.UnixMilli()}
		for _, f := range conclusionFields {
			if v, ok := call.Payload[f]; ok {
				conclusion[f] = jsonvalue.Copy(v)
			}
		}
		data := payloadData(call, append(conclusionFields, "isSubmittedToPartner")...)
		comments := commentsFrom(call)
		partnerNote := ""
		inc, _, err := g.mutate(ctx, call, pt, stringField(call.Payload, "id"), 0, func(inc *store.Incident, r role) (*change, error) {
			if err := ownerOnly(r, "close it"); err != nil {
				return nil, err
			}
			if inc.CurrentBaseState == stateClosed {
				return nil, envelope.Errorf(envelope.KindInvalidStateTransition,
					"%s %s is already Closed", IncidentName(inc), inc.ID)
			}
			ch := newChange(call, inc)
			ch.mergeData(data)
			var err error
			if partnerNote, err = g.followPartner(ch, data); err != nil {
				return nil, err
			}
			ch.setData("incidentConclusion", conclusion)
			ch.setState(stateClosed)
			ch.addComments(comments)
			return ch, nil
		})
		if err == nil && partnerNote != "" {
			call.Warnings = append(call.Warnings, partnerNote)
		}
		return changedAnswer(inc, err)
	}
}
