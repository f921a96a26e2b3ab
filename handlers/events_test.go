package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

const (
	addIncident  = "agile-process-teams:add-incident:v5"
	readIncident = "agile-process-teams:read-incident:v4"
)

// samplesDir holds the public SCWM samples, copied verbatim into the repo.
var samplesDir = filepath.Join("..", "examples", "scwm-samples")

// incidentRecord is the read payload as a client decodes it.
type incidentRecord struct {
	ID                  string         `json:"id"`
	ObjectType          string         `json:"objectType"`
	SchemaID            string         `json:"schemaId"`
	SchemaVersion       int            `json:"schemaVersion"`
	DataVersion         int            `json:"dataVersion"`
	OwnerID             string         `json:"ownerId"`
	ContextualOwnerID   string         `json:"contextualOwnerId"`
	CreatedByUserID     string         `json:"createdByUserId"`
	LastUpdatedByUserID string         `json:"lastUpdatedByUserId"`
	CreationDateTime    int64          `json:"creationDateTime"`
	LastUpdatedDateTime int64          `json:"lastUpdatedDateTime"`
	CurrentBaseState    string         `json:"currentBaseState"`
	Data                map[string]any `json:"data"`
}

func addOne(t *testing.T, h *gt.Harness, c gt.Client, payload map[string]any) string {
	t.Helper()
	resp := h.Send(t, c, addIncident, payload).MustOK(t)
	var out struct {
		ID string `json:"id"`
	}
	resp.Decode(t, &out)
	return out.ID
}

func readOne(t *testing.T, h *gt.Harness, c gt.Client, id string) incidentRecord {
	t.Helper()
	var rec incidentRecord
	h.Send(t, c, readIncident, map[string]any{"id": id}).MustOK(t).Decode(t, &rec)
	return rec
}

func TestAddThenReadReturnsTheRecord(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	resp := h.Send(t, gt.Acme, addIncident, map[string]any{
		"aptBusinessObjectSummary": "No EPCIS data for 1 package",
		"businessPriority":         "HIGH",
		"resolutionDueDate":        1681640075000,
		"impactedProducts":         []any{map[string]any{"productDetailId": "P-1", "impactedLots": "4"}},
	}).MustOK(t)
	if resp.Header.EventName != "agile-process-teams:add-incident-response:v5" || resp.Header.OwnerID != "acme" {
		t.Fatalf("response header: %+v", resp.Header)
	}
	var added struct {
		ID string `json:"id"`
	}
	resp.Decode(t, &added)
	id, err := uuid.Parse(added.ID)
	if err != nil || id.Version() != 7 {
		t.Fatalf("id %q is not a UUIDv7: %v", added.ID, err)
	}

	rec := readOne(t, h, gt.Acme, added.ID)
	if rec.ID != added.ID || rec.ObjectType != "agile-process-teams:incident" || rec.DataVersion != 1 ||
		rec.OwnerID != "acme" || rec.ContextualOwnerID != "acme" || rec.CreatedByUserID != "alice" ||
		rec.LastUpdatedByUserID != "alice" || rec.CurrentBaseState != "New" || rec.SchemaVersion != 5 {
		t.Fatalf("record: %+v", rec)
	}
	if rec.CreationDateTime < 1_700_000_000_000 || rec.LastUpdatedDateTime != rec.CreationDateTime {
		t.Fatalf("timestamps are not epoch ms: %d %d", rec.CreationDateTime, rec.LastUpdatedDateTime)
	}
	d := rec.Data
	if d["aptBusinessObjectId"] != "INC-1" || d["aptBusinessObjectIntegerIdentifier"] != 1.0 ||
		d["fkProcessNetworkId"] != "net-1" || d["isSubmittedToPartner"] != false ||
		d["aptBusinessObjectSummary"] != "No EPCIS data for 1 package" || d["resolutionDueDate"] != 1681640075000.0 {
		t.Fatalf("data: %v", d)
	}
	if lots := d["impactedProducts"].([]any)[0].(map[string]any)["impactedLots"]; lots != "4" {
		t.Fatalf("nested field not kept as sent: %v", lots)
	}

	second := readOne(t, h, gt.Acme, addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "two"}))
	if second.Data["aptBusinessObjectId"] != "INC-2" {
		t.Fatalf("second incident is %v, want INC-2", second.Data["aptBusinessObjectId"])
	}
	// The sequence is per company: another company starts at INC-1.
	other := readOne(t, h, gt.Other, addOne(t, h, gt.Other, map[string]any{"aptBusinessObjectSummary": "theirs"}))
	if other.Data["aptBusinessObjectId"] != "INC-1" {
		t.Fatalf("other company's first incident is %v, want INC-1", other.Data["aptBusinessObjectId"])
	}
}

