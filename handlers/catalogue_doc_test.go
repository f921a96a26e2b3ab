package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
)

// docs/events.md is generated from the registry: this test fails when the
// file differs from what the registry says, and `go test ./handlers -update` rewrites it.
func TestEventCatalogueDoc(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	got := renderCatalogue(t, h.Gateway.Registry())
	path := filepath.Join("..", "docs", "events.md")
	if *handlers.UpdateDocs {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/events.md is out of date with the registry; run: go test ./handlers -update")
	}
}

// verbDoc is what the catalogue says of every event of one kind.
type verbDoc struct {
	response string
	errors   []string
}

var verbDocs = map[string]verbDoc{
	"add": {`{"id": "01a2...-uuid"}`, []string{
		"409 InvalidStateTransitionException: isSubmittedToPartner is true but no partner is named, or the partner is not in the network"}},
	"edit": {`{"id": "01a2...-uuid", "dataVersion": 3}`, []string{
		"404 ObjectNotFoundException: no such incident visible to the caller",
		"403 AuthorizationException: a partner sent a field other than its response object, the response flags or comments",
		"409 InvalidStateTransitionException: the incident is Closed (reopen it first)",
		"409 ConcurrentModificationException: payload.dataVersion is not current"}},
	"copy": {`{"id": "01a3...-uuid of the new incident"}`, []string{
		"404 ObjectNotFoundException: no such incident visible to the caller",
		"403 AuthorizationException: the caller is the partner",
		"409 InvalidStateTransitionException: the source is Closed"}},
	"close": {`{"id": "01a2...-uuid", "dataVersion": 4}`, []string{
		"404 ObjectNotFoundException", "403 AuthorizationException: the caller is the partner",
		"409 InvalidStateTransitionException: already Closed",
		"409 ConcurrentModificationException: payload.dataVersion is not current"}},
	"reopen": {`{"id": "01a2...-uuid", "dataVersion": 5}`, []string{
		"404 ObjectNotFoundException", "403 AuthorizationException: the caller is the partner",
		"409 InvalidStateTransitionException: the incident is not Closed",
		"409 ConcurrentModificationException: payload.dataVersion is not current"}},
	"submit": {`{"id": "01a2...-uuid", "dataVersion": 2}`, []string{
		"404 ObjectNotFoundException", "403 AuthorizationException: the caller is the partner",
		"409 InvalidStateTransitionException: already submitted, Closed, no partner named, or the partner is not in the network"}},
	"read": {`{"id": "...", "objectType": "agile-process-teams:<processType>", "schemaId": "...", "schemaVersion": 5, "dataVersion": 1, "ownerId": "acme", "contextualOwnerId": "acme", "createdByUserId": "alice", "lastUpdatedByUserId": "alice", "creationDateTime": 1795430936236, "lastUpdatedDateTime": 1795430936236, "currentBaseState": "New", "data": {"aptBusinessObjectId": "INC-1", "aptBusinessObjectIntegerIdentifier": 1, "aptBusinessObjectSummary": "...", "fkProcessNetworkId": "net-1", "isSubmittedToPartner": false, "dateSubmitted": null, "incidentConclusion": null, "followerId": []}}`,
		[]string{"404 ObjectNotFoundException: no such incident, or not visible to the caller (another company, network, dataspace or process type; the partner before submit)"}},
	"remove": {`{"id": "01a2...-uuid", "dataVersion": 3}`, []string{
		"404 ObjectNotFoundException: no such sub-task visible to the caller",
		"403 AuthorizationException: the caller is the partner (or, on a template not modifiable by members, a member)",
		"409 InvalidStateTransitionException: already removed, the task is Closed, or its template forbids adding and removing sub-tasks"}},
	"list": {`{"id": "<task or template id>", "subTasks": [{"id": "...", "objectType": "agile-process-teams:subTask", "schemaId": "...", "schemaVersion": 2, "dataVersion": 1, "ownerId": "acme", "contextualOwnerId": "acme", "createdByUserId": "alice", "lastUpdatedByUserId": "alice", "creationDateTime": 1795430936236, "lastUpdatedDateTime": 1795430936236, "currentBaseState": "New", "data": {"aptBusinessObjectId": "SUB-1", "subTaskName": "...", "taskId": "<task id>"}}]}`,
		[]string{"404 ObjectNotFoundException: no such parent visible to the caller (a partner sees the parent's sub-tasks submitted to it, and only those)"}},
	"get-company": {`{"id": "acme", "objectType": "masterdata-manager:companyMasterData", "ownerId": "acme", "data": {"businessMasterDataCommon": {"businessName": "Acme Pharma", "businessAddress": {"address1": "1 Main St", "city": "Boston", "country": "US"}}, "identifiers": [{"type": "GLN", "value": "0614141000005"}], "locations": [{"id": "acme-plant-1", "businessName": "Acme Plant 1", "locationType": "Internal", "identifiers": [{"type": "SGLN", "value": "0614141000012"}]}]}}`,
		[]string{"404 ObjectNotFoundException: no company master data of the caller's own company has that identifier"}},
	"get-partner": {`{"id": "supplier-1", "objectType": "masterdata-manager:partnerMasterData", "ownerId": "supplier-1", "data": {"businessMasterDataCommon": {"businessName": "Supplier One", "businessAddress": {"city": "Basel", "country": "CH"}}, "identifiers": [{"type": "GLN", "value": "7612345000008"}], "locations": []}}`,
		[]string{"404 ObjectNotFoundException: no company (or location of a company) that shares a process network with the caller has that identifier"}},
	"get-product": {`{"id": "aspirin-100", "objectType": "masterdata-manager:productMasterData", "ownerId": "acme", "data": {"productName": "Aspirin 100 mg", "itemCodes": [{"type": "US_NDC532", "value": "12345-678-90"}, {"type": "GTIN", "value": "00312345678906"}], "manufacturer": "Acme Pharma"}}`,
		[]string{"404 ObjectNotFoundException: no product of the caller's company, or of a company sharing a network with it, has that item code"}},
	"add-comment": {`{"id": "<comment id>", "processId": "<incident id>", "dataVersion": 6}`, []string{
		"404 ObjectNotFoundException", "400 SchemaValidationException: the box holds no comment and no attachment"}},
	"edit-comment": {`{"id": "<comment id>", "processId": "<incident id>", "dataVersion": 7}`, []string{
		"404 ObjectNotFoundException: no such incident or comment visible to the caller",
		"403 AuthorizationException: the comment belongs to the other company"}},
	"list-comments": {`{"id": "<incident id>", "comments": [{"id": "...", "commentText": "...", "visibilityType": "Public", "attachments": [{"id": "...", "fileName": "...", "fileSize": "3mb", "visibilityType": "Public", "requestIdentifier": "..."}], "companyId": "acme", "createdByUserId": "alice", "creationDateTime": 1795430936236, "lastUpdatedByUserId": "alice", "lastUpdatedDateTime": 1795430936236, "licensePlate": "..."}]}`,
		[]string{"404 ObjectNotFoundException"}},
	"toggle-user-follows": {`{"id": "<incident id>", "following": true, "dataVersion": 8}`, []string{
		"404 ObjectNotFoundException", "403 AuthorizationException: the caller is the partner"}},
	"get-activity-history": {`{"id": "<incident id>", "activities": [{"licensePlate": "...", "eventName": "agile-process-teams:add-incident:v5", "userId": "alice", "companyId": "acme", "dateTime": 1795430936236, "dataVersion": 1, "fields": ["aptBusinessObjectSummary"], "stateTo": "New"}]}`,
		[]string{"404 ObjectNotFoundException", "403 AuthorizationException: the caller is the partner"}},
	"generate-apiKeyCredentials": {`{"apiKey": "scwm_...", "apiSecret": "...", "companyId": "acme", "userId": "alice"}`, []string{
		"403 AuthorizationException: ownerId is another company (the zero UUID means the caller's own)"}},
}

