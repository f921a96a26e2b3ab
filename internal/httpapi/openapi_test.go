package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/httpapi"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// The served document is OpenAPI 3.1, lists the REST and envelope
// operations, and carries every event's payload schema with $refs that
// resolve inside it.
func TestOpenAPIDocumentServed(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	resp, body := get(t, h.URL+"/openapi.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, body)
	}
	var doc struct {
		OpenAPI    string                    `json:"openapi"`
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	for path, method := range map[string]string{"/api/events": "post", "/api/v1/incident/{id}": "patch", "/api/oauth/token": "post", "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver": "post", "/readyz": "get"} {
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("no %s %s in the document", method, path)
		}
	}
	events := h.Gateway.Registry().Events()
	for _, ev := range events {
		name := "payload." + strings.TrimSuffix(ev.Schema, ".json")
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("event %s: no schema %s", ev.Name, name)
		}
	}
	for _, m := range regexpRefs.FindAllStringSubmatch(body, -1) {
		if _, ok := doc.Components.Schemas[m[1]]; !ok {
			t.Errorf("$ref to %s, which the document does not have", m[1])
		}
	}
	if strings.Contains(body, "defs.json") || strings.Contains(body, `"#/$defs`) {
		t.Error("a $ref still points outside the document")
	}
}

// The reference page shows every operation and event, under a policy that
// allows no script.
func TestAPIReferencePage(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	resp, body := get(t, h.URL+"/docs/api")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs/api: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for _, want := range []string{"<code>/api/v1/incident/{id}</code>", "Change an incident", "agile-process-teams:add-incident:v5", "aptBusinessObjectSummary", "Idempotency-Key", "/openapi.json"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	if strings.Contains(body, "<script") {
		t.Error("the page has a script")
	}
	css, _ := get(t, h.URL+"/docs/api.css")
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /docs/api.css: %d %s", css.StatusCode, css.Header.Get("Content-Type"))
	}
}

// Every route the router serves is declared with its operation (or as no
// API), and every operation of the document is served, so the document
// cannot drift from the routes.
func TestEveryRouteDocumented(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	s, err := httpapi.New(h.Gateway)
	if err != nil {
		t.Fatal(err)
	}
	doc := s.Document()
	declared := map[string]bool{}
	for _, r := range doc.Routes {
		declared[r.Method+" "+r.Path] = true
	}
	served := map[string]bool{}
	for _, r := range s.RouterRoutes() {
		served[r] = true
		if !declared[r] {
			t.Errorf("route %s is served but not declared through handle, handleAny or handlePage", r)
		}
	}
	var parsed struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(doc.JSON, &parsed); err != nil {
		t.Fatal(err)
	}
	inDoc := 0
	for _, r := range doc.Routes {
		if r.Operation == nil {
			continue
		}
		inDoc++
		if !served[r.Method+" "+r.Path] {
			t.Errorf("%s %s is documented but not served", r.Method, r.Path)
		}
	}
	n := 0
	for _, item := range parsed.Paths {
		n += len(item)
	}
	if n != inDoc || n == 0 {
		t.Errorf("the document has %d operations, the routes declare %d", n, inDoc)
	}
}

var regexpRefs = regexp.MustCompile(`"\$ref": "#/components/schemas/([^"]+)"`)
