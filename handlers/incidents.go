package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/google/uuid"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Base states of an incident.
const (
	stateNew                = "New"
	stateUnderInvestigation = "UnderInvestigation"
	stateClosed             = "Closed"
)

// incidentSequence names the per-company counter behind INC-<n>.
const incidentSequence = "incident"

// systemFields are data fields the gateway maintains; a payload cannot set
// them, and a value sent for one is dropped with a warning.
var systemFields = []string{
	"aptBusinessObjectId", "aptBusinessObjectIntegerIdentifier", "fkProcessNetworkId",
	"dateSubmitted", "incidentConclusion", "followerId",
}

// addIncident creates an incident of process type pt in state New.
func (g *Gateway) addIncident(pt processType) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		h := call.Request.Header
		data := storablePayload(call)
		n, err := g.store.NextSequence(ctx, h.Dataspace, h.OwnerID, incidentSequence)
		if err != nil {
			return nil, err
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("new incident id: %w", err)
		}
		now := call.Now.UnixMilli()
		data["aptBusinessObjectId"] = "INC-" + strconv.FormatInt(n, 10)
		data["aptBusinessObjectIntegerIdentifier"] = n
		data["fkProcessNetworkId"] = h.ProcessNetworkID
		data["isSubmittedToPartner"] = false
		data["dateSubmitted"] = nil
		data["incidentConclusion"] = nil
		data["followerId"] = []any{}
		inc := &store.Incident{
			ID:               id.String(),
			Dataspace:        h.Dataspace,
			OwnerID:          h.OwnerID,
			NetworkID:        h.ProcessNetworkID,
			ProcessType:      pt.Name,
			SchemaVersion:    call.Request.Event.Version,
			DataVersion:      1,
			CreatedByUserID:  call.Caller.UserID,
			LastUpdatedBy:    call.Caller.UserID,
			CreatedAt:        now,
			LastUpdatedAt:    now,
			CurrentBaseState: stateNew,
			Number:           n,
			Data:             data,
		}
		if err := g.store.InsertIncident(ctx, inc); err != nil {
			return nil, err
		}
		return map[string]any{"id": inc.ID}, nil
	}
}

// readIncident returns the record of one incident visible to the caller.
func (g *Gateway) readIncident(pt processType) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		id, _ := call.Payload["id"].(string)
		inc, err := g.findVisible(ctx, call, pt, id)
		if err != nil {
			return nil, err
		}
		return newRecord(inc, call.Caller.CompanyID), nil
	}
}

// findVisible loads an incident of type pt that the caller may see in the
// header's dataspace and network. Anything else is the same 404, so that ids
// leak nothing.
func (g *Gateway) findVisible(ctx context.Context, call *Call, pt processType, id string) (*store.Incident, error) {
	h := call.Request.Header
	notFound := envelope.Errorf(envelope.KindObjectNotFound,
		"no %s with id %q is visible to company %q in process network %q", pt.Name, id, h.OwnerID, h.ProcessNetworkID)
	inc, err := g.store.FindIncident(ctx, h.Dataspace, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if inc.OwnerID != call.Caller.CompanyID || inc.NetworkID != h.ProcessNetworkID || inc.ProcessType != pt.Name {
		return nil, notFound
	}
	return inc, nil
}

// storablePayload copies the validated payload into the form the store keeps:
// json.Number becomes int64 or float64, and system fields are dropped with a
// warning.
func storablePayload(call *Call) map[string]any {
	data := storable(call.Payload).(map[string]any)
	for _, f := range systemFields {
		if _, sent := data[f]; sent {
			delete(data, f)
			call.Warnings = append(call.Warnings, "$."+f+": is maintained by the gateway; the value sent was ignored")
		}
	}
	return data
}

// storable converts decoded JSON into values the BSON encoder keeps exactly:
// integers that fit become int64, other numbers float64.
func storable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = storable(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = storable(e)
		}
		return out
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return v.String()
	}
	return v
}
