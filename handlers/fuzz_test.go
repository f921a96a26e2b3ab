package handlers

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
)

// fuzzSchemas are the schemas FuzzPayloadValidation checks every payload
// against: an add, an edit, a comment and a close, between them most of
// defs.json.
var fuzzSchemas = []string{
	"add-incident.v5.json",
	"edit-direct-supplier-incident.v3.json",
	"add-comment-for-incident.v1.json",
	"close-internal-manufacturing-incident.v2.json",
}

// FuzzPayloadValidation: no payload panics check; it answers warnings, or a
// SchemaValidationException whose errMsg is {"validation-failed": [...]}, a
// non-empty list of "<JSON path>: <reason>" entries.
//
//	go test ./handlers -run '^$' -fuzz '^FuzzPayloadValidation$' -fuzztime 60s
func FuzzPayloadValidation(f *testing.F) {
	set, err := schema.NewSet()
	if err != nil {
		f.Fatal(err)
	}
	schemas := make([]*schema.Payload, len(fuzzSchemas))
	for i, file := range fuzzSchemas {
		if schemas[i], err = set.Load(file); err != nil {
			f.Fatal(err)
		}
	}
	err = filepath.WalkDir(samplesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var env struct {
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(raw, &env) == nil && len(env.Payload) > 0 {
			f.Add([]byte(env.Payload))
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{}`, `{"aptBusinessObjectSummary":"x"}`, `{"aptBusinessObjectSummary":5,"businessPriority":"nope"}`,
		`{"id":"x","businessPriority":"medium","resolutionDueDate":1.5}`, `{"$where":1,"a.b":{"":2}}`,
		`{"impactedProducts":[{"productDetailId":1,"impactedLots":[]}]}`, `{"aptCommentBox":[{"aptComment":null}]}`,
		`{"id":"x","dataVersion":0,"incidentConclusion":"x","copyRelatedProceses":true}`,
		`{"resolutionDueDate":-1e308,"impactedProducts":"x","referenceIdentifiers":[{"referenceTransactionType":"INVOICE_NUMBER"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		body := []byte(`{"header":{},"payload":` + string(payload) + `}`)
		for i, s := range schemas {
			// check rewrites the payload (enum spelling), so each schema
			// gets a fresh copy.
			req, err := envelope.ParseRequest(body)
			if err != nil {
				return // the gateway never gets this far with it
			}
			warnings, perr := s.Check(req.Payload)
			if perr == nil {
				for _, w := range warnings {
					if !strings.Contains(w, ": ") {
						t.Fatalf("%s: warning %q is not <path>: <reason>", fuzzSchemas[i], w)
					}
				}
				continue
			}
			if perr.Kind != envelope.KindSchemaValidation {
				t.Fatalf("%s: error of kind %v: %s", fuzzSchemas[i], perr.Kind, perr.Message)
			}
			var msg map[string][]string
			if err := json.Unmarshal([]byte(perr.Message), &msg); err != nil || len(msg) != 1 {
				t.Fatalf("%s: errMsg is not {\"validation-failed\": [...]}: %s (%v)", fuzzSchemas[i], perr.Message, err)
			}
			list, ok := msg["validation-failed"]
			if !ok || len(list) == 0 {
				t.Fatalf("%s: errMsg has no problems listed: %s", fuzzSchemas[i], perr.Message)
			}
			for _, p := range list {
				if !strings.HasPrefix(p, "$") || !strings.Contains(p, ": ") {
					t.Fatalf("%s: problem %q is not <JSON path>: <reason>", fuzzSchemas[i], p)
				}
			}
		}
	})
}
