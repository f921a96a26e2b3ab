package handlers

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/envelope"
)

// samplesDir holds the published SCWM sample envelopes, one folder per
// process type plus shared/.
const samplesDir = "../examples/scwm-samples"

// invalidSamples are published samples that are not JSON at all (the payload
// object is never closed); there is nothing to validate in them.
var invalidSamples = map[string]bool{
	"indirectSupplierIncident/readIndSupIncPayloadTemplate.json":      true,
	"internalManufacturingIncident/readIntMfgIncPayloadTemplate.json": true,
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
	if parts[0] != "agile-process-teams" && parts[0] != "authorization-manager" {
		t.Fatalf("event name %q: unexpected app %q", eventName, parts[0])
	}
	if _, err := strconv.Atoi(parts[2][1:]); err != nil {
		t.Fatalf("event name %q: bad version", eventName)
	}
	return parts[1] + "." + parts[2] + ".json"
}

func schemaProblems(t *testing.T, e *envelope.Error) []string {
	t.Helper()
	if e.Kind != envelope.KindSchemaValidation {
		t.Fatalf("error kind %v, want SchemaValidation: %s", e.Kind, e.Message)
	}
	var msg struct {
		Problems []string `json:"validation-failed"`
	}
	if err := json.Unmarshal([]byte(e.Message), &msg); err != nil {
		t.Fatalf("errMsg %q is not {\"validation-failed\": [...]}: %v", e.Message, err)
	}
	return msg.Problems
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
	set, err := newSchemaSet()
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
			schema, err := set.load(schemaFile)
			if err != nil {
				t.Fatalf("event %s: %v", env.Header.EventName, err)
			}
			want := sampleOutcomes[name]
			warnings, verr := schema.check(env.Payload)
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

func TestSchemaFilesCompile(t *testing.T) {
	t.Parallel()
	set, err := newSchemaSet()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(schemaFiles, "schemas")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".json" {
			continue
		}
		n++
		if _, err := set.load(e.Name()); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
		if e.Name() == "defs.json" {
			continue
		}
		raw, _ := schemaFiles.ReadFile("schemas/" + e.Name())
		var doc struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Type        string `json:"type"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		// The title is the event name, and the file name follows from it.
		parts := strings.Split(doc.Title, ":")
		if len(parts) != 3 || parts[1]+"."+parts[2]+".json" != e.Name() {
			t.Errorf("%s: title %q does not name the event of this file", e.Name(), doc.Title)
		}
		if doc.Description == "" || doc.Type != "object" {
			t.Errorf("%s: want a description and \"type\": \"object\"", e.Name())
		}
	}
	if n == 0 {
		t.Fatal("no schema files embedded")
	}
}

// TestSchemaFilesForEveryEvent checks that every event of the catalogue has its
// schema file, named the way the catalogue derives it.
func TestSchemaFilesForEveryEvent(t *testing.T) {
	t.Parallel()
	type versions struct {
		noun, readNoun                         string
		add, edit, copy, close, reopen, submit int
		read                                   []int
	}
	table := []versions{
		{"incident", "incident", 5, 5, 3, 1, 1, 1, []int{4}},
		{"direct-supplier-incident", "directSupplierIncident", 3, 3, 2, 2, 1, 1, []int{3, 4}},
		{"indirect-supplier-incident", "indirectSupplierIncident", 3, 3, 2, 2, 1, 1, []int{4}},
		{"external-manufacturing-incident", "externalManufacturingIncident", 3, 3, 1, 2, 1, 1, []int{4}},
		{"internal-manufacturing-incident", "internalManufacturingIncident", 3, 3, 1, 2, 1, 0, []int{4}},
	}
	var want []string
	for _, v := range table {
		f := func(action string, n int) string { return action + "-" + v.noun + ".v" + strconv.Itoa(n) + ".json" }
		want = append(want, f("add", v.add), f("edit", v.edit), f("copy", v.copy), f("close", v.close), f("reopen", v.reopen))
		if v.submit > 0 {
			want = append(want, "submit-"+v.noun+"-to-partner.v"+strconv.Itoa(v.submit)+".json")
		}
		for _, r := range v.read {
			want = append(want, "read-"+v.readNoun+".v"+strconv.Itoa(r)+".json")
		}
	}
	want = append(want,
		"add-comment-for-incident.v1.json", "edit-comment-for-incident.v1.json",
		"list-comments-for-incident.v1.json", "toggle-user-follows-incident.v1.json",
		"get-activity-history-for-incident.v1.json", "generate-apiKeyCredentials.v1.json")
	set, err := newSchemaSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range want {
		if _, err := set.load(file); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	// No stray schemas: every file is an event of the catalogue, or defs.json.
	entries, _ := fs.ReadDir(schemaFiles, "schemas")
	known := map[string]bool{"defs.json": true}
	for _, f := range want {
		known[f] = true
	}
	for _, e := range entries {
		if !known[e.Name()] {
			t.Errorf("schemas/%s is no event of the catalogue", e.Name())
		}
	}
}

// checkPayload validates a JSON payload against a schema file.
func checkPayload(t *testing.T, set *schemaSet, file, payload string) (map[string]any, []string, *envelope.Error) {
	t.Helper()
	schema, err := set.load(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(payload))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("test payload %s: %v", payload, err)
	}
	warnings, verr := schema.check(p)
	return p, warnings, verr
}

func TestSchemaRejectsInvalidPayloads(t *testing.T) {
	t.Parallel()
	set, err := newSchemaSet()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file, payload string
		problems      []string
	}{
		// A missing id on the events that act on an existing incident.
		{"edit-incident.v5.json", `{"businessPriority": "LOW"}`,
			[]string{"$.id: is missing but it is required"}},
		{"edit-direct-supplier-incident.v3.json", `{"newBaseState": "UnderInvestigation"}`,
			[]string{"$.id: is missing but it is required"}},
		{"close-indirect-supplier-incident.v2.json", `{"resolutionType": "RESOLVED"}`,
			[]string{"$.id: is missing but it is required"}},
		{"close-incident.v1.json", `{}`,
			[]string{"$.id: is missing but it is required"}},
		{"reopen-internal-manufacturing-incident.v1.json", `{"aptCommentBox": {}}`,
			[]string{"$.id: is missing but it is required"}},
		{"submit-external-manufacturing-incident-to-partner.v1.json", `{}`,
			[]string{"$.id: is missing but it is required"}},
		{"submit-incident-to-partner.v1.json", `{"id": true}`,
			[]string{"$.id: boolean found, string expected"}},
		{"read-directSupplierIncident.v3.json", `{}`,
			[]string{"$.id: is missing but it is required"}},
		// Copy needs the source and the new summary.
		{"copy-direct-supplier-incident.v2.json", `{"id": "x", "copyGeneralInfo": true}`,
			[]string{"$.aptBusinessObjectSummary: is missing but it is required"}},
		{"copy-incident.v3.json", `{"aptBusinessObjectSummary": "s"}`,
			[]string{"$.id: is missing but it is required"}},
		{"copy-internal-manufacturing-incident.v1.json", `{"id": "x", "aptBusinessObjectSummary": "s", "copyImpactInfo": "yes"}`,
			[]string{"$.copyImpactInfo: string found, boolean expected"}},
		// Add needs a summary, and a non-empty one.
		{"add-external-manufacturing-incident.v3.json", `{"deviationType": "PLANNED"}`,
			[]string{"$.aptBusinessObjectSummary: is missing but it is required"}},
		{"add-incident.v5.json", `{"aptBusinessObjectSummary": ""}`,
			[]string{"$.aptBusinessObjectSummary: must not be empty"}},
		// Enums.
		{"edit-external-manufacturing-incident.v3.json", `{"id": "x", "newBaseState": "Closed"}`,
			[]string{"$.newBaseState: does not have a value in the enumeration [UnderInvestigation]"}},
		{"add-incident.v5.json", `{"aptBusinessObjectSummary": "s", "businessPriority": "URGENT"}`,
			[]string{"$.businessPriority: does not have a value in the enumeration [HIGH, MEDIUM, LOW]"}},
		{"edit-indirect-supplier-incident.v3.json", `{"id": "x", "indirectSupplierImpact": {"businessPriority": "urgent"}}`,
			[]string{"$.indirectSupplierImpact.businessPriority: does not have a value in the enumeration [HIGH, MEDIUM, LOW]"}},
		{"add-direct-supplier-incident.v3.json", `{"aptBusinessObjectSummary": "s", "deviationType": "SOMETIMES"}`,
			[]string{"$.deviationType: does not have a value in the enumeration [PLANNED, UNPLANNED]"}},
		{"list-comments-for-incident.v1.json", `{"id": "x", "processType": "deviation"}`,
			[]string{"$.processType: does not have a value in the enumeration [incident, directSupplierIncident, indirectSupplierIncident, externalManufacturingIncident, internalManufacturingIncident]"}},
		// Comment boxes.
		{"reopen-direct-supplier-incident.v1.json", `{"id": "x", "aptCommentBox": {"aptComment": "just text"}}`,
			[]string{"$.aptCommentBox.aptComment: string found, object or array expected"}},
		{"close-external-manufacturing-incident.v2.json", `{"id": "x", "aptCommentBox": [{"aptComment": 5}]}`,
			[]string{"$.aptCommentBox[0].aptComment: integer found, object or array expected"}},
		{"edit-incident.v5.json", `{"id": "x", "aptCommentBox": "text"}`,
			[]string{"$.aptCommentBox: string found, object or array expected"}},
		{"add-comment-for-incident.v1.json", `{"id": "x", "processType": "incident", "aptCommentBox": {"aptComment": {"commentText": "c", "visibilityType": "everyone"}}}`,
			[]string{"$.aptCommentBox.aptComment.visibilityType: does not have a value in the enumeration [Public, Internal, InternalOnly, ownerOnly]"}},
		{"add-comment-for-incident.v1.json", `{"processType": "incident", "aptCommentBox": {"aptComment": {"commentText": "c"}}}`,
			[]string{"$.id: is missing but it is required", "$.processId: is missing but it is required"}},
		{"add-comment-for-incident.v1.json", `{"processId": "x", "processType": "incident"}`,
			[]string{"$.aptCommentBox: is missing but it is required"}},
		{"edit-comment-for-incident.v1.json", `{"id": "x", "processType": "incident", "aptCommentBox": {"removeAttachment": [false]}}`,
			[]string{"$.commentId: is missing but it is required", "$.aptCommentBox.removeAttachment[0]: boolean found, string expected"}},
		{"toggle-user-follows-incident.v1.json", `{"id": "x", "follow": true}`,
			[]string{"$.processType: is missing but it is required"}},
		{"get-activity-history-for-incident.v1.json", `{"processType": "incident"}`,
			[]string{"$.id: is missing but it is required", "$.processId: is missing but it is required"}},
		// Other shapes.
		{"edit-incident.v5.json", `{"id": "x", "dataVersion": 0}`,
			[]string{"$.dataVersion: is 0, at least 1 allowed"}},
		{"add-incident.v5.json", `{"aptBusinessObjectSummary": "s", "resolutionDueDate": "tomorrow"}`,
			[]string{"$.resolutionDueDate: string found, integer expected"}},
		{"add-indirect-supplier-incident.v3.json", `{"aptBusinessObjectSummary": "s", "indirectSupplierImpact": {"financialImpact": "a lot"}}`,
			[]string{"$.indirectSupplierImpact.financialImpact: string found, number expected"}},
		{"generate-apiKeyCredentials.v1.json", `{"userId": ["u"]}`,
			[]string{"$.userId: array found, string expected"}},
	}
	for _, c := range cases {
		_, _, verr := checkPayload(t, set, c.file, c.payload)
		if verr == nil {
			t.Errorf("%s %s: passed, want %q", c.file, c.payload, c.problems)
			continue
		}
		got := schemaProblems(t, verr)
		sort.Strings(got)
		want := append([]string(nil), c.problems...)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s:\n got %q\nwant %q", c.file, c.payload, got, want)
		}
	}
}

func TestSchemaAcceptsPublishedShapes(t *testing.T) {
	t.Parallel()
	set, err := newSchemaSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, payload string }{
		{"generate-apiKeyCredentials.v1.json", `{}`},
		{"generate-apiKeyCredentials.v1.json", `{"userId": "u", "description": "ci key"}`},
		{"add-comment-for-incident.v1.json", `{"id": "x", "processType": "INCIDENT", "aptCommentBox": [{"aptComment": {"commentText": "c"}}]}`},
		{"edit-comment-for-incident.v1.json", `{"commentId": "c", "processId": "x", "processType": "incident", "aptCommentBox": {"addAttachment": [{"fileName": "f", "fileSize": 1024}], "removeAttachment": ["a"]}}`},
		{"toggle-user-follows-incident.v1.json", `{"processId": "x", "processType": "incident"}`},
		{"edit-incident.v5.json", `{"id": "x", "referenceIdentifiers": {"referenceTransactionType": "PO", "value": "1"}, "impactedProducts": "p", "dataVersion": 3}`},
		{"edit-direct-supplier-incident.v3.json", `{"id": "x", "referenceIdentifiers": ["a", {"value": "b"}], "originatingLocation": {"originatingLocationId": "l"}, "directSupplierMaterialInformation": {"defectiveQuantity": 3}}`},
		{"edit-indirect-supplier-incident.v3.json", `{"id": "x", "indirectSupplierImpact": {"financialImpact": 12.5, "impactedDepartments": "QA", "highPriorityReasons": ["r"]}, "impactedLocations": [{"locationId": "l"}]}`},
		{"close-internal-manufacturing-incident.v2.json", `{"id": "x", "impactedLocation": {"locationId": "l"}, "commentAndAttachments": [{"aptComment": [{"commentText": "a"}, {"commentText": "b"}]}]}`},
		{"reopen-incident.v1.json", `{"id": "x", "resolutionType": "RESOLVED", "dataVersion": 2}`},
	} {
		_, warnings, verr := checkPayload(t, set, c.file, c.payload)
		if verr != nil {
			t.Errorf("%s %s: %s", c.file, c.payload, verr.Message)
		}
		if len(warnings) > 0 {
			t.Errorf("%s %s: unexpected warnings %q", c.file, c.payload, warnings)
		}
	}
}

// TestSchemaCanonicalizesEnums checks that enum values anywhere in a payload
// (nested, inside arrays, inside anyOf branches) come out in their canonical
// spelling.
func TestSchemaCanonicalizesEnums(t *testing.T) {
	t.Parallel()
	set, err := newSchemaSet()
	if err != nil {
		t.Fatal(err)
	}
	p, warnings, verr := checkPayload(t, set, "add-indirect-supplier-incident.v3.json", `{
		"aptBusinessObjectSummary": "s", "deviationType": "unplanned",
		"indirectSupplierImpact": {"businessPriority": "medium"},
		"aptCommentBox": [{"aptComment": [{"commentText": "c", "visibilityType": "OWNERONLY"}],
		                   "addAttachment": [{"fileName": "f", "visibilityType": "internalonly"}]}]}`)
	if verr != nil || len(warnings) > 0 {
		t.Fatalf("err %v, warnings %q", verr, warnings)
	}
	got, _ := json.Marshal(p)
	for _, want := range []string{
		`"deviationType":"UNPLANNED"`, `"businessPriority":"MEDIUM"`,
		`"visibilityType":"ownerOnly"`, `"visibilityType":"InternalOnly"`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("canonical payload %s lacks %s", got, want)
		}
	}
	p, _, verr = checkPayload(t, set, "edit-internal-manufacturing-incident.v3.json",
		`{"id": "x", "newBaseState": "underinvestigation"}`)
	if verr != nil || p["newBaseState"] != "UnderInvestigation" {
		t.Errorf("newBaseState %v, err %v", p["newBaseState"], verr)
	}
	p, _, verr = checkPayload(t, set, "list-comments-for-incident.v1.json",
		`{"processId": "x", "processType": "DIRECTSUPPLIERINCIDENT"}`)
	if verr != nil || p["processType"] != "directSupplierIncident" {
		t.Errorf("processType %v, err %v", p["processType"], verr)
	}
}