// sampleNotes say where a published sample needs more than its placeholders
// filled in, or draws warnings, and why.
var sampleNotes = map[string]string{
	"agile-process-teams:edit-incident:v5": "The published sample has no `id`, so no gateway can know which incident it edits: as published it gets " +
		"400 SchemaValidationException `$.id: is missing but it is required`. Add `\"id\"` (examples/run_samples.py does).",
	"agile-process-teams:add-external-manufacturing-incident:v3": "In the published sample a closing brace is misplaced, so nine fields " +
		"(`externalManufacturingImpact`, `impactedProducts`, ..., `aptCommentBox`) sit inside `externalManufacturingResponse`. It is accepted and " +
		"stored as sent, with one `unknown field` warning for each of them.",
	"agile-process-teams:copy-indirect-supplier-incident:v2": "The published sample misspells `copyRelatedProceses`: the flag does not take effect, " +
		"and the answer warns `$.copyRelatedProceses: unknown field (did you mean copyRelatedProcesses?)`.",
	"agile-process-teams:copy-internal-manufacturing-incident:v1": "The published sample misspells `copymaterialInfo`: the flag does not take effect, " +
		"and the answer warns `$.copymaterialInfo: unknown field (did you mean copyMaterialInfo?)`.",
	"agile-process-teams:edit-external-manufacturing-incident:v3": "One published sample sends `directSupplierImpact` (another type's object): " +
		"it is stored as sent, with an `unknown field` warning.",
	"agile-process-teams:edit-internal-manufacturing-incident:v3": "One published sample sends `indirectSupplierImpact` (another type's object): " +
		"it is stored as sent, with an `unknown field` warning.",
	"agile-process-teams:read-indirectSupplierIncident:v4": "The published sample is not valid JSON (its closing brace is missing): it gets " +
		"400 MalformedEnvelopeException pointing at line 11, column 1.",
	"agile-process-teams:read-internalManufacturingIncident:v4": "The published sample is not valid JSON (its closing brace is missing): it gets " +
		"400 MalformedEnvelopeException pointing at line 11, column 1.",
	"agile-process-teams:read-task:v3": "The published sample is not valid JSON (its closing brace is missing): it gets " +
		"400 MalformedEnvelopeException pointing at the end of the text.",
	"agile-process-teams:edit-comment-for-change:v1": "TraceLink's samples name the comment two ways: one sends the comment's id as `processId` " +
		"(and no `commentId`), another sends `commentId` alone. Both work: without `commentId`, `processId` (or `id`) is the comment; " +
		"without an object id, the comment's own object is the one changed.",
	"agile-process-teams:add-direct-supplier-incident:v2": "An older version that TraceLink's own `python/sample.py` sends. No published " +
		"document says how it differs from v3, so it is served with v3's schema (the nearest one) and records `schemaVersion` 2.",
	"masterdata-manager:get-company-by-identifier:v1": "The action of TraceLink's GraphQL script `getCompanyMasterData.py` " +
		"(`Getcompanybyidentifier`), whose payload names the value `regulatoryCompanyIdentifierValue`; otherwise as " +
		"`get-company-by-regulatory-identifier`.",
}

