package schema

import (
	"encoding/json"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/envelope"
)

// schemaProblems reads the problems out of a SchemaValidationException.
func schemaProblems(t *testing.T, e *envelope.Error) []string {
	t.Helper()
	problems, ok := e.ValidationProblems()
	if !ok {
		t.Fatalf("error %v is not a SchemaValidationException with {\"validation-failed\": [...]}: %s", e.Kind, e.Message)
	}
	return problems
}

// embeddedSet is the set of embedded schemas and the names of their files.
func embeddedSet(t testing.TB) (*Set, []string) {
	t.Helper()
	set, err := NewSet()
	if err != nil {
		t.Fatal(err)
	}
	names, err := Names()
	if err != nil {
		t.Fatal(err)
	}
	return set, names
}

func TestSchemaFilesCompile(t *testing.T) {
	t.Parallel()
	set, names := embeddedSet(t)
	n := 0
	for _, name := range names {
		if path.Ext(name) != ".json" {
			continue
		}
		n++
		if _, err := set.Load(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if name == "defs.json" {
			continue
		}
		raw, _ := Source(name)
		var doc struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Type        string `json:"type"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		// The title is the event name, and the file name follows from it.
		parts := strings.Split(doc.Title, ":")
		if len(parts) != 3 || parts[1]+"."+parts[2]+".json" != name {
			t.Errorf("%s: title %q does not name the event of this file", name, doc.Title)
		}
		if doc.Description == "" || doc.Type != "object" {
			t.Errorf("%s: want a description and \"type\": \"object\"", name)
		}
	}
	if n == 0 {
		t.Fatal("no schema files embedded")
	}
}

// checkPayload validates a JSON payload against a schema file.
func checkPayload(t *testing.T, set *Set, file, payload string) (map[string]any, []string, *envelope.Error) {
	t.Helper()
	sch, err := set.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(payload))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("test payload %s: %v", payload, err)
	}
	warnings, verr := sch.Check(p)
	return p, warnings, verr
}

func TestSchemaRejectsInvalidPayloads(t *testing.T) {
	t.Parallel()
	set, err := NewSet()
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
			[]string{"$.processType: does not have a value in the enumeration [incident, directSupplierIncident, indirectSupplierIncident, externalManufacturingIncident, internalManufacturingIncident, complianceException, change, documentReview, task, subTask, taskTemplate, subTaskTemplate]"}},
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
			[]string{"$.resolutionDueDate: 'tomorrow' does not match pattern '^[0-9]{1,15}$'"}},
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
	set, err := NewSet()
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
	set, err := NewSet()
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
