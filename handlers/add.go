package handlers

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// incidentSequence names the per-company counter behind INC-<n>.
const incidentSequence = "incident"

// addIncident creates an incident of process type pt in state New, with the
// comments of its comment box, submitted at once when isSubmittedToPartner
// is true.
func (g *Gateway) addIncident(pt processType) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		inc, err := g.createIncident(ctx, call, pt, payloadData(call), nil)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": inc.ID}, nil
	}
}

// createIncident stores a new incident of type pt holding data, as one
// insert that carries its comments and its first history entry. detail, if
// any, is recorded in that entry (copy names its source there).
func (g *Gateway) createIncident(ctx context.Context, call *Call, pt processType, data map[string]any, detail map[string]any) (*store.Incident, error) {
	submit, _ := data["isSubmittedToPartner"].(bool)
	partner := ""
	if submit {
		var err error
		if partner, err = g.checkPartner(pt, data, call.OwnerID, call.NetworkID); err != nil {
			return nil, err
		}
	}
	n, err := g.store.NextSequence(ctx, call.Dataspace, call.OwnerID, incidentSequence)
	if err != nil {
		return nil, err
	}
	now := call.Now.UnixMilli()
	fields := slices.AppendSeq(make([]string, 0, len(data)), maps.Keys(data))
	slices.Sort(fields)
	data["aptBusinessObjectId"] = "INC-" + strconv.FormatInt(n, 10)
	data["aptBusinessObjectIntegerIdentifier"] = n
	data["fkProcessNetworkId"] = call.NetworkID
	data["isSubmittedToPartner"] = submit
	data["dateSubmitted"] = nil
	if submit {
		data["dateSubmitted"] = now
	}
	data["incidentConclusion"] = nil
	data["followerId"] = []any{}

	comments := commentsFrom(call)
	activity := newActivity(call)
	activity.DataVersion = 1
	activity.Fields = fields
	activity.StateTo = stateNew
	activity.CommentIDs = commentIDs(comments)
	if len(detail) > 0 {
		if activity.Detail == nil {
			activity.Detail = map[string]any{}
		}
		maps.Copy(activity.Detail, detail)
	}
	inc := &store.Incident{
		ID:               newID(),
		Dataspace:        call.Dataspace,
		OwnerID:          call.OwnerID,
		NetworkID:        call.NetworkID,
		ProcessType:      pt.Name,
		SchemaVersion:    pt.Add,
		DataVersion:      1,
		CreatedByUserID:  call.Caller.UserID,
		LastUpdatedBy:    call.Caller.UserID,
		CreatedAt:        now,
		LastUpdatedAt:    now,
		CurrentBaseState: stateNew,
		Number:           n,
		PartnerID:        partner,
		Data:             data,
		Comments:         comments,
		Activities:       []store.Activity{activity},
	}
	if err := g.store.InsertIncident(ctx, inc); err != nil {
		return nil, err
	}
	call.Incident = inc
	return inc, nil
}
