package handlers

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// readObject returns the record of one object of kind k the caller may
// see: its owner, its partner once it is shared, or, for a kind shared with
// the network, a member.
func (g *Gateway) readObject(k *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		// The data is sent as the store keeps its text (recordData).
		inc, _, err := g.findVisible(ctx, call, k, stringField(call.Payload, "id"), store.DataAsText)
		if err != nil {
			return nil, err
		}
		call.Incident = inc
		return newRecord(inc, call.Caller.CompanyID), nil
	}
}

// record is the incident as read events return it: its metadata, then
// its data.
type record struct {
	recordMeta
	// Data is the incident's data: the text the store keeps of it when it
	// has it (json.RawMessage), so that a read does not encode it again,
	// or the map.
	Data any `json:"data"`
}

// recordMeta is a record without its data.
type recordMeta struct {
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
}

// newRecord renders a stored incident for the company reading it.
func newRecord(inc *store.Incident, reader string) *record {
	objectType := appAPT + ":" + inc.ProcessType
	if k, ok := lookupKind(inc.ProcessType); ok {
		objectType = k.objectType()
	}
	return &record{recordMeta: recordMeta{
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
	}, Data: recordData(inc)}
}

// recordData is what a record holds of the incident's data (record.Data).
func recordData(inc *store.Incident) any {
	if text := inc.DataText(); text != "" {
		return json.RawMessage(text)
	}
	return inc.Data
}

// AppendJSON writes the record as json.Marshal does (envelope.TextPayload),
// its data's stored text spliced in, without the check and copy
// json.Marshal makes of a json.RawMessage. Stored text is compact, with
// keys in order; the escapes json.Marshal adds when it copies text are
// added here (jsonvalue.AppendEscapedText).
func (r *record) AppendJSON(dst []byte) ([]byte, error) {
	raw, ok := r.Data.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(r)
		return append(dst, b...), err
	}
	dst = r.recordMeta.appendFields(dst)
	dst = append(dst, `,"data":`...)
	dst = jsonvalue.AppendEscapedText(dst, raw)
	return append(dst, '}'), nil
}

// appendFields appends the metadata as json.Marshal writes it, without its
// closing brace.
func (m *recordMeta) appendFields(b []byte) []byte {
	str := jsonvalue.AppendMarshalledString
	b = str(append(b, `{"id":`...), m.ID)
	b = str(append(b, `,"objectType":`...), m.ObjectType)
	b = str(append(b, `,"schemaId":`...), m.SchemaID)
	b = strconv.AppendInt(append(b, `,"schemaVersion":`...), int64(m.SchemaVersion), 10)
	b = strconv.AppendInt(append(b, `,"dataVersion":`...), m.DataVersion, 10)
	b = str(append(b, `,"ownerId":`...), m.OwnerID)
	b = str(append(b, `,"contextualOwnerId":`...), m.ContextualOwnerID)
	b = str(append(b, `,"createdByUserId":`...), m.CreatedByUserID)
	b = str(append(b, `,"lastUpdatedByUserId":`...), m.LastUpdatedByUserID)
	b = strconv.AppendInt(append(b, `,"creationDateTime":`...), m.CreationDateTime, 10)
	b = strconv.AppendInt(append(b, `,"lastUpdatedDateTime":`...), m.LastUpdatedDateTime, 10)
	return str(append(b, `,"currentBaseState":`...), m.CurrentBaseState)
}