// loadSample reads a published sample and fills in its placeholders.
func loadSample(t *testing.T, rel string, c gt.Client) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewBufferString(strings.NewReplacer(
		"YOUR_OWNER_ID", c.CompanyID,
		"YOUR_PROCESS_NETWORK_ID", c.NetworkID,
	).Replace(string(raw))).Bytes()
}

func TestPublishedAddIncidentSampleIsAccepted(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	resp := h.Post(t, loadSample(t, "incident/addIncidentPayloadTemplate.json", gt.Acme), gt.Basic(gt.Acme), nil).MustOK(t)
	if len(resp.Header.Warnings) != 0 {
		t.Fatalf("the published sample drew warnings: %v", resp.Header.Warnings)
	}
	var added struct{ ID string }
	resp.Decode(t, &added)
	rec := readOne(t, h, gt.Acme, added.ID)
	if rec.Data["incidentCategory"] != "Aggregate Shipment Error" || rec.Data["businessPriority"] != "HIGH" {
		t.Fatalf("sample fields not stored: %v", rec.Data)
	}
}

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := gt.Start(t, gt.Options{DataDir: dir})
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "survives a restart"})
	h.Stop()

	h2 := gt.Start(t, gt.Options{DataDir: dir})
	rec := readOne(t, h2, gt.Acme, id)
	if rec.Data["aptBusinessObjectSummary"] != "survives a restart" {
		t.Fatalf("after restart: %v", rec.Data)
	}
	// The sequence survives too: the next incident is INC-2, not INC-1 again.
	next := readOne(t, h2, gt.Acme, addOne(t, h2, gt.Acme, map[string]any{"aptBusinessObjectSummary": "next"}))
	if next.Data["aptBusinessObjectId"] != "INC-2" {
		t.Fatalf("after restart the next incident is %v, want INC-2", next.Data["aptBusinessObjectId"])
	}
}

func TestLicensePlates(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	plateRE := regexp.MustCompile(`^[0-9A-Za-z_~]{16}$`)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		var r *gt.Response
		if i%2 == 0 {
			r = h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "plate"}).MustOK(t)
		} else {
			r = h.Post(t, []byte("not json"), gt.Basic(gt.Acme), nil)
		}
		p := r.Header.LicensePlate
		if !plateRE.MatchString(p) || r.HTTP.Get("X-License-Plate") != p {
			t.Fatalf("plate %q (header %q) is not 16 URL-safe characters", p, r.HTTP.Get("X-License-Plate"))
		}
		if seen[p] {
			t.Fatalf("plate %q handed out twice", p)
		}
		seen[p] = true
	}
}

