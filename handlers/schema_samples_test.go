package handlers

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
)

// samplesDir holds the published SCWM sample envelopes, one folder per
// process type plus shared/.
const samplesDir = "../examples/scwm-samples"

// invalidSamples are published samples that are not JSON at all (the payload
// object is never closed); there is nothing to validate in them.
var invalidSamples = map[string]bool{
	"indirectSupplierIncident/readIndSupIncPayloadTemplate.json":      true,
	"internalManufacturingIncident/readIntMfgIncPayloadTemplate.json": true,
	"task/readTaskPayloadTemplate.json":                               true,
}

// sampleOutcome is what checking one sample's payload must produce. Samples
// not listed must pass without warnings.
type sampleOutcome struct {
	warnings []string
	problems []string // non-empty: the sample must fail with exactly these
}

var sampleOutcomes = map[string]sampleOutcome{
	// Misspelled copy flags: stored as sent, named in a warning.
	"indirectSupplierIncident/copyIndSupIncPayloadTemplate.json": {warnings: []string{
		"$.copyRelatedProceses: unknown field (did you mean copyRelatedProcesses?)",
	}},
	"internalManufacturingIncident/copyIntMfgIncPayloadTemplate.json": {warnings: []string{
		"$.copymaterialInfo: unknown field (did you mean copyMaterialInfo?)",
	}},
	// Edits that send another process type's impact object.
	"externalManufacturingIncident/editMfgIncPartnerImpactPayloadTemplate.json": {warnings: []string{
		"$.directSupplierImpact: unknown field",
	}},
	"internalManufacturingIncident/editIntMfgIncImpactPayloadTemplate.json": {warnings: []string{
		"$.indirectSupplierImpact: unknown field",
	}},
	// A misplaced closing brace puts the impact, products, locations,
	// escalation report, related processes and comment box inside
	// externalManufacturingResponse instead of at the top of the payload.
	"externalManufacturingIncident/addExtMfgIncidentPayloadTemplate.json": {warnings: []string{
		"$.externalManufacturingResponse.aptCommentBox: unknown field",
		"$.externalManufacturingResponse.aptEscalationReportBox: unknown field",
		"$.externalManufacturingResponse.externalManufacturingImpact: unknown field",
		"$.externalManufacturingResponse.impactedLocations: unknown field",
		"$.externalManufacturingResponse.impactedProducts: unknown field",
		"$.externalManufacturingResponse.isEscalated: unknown field",
		"$.externalManufacturingResponse.potentiallyImpactedLocations: unknown field",
		"$.externalManufacturingResponse.potentiallyImpactedProducts: unknown field",
		"$.externalManufacturingResponse.relatedProcesses: unknown field",
	}},
	// The published edit-incident sample names no incident: an edit without
	// an id cannot say what to change.
	"incident/editIncidentPayloadTemplate.json": {problems: []string{
		"$.id: is missing but it is required",
	}},
}

type sampleEnvelope struct {
	Header struct {
		EventName string `json:"eventName"`
	} `json:"header"`
	Payload map[string]any `json:"payload"`
}

func readSample(t *testing.T, file string) sampleEnvelope {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var env sampleEnvelope
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	if env.Payload == nil {
		t.Fatalf("%s: no payload object", file)
	}
	return env
}

// sampleSchemaFile derives the schema file from an event name
// "<app>:<action>:v<N>": "<action>.v<N>.json".
func sampleSchemaFile(t *testing.T, eventName string) string {
	t.Helper()
	parts := strings.Split(eventName, ":")
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "v") {
		t.Fatalf("event name %q is not <app>:<action>:v<N>", eventName)
	}
	if parts[0] != "agile-process-teams" && parts[0] != "authorization-manager" && parts[0] != "masterdata-manager" {
		t.Fatalf("event name %q: unexpected app %q", eventName, parts[0])
	}
	if _, err := strconv.Atoi(parts[2][1:]); err != nil {
		t.Fatalf("event name %q: bad version", eventName)
	}
	return parts[1] + "." + parts[2] + ".json"
}

func schemaProblems(t *testing.T, e *envelope.Error) []string {
	t.Helper()
	problems, ok := e.ValidationProblems()
	if !ok {
		t.Fatalf("error %v is not a SchemaValidationException with {\"validation-failed\": [...]}: %s", e.Kind, e.Message)
	}
	return problems
}

