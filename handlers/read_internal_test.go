package handlers

import (
	"encoding/json"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// A read answer that splices the data's stored text is byte for byte the
// answer json.Marshal writes of the data itself, HTML characters, line
// separators and all.
func TestARecordWithStoredTextIsWhatMarshalWrites(t *testing.T) {
	t.Parallel()
	for _, data := range []map[string]any{
		{"aptBusinessObjectSummary": "plain", "n": int64(3), "list": []any{true, nil, 1.5}},
		{"html": "<b>&amp;</b>", "nested": map[string]any{"x": "a > b & c < d"}},
		{"unicode": "caf\u00e9 \u2028 \u2029 \U0001F600", "escapes": "tab\t\"quote\" back\\slash\n"},
		{},
	} {
		inc := &store.Incident{ID: "inc-1", ProcessType: "incident", SchemaVersion: 5, DataVersion: 2, OwnerID: "acme <&> \"co\"",
			CreatedByUserID: "u1\n", LastUpdatedBy: "u2\u00e9", CreatedAt: -1, LastUpdatedAt: 1 << 50, CurrentBaseState: "New", Data: data}
		want, err := (&envelope.Response{Header: envelope.ResponseHeader{HeaderVersion: 1, ErrCode: envelope.OKCode, LicensePlate: "p"},
			Payload: newRecord(inc, "acme")}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := json.Marshal(&envelope.Response{Header: envelope.ResponseHeader{HeaderVersion: 1, ErrCode: envelope.OKCode, LicensePlate: "p"},
			Payload: newRecord(inc, "acme")}); string(again) != string(want) {
			t.Fatalf("Marshal of a record without text differs from json.Marshal:\n%s\n%s", want, again)
		}
		text, err := jsonvalue.AppendJSON(nil, data)
		if err != nil {
			t.Fatal(err)
		}
		inc.SetDataText(string(text))
		rec := newRecord(inc, "acme")
		if _, ok := rec.Data.(json.RawMessage); !ok {
			t.Fatal("the record does not hold the stored text")
		}
		got, err := (&envelope.Response{Header: envelope.ResponseHeader{HeaderVersion: 1, ErrCode: envelope.OKCode, LicensePlate: "p"},
			Payload: rec}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("with the stored text:\n got %s\nwant %s", got, want)
		}
	}
}