func TestReadIsScopedToCompanyNetworkAndDataspace(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "acme only"})

	// Another company, with its own valid credentials and network: 404.
	r := h.Send(t, gt.Other, readIncident, map[string]any{"id": id}).MustFail(t, 404, "ObjectNotFoundException")
	if strings.Contains(string(r.Body), "acme only") {
		t.Fatal("the 404 leaks the incident")
	}
	// The partner company in the same network, before any submit: 404.
	h.Send(t, gt.Supplier, readIncident, map[string]any{"id": id}).MustFail(t, 404, "ObjectNotFoundException")
	// An id that does not exist at all answers the same.
	h.Send(t, gt.Acme, readIncident, map[string]any{"id": uuid.NewString()}).MustFail(t, 404, "ObjectNotFoundException")
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	// Acting as another company.
	body := gt.Envelope(gt.Other, addIncident, map[string]any{"aptBusinessObjectSummary": "x"})
	r := h.Post(t, body, gt.Basic(gt.Acme), nil).MustFail(t, 403, "AuthorizationException")
	if !strings.Contains(r.Header.ErrMsg, `"other-co"`) {
		t.Fatalf("errMsg does not name the ownerId: %s", r.Header.ErrMsg)
	}
	// A network the company does not belong to.
	c := gt.Acme
	c.NetworkID = "net-2"
	h.Send(t, c, addIncident, map[string]any{"aptBusinessObjectSummary": "x"}).MustFail(t, 403, "AuthorizationException")
	c.NetworkID = "no-such-network"
	h.Send(t, c, addIncident, map[string]any{"aptBusinessObjectSummary": "x"}).MustFail(t, 403, "AuthorizationException")
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(h.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	// With the store gone, the process is still healthy but not ready.
	if err := h.Store.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503} {
		resp, err := http.Get(h.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("store closed: %s answered %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestSchemaValidationErrors(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	cases := []struct {
		name    string
		payload map[string]any
		want    []string
	}{
		{"summary missing", map[string]any{"businessPriority": "HIGH"},
			[]string{"$.aptBusinessObjectSummary: is missing but it is required"}},
		{"summary empty", map[string]any{"aptBusinessObjectSummary": ""},
			[]string{"$.aptBusinessObjectSummary: must not be empty"}},
		{"several problems at once", map[string]any{
			"businessPriority":  "URGENT",
			"resolutionDueDate": "tomorrow",
			"impactedProducts":  []any{map[string]any{"productDetailId": 7}},
			"responsibleEntity": "acme",
		}, []string{
			"$.aptBusinessObjectSummary: is missing but it is required",
			"$.businessPriority: does not have a value in the enumeration [HIGH, MEDIUM, LOW]",
			"$.resolutionDueDate: 'tomorrow' does not match pattern '^[0-9]{1,15}$'",
			"$.impactedProducts[0].productDetailId: integer found, string expected",
			"$.responsibleEntity: string found, null or object expected",
		}},
		{"keys the store would misread", map[string]any{
			"aptBusinessObjectSummary": "x",
			"$where":                   "1",
			"nested":                   map[string]any{"a.b": 1},
		}, []string{
			"$[\"$where\"]: field names must not start with '$'",
			"$.nested[\"a.b\"]: field names must not contain '.'",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Send(t, gt.Acme, addIncident, tc.payload).MustFail(t, 400, "SchemaValidationException")
			var msg struct {
				Failed []string `json:"validation-failed"`
			}
			if err := json.Unmarshal([]byte(r.Header.ErrMsg), &msg); err != nil {
				t.Fatalf("errMsg is not the JSON object of the protocol: %q", r.Header.ErrMsg)
			}
			for _, w := range tc.want {
				if !contains(msg.Failed, w) {
					t.Errorf("missing %q in %q", w, msg.Failed)
				}
			}
			if len(msg.Failed) != len(tc.want) {
				t.Errorf("got %d problems, want %d: %q", len(msg.Failed), len(tc.want), msg.Failed)
			}
		})
	}
}

func TestEnumsMatchWithoutRegardToCaseAndUnknownFieldsWarn(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	r := h.Send(t, gt.Acme, addIncident, map[string]any{
		"aptBusinessObjectSummary": "x",
		"businessPriority":         "medium",
		"incidentCategry":          "typo",
		"aptBusinessObjectId":      "INC-999",
	}).MustOK(t)
	wantWarnings := []string{
		"$.incidentCategry: unknown field (did you mean incidentCategory?)",
		"$.aptBusinessObjectId: is maintained by the gateway; the value sent was ignored",
	}
	for _, w := range wantWarnings {
		if !contains(r.Header.Warnings, w) {
			t.Errorf("warnings %q lack %q", r.Header.Warnings, w)
		}
	}
	var added struct{ ID string }
	r.Decode(t, &added)
	rec := readOne(t, h, gt.Acme, added.ID)
	if rec.Data["businessPriority"] != "MEDIUM" {
		t.Errorf("enum stored as %v, want the canonical MEDIUM", rec.Data["businessPriority"])
	}
	if rec.Data["incidentCategry"] != "typo" {
		t.Errorf("unknown field not stored as sent: %v", rec.Data)
	}
	if rec.Data["aptBusinessObjectId"] != "INC-1" {
		t.Errorf("a payload overrode the business object id: %v", rec.Data["aptBusinessObjectId"])
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func jsonMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// A payload with many unknown fields gets a short answer, not thousands of
// warnings.
func TestWarningsAreCapped(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	payload := map[string]any{"aptBusinessObjectSummary": "x"}
	for i := 0; i < 150; i++ {
		payload[fmt.Sprintf("extra%03d", i)] = i
	}
	r := h.Send(t, gt.Acme, addIncident, payload).MustOK(t)
	if n := len(r.Header.Warnings); n != 101 || r.Header.Warnings[100] != "... and 50 more warnings" {
		t.Fatalf("%d warnings, last %q", n, r.Header.Warnings[n-1])
	}
}
