package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// historyLen is how many entries the incident's activity history has.
func historyLen(t *testing.T, h *gt.Harness, c gt.Client, processType, id string) int {
	t.Helper()
	var hist struct {
		Activities []json.RawMessage `json:"activities"`
	}
	h.Send(t, c, history, map[string]any{"id": id, "processType": processType}).MustOK(t).Decode(t, &hist)
	return len(hist.Activities)
}

// An integer that int64 cannot hold would be stored as a float, losing
// digits: it is refused, naming where it is, and one that fits is kept to
// the last digit.
func TestIntegersBeyond64BitsAreRefusedNotRounded(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	for _, tc := range []struct{ payload, path string }{
		{`{"aptBusinessObjectSummary": "x", "resolutionDueDate": 12345678901234567890123}`, "$.resolutionDueDate"},
		{`{"aptBusinessObjectSummary": "x", "impactedProducts": [{"productDetailId": "P", "quantity": -9223372036854775809}]}`, "$.impactedProducts[0].quantity"},
		{`{"aptBusinessObjectSummary": "x", "someCounter": 18446744073709551616}`, "$.someCounter"},
	} {
		r := sendRaw(t, h, gt.Acme, addIncident, tc.payload).MustFail(t, http.StatusBadRequest, "SchemaValidationException")
		if !strings.Contains(r.Header.ErrMsg, tc.path+": integer") || !strings.Contains(r.Header.ErrMsg, "64 bits") {
			t.Fatalf("%s: errMsg does not name %s as beyond 64 bits: %s", tc.payload, tc.path, r.Header.ErrMsg)
		}
	}
	if list := gt.StoredIncidents(t, h.Store, "default", "acme"); len(list) != 0 {
		t.Fatalf("%d incidents stored from refused payloads", len(list))
	}
	var added idVersion
	sendRaw(t, h, gt.Acme, addIncident, `{"aptBusinessObjectSummary": "x", "someCounter": 9223372036854775807, "low": -9223372036854775808}`).MustOK(t).Decode(t, &added)
	r := h.Send(t, gt.Acme, readIncident, map[string]any{"id": added.ID}).MustOK(t)
	if !bytes.Contains(r.Payload, []byte(`"someCounter":9223372036854775807`)) || !bytes.Contains(r.Payload, []byte(`"low":-9223372036854775808`)) {
		t.Fatalf("an int64 was not kept exactly: %s", r.Payload)
	}
}

// The envelope API refuses text that is not UTF-8 and names the field that
// holds it, as the REST API does.
func TestInvalidUTF8IsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	body := bytes.Replace(gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "caf-"}), []byte("caf-"), []byte("caf\xe9"), 1)
	r := h.Post(t, body, gt.Basic(gt.Acme), nil).MustFail(t, http.StatusBadRequest, "MalformedEnvelopeException")
	if !strings.Contains(r.Header.ErrMsg, "$.payload.aptBusinessObjectSummary: body is not valid UTF-8") {
		t.Fatalf("errMsg does not name the field: %s", r.Header.ErrMsg)
	}

	token, _ := login(t, h, gt.Tim)
	for _, tc := range []struct{ body, field string }{
		{"{\"subject\": \"caf\xe9\", \"requesterEmail\": \"tim@acme.example\"}", "$.subject"},
		{"{\"subject\": \"s\", \"requesterEmail\": \"tim@acme.example\", \"fieldValueDetails\": {\"1\": {\"type\": 1, \"stringValue\": \"\xff\xfe\"}}}", `$.fieldValueDetails["1"].stringValue`},
		{"{\"subject\": \"s\", \"requesterEmail\": \"tim@acme.example\", \"fieldValueDetails\": {\"\x80\": {\"type\": 1}}}", "$.fieldValueDetails (a key)"},
	} {
		a := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, tc.body)
		if a.Status != http.StatusBadRequest || !strings.Contains(a.Body["error_description"].(string), tc.field+": body is not valid UTF-8") {
			t.Fatalf("invalid UTF-8 at %s: %d %s", tc.field, a.Status, a.Raw)
		}
	}
	created := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, map[string]any{"subject": "ok", "requesterEmail": gt.Tim.Username})
	id, _ := created.Body["id"].(string)
	a := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+id, token, "{\"description\": \"\xc3\x28\"}")
	if a.Status != http.StatusBadRequest || !strings.Contains(a.Raw, "$.description") {
		t.Fatalf("PATCH with invalid UTF-8: %d %s", a.Status, a.Raw)
	}
	if list := gt.StoredIncidents(t, h.Store, "default", "acme"); len(list) != 1 || list[0].DataVersion != 1 {
		t.Fatalf("refused bodies were stored: %+v", list)
	}
}

