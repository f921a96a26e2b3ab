package handlers

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// readIncident returns the record of one incident the caller may see: its
// owner, or its partner once it is submitted.
func (g *Gateway) readIncident(pt processType) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		inc, _, err := g.findVisible(ctx, call, pt, stringField(call.Payload, "id"), 0)
		if err != nil {
			return nil, err
		}
		call.Incident = inc
		return newRecord(inc, call.Caller.CompanyID), nil
	}
}

// record is the incident as read events return it.
type record struct {
	ID                  string `json:"id"`
	ObjectType          string `json:"objectType"`
	SchemaID            string `json:"schemaId"`
	SchemaVersion       int    `json:"schemaVersion"`
	DataVersion         int64  `json:"dataVersion"`
	OwnerID             string `json:"ownerId"`
	ContextualOwnerID   string `json:"contextualOwnerId"`
	CreatedByUserID     string `json:"createdByUserId"`
	LastUpdatedByUserID string `json:"lastUpdatedByUserId"`
	CreationDateTime    int64  `json:"creationDateTime"`
	LastUpdatedDateTime int64  `json:"lastUpdatedDateTime"`
	CurrentBaseState    string `json:"currentBaseState"`
	// Data is the incident's data: the text the store keeps of it when it
	// has it (json.RawMessage), so that a read does not encode it again,
	// or the map.
	Data any `json:"data"`
}

// newRecord renders a stored incident for the company reading it.
func newRecord(inc *store.Incident, reader string) *record {
	pt, _ := lookupProcessType(inc.ProcessType)
	objectType := pt.objectType()
	return &record{
		ID:                  inc.ID,
		ObjectType:          objectType,
		SchemaID:            objectType + ":v" + strconv.Itoa(inc.SchemaVersion),
		SchemaVersion:       inc.SchemaVersion,
		DataVersion:         inc.DataVersion,
		OwnerID:             inc.OwnerID,
		ContextualOwnerID:   reader,
		CreatedByUserID:     inc.CreatedByUserID,
		LastUpdatedByUserID: inc.LastUpdatedBy,
		CreationDateTime:    inc.CreatedAt,
		LastUpdatedDateTime: inc.LastUpdatedAt,
		CurrentBaseState:    inc.CurrentBaseState,
		Data:                recordData(inc),
	}
}

// recordData is what a record holds of the incident's data (record.Data).
func recordData(inc *store.Incident) any {
	if text := inc.DataText(); text != "" {
		return json.RawMessage(text)
	}
	return inc.Data
}