func verbOf(action string) string {
	for _, v := range []string{"add-comment", "edit-comment", "list-comments", "toggle-user-follows", "get-activity-history", "generate-apiKeyCredentials", "submit",
		"get-company", "get-partner", "get-product"} {
		if strings.HasPrefix(action, v) {
			return v
		}
	}
	return strings.SplitN(action, "-", 2)[0]
}

// sampleFor returns the first published sample of an event, if there is one.
func sampleFor(t *testing.T, event string) (string, json.RawMessage) {
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*", "*.json"))
	sort.Strings(files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Header struct {
				EventName string `json:"eventName"`
			} `json:"header"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(raw, &env) == nil && env.Header.EventName == event {
			rel, _ := filepath.Rel(filepath.Join(samplesDir, ".."), f)
			return filepath.ToSlash(rel), env.Payload
		}
	}
	return "", nil
}

type schemaDoc struct {
	Required   []string                   `json:"required"`
	Properties map[string]json.RawMessage `json:"properties"`
	AnyOf      []struct {
		Required []string `json:"required"`
	} `json:"anyOf"`
}

func renderCatalogue(t *testing.T, reg *handlers.Registry) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Event catalogue\n\n")
	w("Generated from the registry (`handlers/catalogue.go`) by `go test ./handlers -update`;\n")
	w("a test fails when this file and the registry disagree. Every event goes to `POST /api/events`; the\n")
	w("envelope-level errors every event can get (400 MalformedEnvelope, HeaderValidation, SchemaValidation,\n")
	w("UnsupportedEvent; 401; 403 for ownerId or network; 413; 415; 503) are in [protocol.md](protocol.md).\n")
	w("Copy groups are in [copy-groups.md](copy-groups.md), states in [lifecycle.md](lifecycle.md).\n\n")
	w("Event names follow one grammar, the one TraceLink's published events use: `<verb>-<noun>` for the events\n")
	w("of one kind (`add-change`, `close-task`), `submit-<noun>-to-partner`, `read-<processType>`\n")
	w("(`read-directSupplierIncident`), and `<operation>-for-<noun>` for comments, follow and history. The nouns\n")
	w("of the kinds TraceLink publishes no envelope for are chosen by the same grammar from their processType:\n")
	w("`compliance-exception` (`complianceException`) and `document-review` (`documentReview`); their\n")
	w("GraphQL action names (`Addcomplianceexception`, `Adddocumentreview`) are these names with the hyphens\n")
	w("removed. The shared events of `-for-incident` and `-for-process` act on any kind that `processType`\n")
	w("names (TraceLink's scripts send `add-comment-for-incident` for compliance exceptions and\n")
	w("`get-activity-history-for-incident` for document reviews); `-for-change` and `-for-document-review` act on\n")
	w("their own kind, and a `processType` naming another kind gets a warning. Older versions that clients\n")
	w("still send are served where a published document names them: each such event says which schema it\n")
	w("uses.\n\n")
	w("| event | what it does |\n|---|---|\n")
	events := reg.Events()
	for _, ev := range events {
		w("| [`%s`](#%s) | %s |\n", ev.Name, anchor(ev.Name.String()), ev.Help)
	}
	for _, ev := range events {
		name := ev.Name.String()
		w("\n## %s\n\n%s\n\n", name, ev.Help)
		src, err := schema.Source(ev.Schema)
		if err != nil {
			t.Fatal(err)
		}
		var sd schemaDoc
		if err := json.Unmarshal(src, &sd); err != nil {
			t.Fatalf("%s: %v", ev.Schema, err)
		}
		props := make([]string, 0, len(sd.Properties))
		for p := range sd.Properties {
			props = append(props, "`"+p+"`")
		}
		sort.Strings(props)
		req := "none"
		if len(sd.Required) > 0 {
			req = "`" + strings.Join(sd.Required, "`, `") + "`"
		}
		for _, alt := range sd.AnyOf {
			if len(alt.Required) > 0 {
				req += " and one of `" + strings.Join(alt.Required, "`, `") + "`"
			}
		}
		w("Schema: [`%s`](../internal/schema/schemas/%s). Required: %s. Fields: %s.\n\n", ev.Schema, ev.Schema, req, strings.Join(props, ", "))
		file, payload := sampleFor(t, name)
		if payload != nil {
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, payload, "", "  ")
			w("Example payload (published sample [`%s`](../examples/%s)):\n\n```json\n%s\n```\n\n", filepath.Base(file), file, strings.TrimSpace(pretty.String()))
		}
		if note := sampleNotes[name]; note != "" {
			w("Note: %s\n\n", note)
		}
		doc := verbDocs[verbOf(ev.Name.Action)]
		w("Response payload:\n\n```json\n%s\n```\n\nErrors:\n", doc.response)
		for _, e := range doc.errors {
			w("- %s\n", e)
		}
	}
	return b.Bytes()
}

func anchor(s string) string {
	return strings.NewReplacer(":", "", ".", "").Replace(strings.ToLower(s))
}