// fieldValueDetails keys that start with '$' or hold '.' or NUL would be
// read by MongoDB as operators or paths: they are refused, at any depth, as
// are integers beyond 64 bits in its values.
func TestRESTFieldValueDetailsRefusesKeysTheStoreWouldMisread(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	token, _ := login(t, h, gt.Tim)
	for _, details := range []string{
		`{"$where": {"type": 1}}`,
		`{"a.b": {"type": 1}}`,
		`{"1": {"$gt": 1}}`,
		`{"1": {"x.y": 1}}`,
		`{"1\u0000": {"type": 1}}`,
		`{"1": {"type": 123456789012345678901}}`,
	} {
		a := restJSON(t, h, http.MethodPost, "/api/v1/incident", token,
			`{"subject": "s", "requesterEmail": "tim@acme.example", "fieldValueDetails": `+details+`}`)
		errs, _ := a.Body["errors"].([]any)
		if a.Status != http.StatusBadRequest || len(errs) != 1 || errs[0].(map[string]any)["field"] != "fieldValueDetails" {
			t.Fatalf("fieldValueDetails %s: %d %s", details, a.Status, a.Raw)
		}
		created := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, map[string]any{"subject": "ok", "requesterEmail": gt.Tim.Username})
		p := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+created.Body["id"].(string), token, `{"customFieldValueDetails": `+details+`}`)
		if p.Status != http.StatusBadRequest {
			t.Fatalf("PATCH with customFieldValueDetails %s: %d %s", details, p.Status, p.Raw)
		}
	}
}

// A retry whose client serialized the same body again (other whitespace,
// key order, escapes) is a retry: it gets the first answer, not 422.
func TestRESTRetryOfAReserializedBodyIsARetry(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	token, _ := login(t, h, gt.Tim)
	post := func(body string) *restAnswer {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/incident", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", "reserialized")
		return restDo(t, req)
	}
	first := post(`{"subject":"café","requesterEmail":"tim@acme.example","tags":["a","b"],"category":5}`)
	again := post("{\n  \"category\": 5,\n  \"tags\": [ \"a\", \"b\" ],\n  \"requesterEmail\": \"tim@acme.example\",\n  \"subject\": \"caf\\u00e9\"\n}")
	if first.Status != 200 || again.Status != 200 || again.Raw != first.Raw || again.HTTP.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry of a re-serialized body: first %d %s, again %d %s", first.Status, first.Raw, again.Status, again.Raw)
	}
	// Other content is still another request.
	if other := post(`{"subject":"café","requesterEmail":"tim@acme.example","tags":["b","a"],"category":5}`); other.Status != 422 {
		t.Fatalf("the key with other content: %d %s", other.Status, other.Raw)
	}
	if list := gt.StoredIncidents(t, h.Store, "default", "acme"); len(list) != 1 {
		t.Fatalf("%d incidents, want 1", len(list))
	}
}

