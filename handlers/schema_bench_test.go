package handlers

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/internal/schema"
)

// BenchmarkValidateLargestSample measures the schema check (canonical
// enums, validation, unknown-field walk) of the largest published payload.
func BenchmarkValidateLargestSample(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "examples", "scwm-samples", "directSupplierIncident", "addDirSupIncidentPayloadTemplate.json"))
	if err != nil {
		b.Fatal(err)
	}
	set, err := schema.NewSet()
	if err != nil {
		b.Fatal(err)
	}
	sch, err := set.Load("add-direct-supplier-incident.v3.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var env struct {
			Payload map[string]any `json:"payload"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&env); err != nil {
			b.Fatal(err)
		}
		if _, perr := sch.Check(env.Payload); perr != nil {
			b.Fatal(perr)
		}
	}
}
