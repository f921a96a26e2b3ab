package restclient_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
	"gopkg.in/yaml.v3"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/httpapi/restclient"
)

var update = flag.Bool("update", false, "write the regenerated client to client.gen.go")

// generate runs oapi-codegen, through its Go API, with oapi-codegen.yaml
// on the document the gateway h serves.
func generate(t *testing.T, h *gt.Harness) []byte {
	t.Helper()
	resp, err := http.Get(h.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %v", resp.StatusCode, err)
	}
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		t.Fatalf("oapi-codegen's loader cannot read the document: %v", err)
	}
	raw, err := os.ReadFile("oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg codegen.Configuration
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("oapi-codegen.yaml: %v", err)
	}
	cfg = cfg.UpdateDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("oapi-codegen.yaml: %v", err)
	}
	code, err := codegen.Generate(spec, cfg)
	if err != nil {
		t.Fatalf("oapi-codegen: %v", err)
	}
	return []byte(code)
}

// The committed client is what oapi-codegen makes of the document the
// gateway serves now; -update rewrites it.
func TestGeneratedClientUpToDate(t *testing.T) {
	h := gt.Start(t, gt.Options{})
	code := generate(t, h)
	if *update {
		if err := os.WriteFile("client.gen.go", code, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, code) {
		dir := t.TempDir()
		_ = os.WriteFile(dir+"/client.gen.go", code, 0o644)
		t.Fatalf("client.gen.go is not what oapi-codegen makes of the served document (regenerated into %s); run go generate ./internal/httpapi/restclient", dir)
	}
}

func ptr[T any](v T) *T { return &v }

// A user of the generated client logs in with the password grant,
// creates an incident, finds it in the list and in search, reads it and
// changes it, seeing what the gateway answers in the client's own types.
func TestGeneratedClientCallsTheRESTAPI(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed()})
	ctx := context.Background()
	httpClient := &http.Client{Timeout: 30 * time.Second}
	c, err := restclient.NewClientWithResponses(h.URL, restclient.WithHTTPClient(httpClient))
	if err != nil {
		t.Fatal(err)
	}

	tok, err := c.GetTokenWithFormdataBodyWithResponse(ctx, restclient.TokenRequest{GrantType: restclient.Password,
		Username: ptr(gt.Tim.Username), Password: ptr(gt.Tim.Password)},
		func(_ context.Context, req *http.Request) error {
			req.SetBasicAuth(gt.Tim.ClientID, gt.Tim.ClientSecret)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if tok.JSON200 == nil || tok.JSON200.AccessToken == "" || tok.JSON200.TokenType != "bearer" {
		t.Fatalf("password grant: %d %s", tok.StatusCode(), tok.Body)
	}
	bearer := restclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+tok.JSON200.AccessToken)
		return nil
	})
	c, err = restclient.NewClientWithResponses(h.URL, restclient.WithHTTPClient(httpClient), bearer)
	if err != nil {
		t.Fatal(err)
	}

	urgency := restclient.IncidentInputUrgencyHIGH
	created, err := c.CreateIncidentWithResponse(ctx, nil, restclient.IncidentInput{Subject: "Valve stuck", RequesterEmail: "tim@acme.example",
		Description: ptr("Tank 2"), Urgency: &urgency, Tags: &[]string{"plant"}})
	if err != nil {
		t.Fatal(err)
	}
	inc := created.JSON200
	if inc == nil {
		t.Fatalf("create: %d %s", created.StatusCode(), created.Body)
	}
	if inc.Name != "INC-1" || inc.StatusName != "New" || inc.DataVersion != 1 || inc.Subject == nil || *inc.Subject != "Valve stuck" ||
		inc.Urgency == nil || *inc.Urgency != "HIGH" || inc.CreatedBy == nil || *inc.CreatedBy != gt.Tim.Username {
		t.Fatalf("created incident: %s", created.Body)
	}

	list, err := c.ListIncidentsWithResponse(ctx, &restclient.ListIncidentsParams{})
	if err != nil {
		t.Fatal(err)
	}
	if list.JSON200 == nil || list.JSON200.Items == nil || len(*list.JSON200.Items) != 1 || (*list.JSON200.Items)[0].Id != inc.Id {
		t.Fatalf("list: %d %s", list.StatusCode(), list.Body)
	}
	found, err := c.SearchWithResponse(ctx, &restclient.SearchParams{Kind: ptr("incident")})
	if err != nil {
		t.Fatal(err)
	}
	if found.JSON200 == nil || len(found.JSON200.Items) != 1 || found.JSON200.Items[0].Id != inc.Id || found.JSON200.Items[0].CurrentBaseState != "New" {
		t.Fatalf("search: %d %s", found.StatusCode(), found.Body)
	}

	got, err := c.GetIncidentWithResponse(ctx, inc.Id)
	if err != nil {
		t.Fatal(err)
	}
	if got.JSON200 == nil || got.JSON200.Id != inc.Id || got.JSON200.Name != "INC-1" {
		t.Fatalf("get: %d %s", got.StatusCode(), got.Body)
	}

	priority := restclient.IncidentPatchPriorityURGENT
	patched, err := c.UpdateIncidentWithResponse(ctx, inc.Id, nil, restclient.IncidentPatch{Priority: &priority, DataVersion: ptr(1)})
	if err != nil {
		t.Fatal(err)
	}
	if p := patched.JSON200; p == nil || p.DataVersion != 2 || p.Priority == nil || *p.Priority != "URGENT" || p.Subject == nil || *p.Subject != "Valve stuck" {
		t.Fatalf("patch: %d %s", patched.StatusCode(), patched.Body)
	}
	stale, err := c.UpdateIncidentWithResponse(ctx, inc.Id, nil, restclient.IncidentPatch{Subject: ptr("again"), DataVersion: ptr(1)})
	if err != nil {
		t.Fatal(err)
	}
	if stale.StatusCode() != http.StatusConflict || stale.JSONDefault == nil || stale.JSONDefault.Error == "" {
		t.Fatalf("a stale dataVersion: %d %s", stale.StatusCode(), stale.Body)
	}

	missing, err := c.GetIncidentWithResponse(ctx, "no-such-incident")
	if err != nil {
		t.Fatal(err)
	}
	if missing.JSON404 == nil || missing.JSON404.Error == "" {
		t.Fatalf("a missing incident: %d %s", missing.StatusCode(), missing.Body)
	}
}