// A deployment that does not serve the dataspace "default" keeps REST
// incidents in its first dataspace, where the envelope API reads them.
func TestRESTUsesAServedDataspace(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{Dataspaces: []string{"prod", "test"}})
	token, _ := login(t, h, gt.Tim)
	created := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, map[string]any{"subject": "where", "requesterEmail": gt.Tim.Username})
	id, _ := created.Body["id"].(string)
	if created.Status != 200 {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	if a := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+id, token, map[string]any{"subject": "moved"}); a.Status != 200 || a.Body["dataVersion"] != 2.0 {
		t.Fatalf("patch: %d %s", a.Status, a.Raw)
	}
	header := gt.Header(gt.Acme, readIncident)
	header["dataspace"] = "prod"
	body, _ := json.Marshal(map[string]any{"header": header, "payload": map[string]any{"id": id}})
	var rec incidentRecord
	h.Post(t, body, gt.Basic(gt.Acme), nil).MustOK(t).Decode(t, &rec)
	if rec.Data["aptBusinessObjectSummary"] != "moved" {
		t.Fatalf("read in prod: %+v", rec)
	}
	if list := gt.StoredIncidents(t, h.Store, "default", "acme"); len(list) != 0 {
		t.Fatalf("%d incidents in the dataspace that is not served", len(list))
	}
}

// An edit or PATCH that changes nothing answers success with the same
// dataVersion and writes no version: the history does not grow.
func TestEmptyEditsAndPatchesWriteNothing(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	const edit = "agile-process-teams:edit-incident:v5"
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "same", "businessPriority": "HIGH",
		"resolutionDueDate": 1681640075000, "incidentImpact": map[string]any{"businessImpact": "big", "financialImpact": 5},
		"referenceIdentifiers": []any{map[string]any{"referenceTransactionType": "PO", "value": "PO-1"}}})
	for i, payload := range []string{
		fmt.Sprintf(`{"id": %q}`, id),
		fmt.Sprintf(`{"id": %q, "dataVersion": 1}`, id),
		fmt.Sprintf(`{"id": %q, "aptBusinessObjectSummary": "same", "businessPriority": "high", "resolutionDueDate": 1.681640075e12}`, id),
		fmt.Sprintf(`{"id": %q, "incidentImpact": {"financialImpact": 5.0}, "referenceIdentifiers": [{"value": "PO-1", "referenceTransactionType": "PO"}]}`, id),
		fmt.Sprintf(`{"id": %q, "incidentImpact": {}}`, id),
	} {
		r := sendRaw(t, h, gt.Acme, edit, payload).MustOK(t)
		var out idVersion
		r.Decode(t, &out)
		if out.DataVersion != 1 || len(r.Header.Warnings) == 0 || !strings.Contains(strings.Join(r.Header.Warnings, " "), "nothing changed") {
			t.Fatalf("empty edit %d answered dataVersion %d, warnings %v", i, out.DataVersion, r.Header.Warnings)
		}
	}
	if n := historyLen(t, h, gt.Acme, "incident", id); n != 1 {
		t.Fatalf("empty edits wrote %d history entries, want only the add's", n)
	}
	// A stale version is still a conflict, even with nothing to change.
	step(t, h, gt.Acme, edit, map[string]any{"id": id, "aptBusinessObjectSummary": "changed"}, nil)
	sendRaw(t, h, gt.Acme, edit, fmt.Sprintf(`{"id": %q, "dataVersion": 1}`, id)).MustFail(t, http.StatusConflict, "ConcurrentModificationException")

	token, _ := login(t, h, gt.Tim)
	created := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, map[string]any{"subject": "rest", "requesterEmail": gt.Tim.Username,
		"tags": []any{"a"}, "priority": "urgent", "fieldValueDetails": map[string]any{"1": map[string]any{"type": 1, "stringValue": "Open"}}})
	rid, _ := created.Body["id"].(string)
	for _, body := range []string{`{}`, `{"dataVersion": 1}`, `{"subject": "rest", "tags": ["a"], "priority": "URGENT"}`,
		`{"customFieldValueDetails": {"1": {"stringValue": "Open", "type": 1.0}}}`} {
		a := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+rid, token, body)
		if a.Status != 200 || a.Body["dataVersion"] != 1.0 {
			t.Fatalf("empty PATCH %s: %d %s", body, a.Status, a.Raw)
		}
	}
	if n := historyLen(t, h, gt.Acme, "incident", rid); n != 1 {
		t.Fatalf("empty PATCHes wrote %d history entries, want only the create's", n)
	}
	if a := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+rid, token, `{"subject": "rest", "description": "new"}`); a.Body["dataVersion"] != 2.0 {
		t.Fatalf("a PATCH that changes something: %s", a.Raw)
	}
}