func TestSampleSchemas(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(samplesDir, "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("found %d samples under %s, want the whole published set", len(files), samplesDir)
	}
	set, err := schema.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		name := filepath.ToSlash(strings.TrimPrefix(file, samplesDir+string(filepath.Separator)))
		seen[name] = true
		if invalidSamples[name] {
			continue
		}
		t.Run(name, func(t *testing.T) {
			env := readSample(t, file)
			schemaFile := sampleSchemaFile(t, env.Header.EventName)
			sch, err := set.Load(schemaFile)
			if err != nil {
				t.Fatalf("event %s: %v", env.Header.EventName, err)
			}
			want := sampleOutcomes[name]
			warnings, verr := sch.Check(env.Payload)
			if len(want.problems) > 0 {
				if verr == nil {
					t.Fatalf("%s: passed, want problems %q", schemaFile, want.problems)
				}
				if got := schemaProblems(t, verr); !reflect.DeepEqual(got, want.problems) {
					t.Fatalf("%s: problems\n got %q\nwant %q", schemaFile, got, want.problems)
				}
				return
			}
			if verr != nil {
				t.Fatalf("%s: %s", schemaFile, verr.Message)
			}
			sort.Strings(warnings)
			wantWarnings := append([]string(nil), want.warnings...)
			sort.Strings(wantWarnings)
			if len(warnings) == 0 && len(wantWarnings) == 0 {
				return
			}
			if !reflect.DeepEqual(warnings, wantWarnings) {
				t.Fatalf("%s: warnings\n got %q\nwant %q", schemaFile, warnings, wantWarnings)
			}
		})
	}
	for name := range sampleOutcomes {
		if !seen[name] {
			t.Errorf("sampleOutcomes names %s, which is not a published sample", name)
		}
	}
	for name := range invalidSamples {
		if !seen[name] {
			t.Errorf("invalidSamples names %s, which is not a published sample", name)
		}
	}
}

// TestInvalidSamplesAreNotJSON keeps the skip list honest: a skipped sample
// must really be broken.
func TestInvalidSamplesAreNotJSON(t *testing.T) {
	t.Parallel()
	for name := range invalidSamples {
		raw, err := os.ReadFile(filepath.Join(samplesDir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if json.Valid(raw) {
			t.Errorf("%s is valid JSON now: check it instead of skipping it", name)
		}
	}
}

// TestSchemaFilesForEveryEvent checks that every event of the catalogue has
// its schema file, named the way the catalogue derives it from the kinds
// table, and that no schema file is left without an event.
func TestSchemaFilesForEveryEvent(t *testing.T) {
	t.Parallel()
	want := []string{"generate-apiKeyCredentials.v1.json",
		"get-company-by-regulatory-identifier.v1.json", "get-company-by-identifier.v1.json",
		"get-partner-by-regulatory-identifier.v1.json", "get-product-by-itemcode.v1.json", "search-process.v1.json", "list-changes.v1.json"}
	for _, k := range kinds {
		for _, v := range verbOrder {
			for _, version := range k.Versions[v] {
				want = append(want, schemaFile(k.action(v), version))
			}
		}
	}
	for _, noun := range []string{"incident", "process", "change", "document-review"} {
		for _, op := range []string{"add-comment-for-", "edit-comment-for-", "list-comments-for-", "toggle-user-follows-", "get-activity-history-for-"} {
			want = append(want, op+noun+".v1.json")
		}
	}
	// The published names the table must produce.
	for _, f := range []string{"add-incident.v5.json", "read-directSupplierIncident.v3.json", "add-direct-supplier-incident.v2.json",
		"submit-external-manufacturing-incident-to-partner.v1.json", "add-sub-task-to-task.v2.json", "edit-sub-task-on-template.v3.json",
		"list-sub-task-for-task.v1.json", "close-change.v2.json", "close-change.v3.json", "reopen-change.v1.json"} {
		if !slices.Contains(want, f) {
			t.Errorf("the kinds table does not produce %s", f)
		}
	}
	set, err := schema.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range want {
		if _, err := set.Load(file); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	// No stray schemas: every file is an event of the catalogue, or defs.json.
	names, _ := schema.Names()
	known := map[string]bool{"defs.json": true}
	for _, f := range want {
		known[f] = true
	}
	for _, name := range names {
		if !known[name] {
			t.Errorf("schemas/%s is no event of the catalogue", name)
		}
	}
}
