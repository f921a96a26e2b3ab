package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/webhook"
)

// servedValidator fetches /openapi.json from h, parses it as OpenAPI 3.1
// and fails the test on every error the validator finds in the document
// itself; it returns a validator of traffic against that document.
func servedValidator(t *testing.T, h *gt.Harness) validator.Validator {
	t.Helper()
	resp, body := get(t, h.URL+"/openapi.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, body)
	}
	doc, err := libopenapi.NewDocument([]byte(body))
	if err != nil {
		t.Fatalf("libopenapi cannot parse the document: %v", err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("libopenapi reads version %q, want 3.1.0", v)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("libopenapi cannot build the 3.1 model: %v", err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions(), config.WithContentAssertions(), config.WithURLEncodedBodyValidation())
	for _, err := range errs {
		t.Errorf("validator: %v", err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	if ok, verrs := v.ValidateDocument(); !ok || len(verrs) > 0 {
		reportErrors(t, "the document against the OpenAPI 3.1 schema", verrs)
		t.FailNow()
	}
	return v
}

func reportErrors(t *testing.T, what string, errs []*verrors.ValidationError) {
	t.Helper()
	if len(errs) == 0 {
		t.Errorf("%s: invalid, with no error listed", what)
	}
	for _, e := range errs {
		t.Errorf("%s: %s", what, e.Error())
		for _, f := range e.SchemaValidationErrors {
			t.Errorf("    at %s (%s): %s", f.FieldPath, f.KeywordLocation, f.Reason)
		}
	}
}

// exchange is one request as sent and the answer as received, both
// replayable for the validator.
type exchange struct {
	req    *http.Request
	resp   *http.Response
	status int
	body   []byte
}

// decode unmarshals the answer's JSON body into v.
func (x *exchange) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(x.body, v); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v\n%s", x.req.Method, x.req.URL.Path, err, x.body)
	}
}

// trafficChecker sends real requests to the gateway and validates each
// request and its answer against the served document.
type trafficChecker struct {
	t      *testing.T
	h      *gt.Harness
	v      validator.Validator
	client *http.Client
	// refused, when set, expects a request the document calls invalid:
	// the request must fail validation and only its answer is checked.
	refused bool
}

// do sends method path with body (nil for none) of contentType and the
// headers, then validates the request and the response against the
// document; want is the status the test expects.
func (c *trafficChecker) do(method, path, contentType string, body []byte, headers map[string]string, want int) *exchange {
	t := c.t
	t.Helper()
	newReq := func() *http.Request {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, c.h.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		return req
	}
	resp, err := c.client.Do(newReq())
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	// The validator reads both bodies: give it a fresh request and the
	// answer's bytes again.
	req := newReq()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.Request = req
	what := method + " " + path + " (" + resp.Status + ")"
	if c.refused {
		if ok, _ := c.v.ValidateHttpRequest(req); ok {
			t.Errorf("%s: the gateway refused a request the document allows", what)
		}
		req = newReq()
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		if ok, errs := c.v.ValidateHttpResponse(req, resp); !ok {
			reportErrors(t, what, errs)
		}
	} else if ok, errs := c.v.ValidateHttpRequestResponse(req, resp); !ok {
		reportErrors(t, what, errs)
	}
	return &exchange{req: req, resp: resp, status: resp.StatusCode, body: raw}
}

func (c *trafficChecker) json(method, path, auth string, body any, want int) *exchange {
	c.t.Helper()
	var raw []byte
	ct := ""
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
		ct = "application/json"
	}
	var headers map[string]string
	if auth != "" {
		headers = map[string]string{"Authorization": auth}
	}
	return c.do(method, path, ct, raw, headers, want)
}

// Real traffic through every kind of route — envelope events, the token
// endpoint, REST incidents, search, the change feed, webhooks, health —
// matches the served document, request and answer, and so do the
// answers the gateway refuses a request with.
func TestTrafficMatchesOpenAPIDocument(t *testing.T) {
	t.Parallel()
	// Webhooks may deliver to the loopback receiver over http.
	cfg := handlers.Config{Webhooks: webhook.Config{Client: webhook.NewClient(5*time.Second, true, true)}}
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed(), Config: cfg})
	c := &trafficChecker{t: t, h: h, v: servedValidator(t, h), client: &http.Client{Timeout: 30 * time.Second}}
	basic := gt.Basic(gt.Acme)

	// The envelope API.
	add := c.do(http.MethodPost, "/api/events", "application/json", gt.Envelope(gt.Acme, "agile-process-teams:add-incident:v5", map[string]any{
		"aptBusinessObjectSummary": "Pump leaks", "aptBusinessObjectDescription": "Line 3", "requesterEmail": "tim@acme.example",
	}), map[string]string{"Authorization": basic}, http.StatusOK)
	var env struct {
		Payload struct {
			ID string `json:"id"`
		} `json:"payload"`
	}
	add.decode(t, &env)
	if env.Payload.ID == "" {
		t.Fatalf("add-incident:v5 answered no id: %s", add.body)
	}
	c.do(http.MethodPost, "/api/events", "application/json", gt.Envelope(gt.Acme, "agile-process-teams:read-incident:v4", map[string]any{"id": env.Payload.ID}),
		map[string]string{"Authorization": basic}, http.StatusOK)
	c.do(http.MethodPost, "/api/events", "application/json", gt.Envelope(gt.Acme, "agile-process-teams:read-incident:v4", map[string]any{"id": "no-such-incident"}),
		map[string]string{"Authorization": basic}, http.StatusNotFound)

	// The password grant.
	form := url.Values{"grant_type": {"password"}, "username": {gt.Tim.Username}, "password": {gt.Tim.Password}}
	tok := c.do(http.MethodPost, "/api/oauth/token", "application/x-www-form-urlencoded", []byte(form.Encode()),
		map[string]string{"Authorization": "Basic " + basicOf(gt.Tim.ClientID, gt.Tim.ClientSecret)}, http.StatusOK)
	var token struct {
		AccessToken string `json:"access_token"`
	}
	tok.decode(t, &token)
	bearer := "Bearer " + token.AccessToken

	// REST incidents.
	created := c.json(http.MethodPost, "/api/v1/incident", bearer, map[string]any{
		"subject": "Valve stuck", "description": "Tank 2", "requesterEmail": "tim@acme.example", "impact": "LOW", "urgency": "HIGH",
		"tags": []string{"plant"}, "category": 5, "fieldValueDetails": map[string]any{"1": map[string]any{"type": 1, "stringValue": "Open"}},
	}, http.StatusOK)
	var inc struct {
		ID string `json:"id"`
	}
	created.decode(t, &inc)
	c.json(http.MethodGet, "/api/v1/incident", bearer, nil, http.StatusOK)
	c.json(http.MethodGet, "/api/v1/incident?limit=1", bearer, nil, http.StatusOK)
	c.json(http.MethodGet, "/api/v1/incident/"+inc.ID, bearer, nil, http.StatusOK)
	c.json(http.MethodPatch, "/api/v1/incident/"+inc.ID, bearer, map[string]any{"priority": "URGENT", "dataVersion": 1}, http.StatusOK)
	c.json(http.MethodGet, "/api/v1/incident/no-such-incident", bearer, nil, http.StatusNotFound)

	// Refused requests answer as documented.
	c.refused = true
	bad := c.json(http.MethodPost, "/api/v1/incident", bearer, map[string]any{"subject": "s", "requesterEmail": "tim@acme.example", "statusName": "Open"}, http.StatusBadRequest)
	if !strings.Contains(string(bad.body), "validation_failed") {
		t.Errorf("a bad field: %s", bad.body)
	}
	c.json(http.MethodGet, "/api/v1/incident?limit=many", bearer, nil, http.StatusBadRequest)
	c.refused = false
	c.json(http.MethodGet, "/api/v1/incident", "Bearer not-a-token", nil, http.StatusUnauthorized)
	c.json(http.MethodPatch, "/api/v1/incident/"+inc.ID, bearer, map[string]any{"priority": "LOW", "dataVersion": 1}, http.StatusConflict)

	// Search, the change feed, webhooks, health.
	c.json(http.MethodGet, "/api/v1/search", basic, nil, http.StatusOK)
	c.json(http.MethodGet, "/api/v1/search?kind=incident&limit=1", bearer, nil, http.StatusOK)
	c.json(http.MethodGet, "/api/v1/changes", basic, nil, http.StatusOK)
	c.json(http.MethodGet, "/api/v1/changes?limit=1", basic, nil, http.StatusOK)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(receiver.Close)
	hook := c.json(http.MethodPost, "/api/v1/webhooks", basic, map[string]any{"url": receiver.URL + "/hook", "kinds": []string{"incident"}}, http.StatusCreated)
	var wh struct {
		ID string `json:"id"`
	}
	hook.decode(t, &wh)
	c.json(http.MethodGet, "/api/v1/webhooks", basic, nil, http.StatusOK)
	c.json(http.MethodGet, "/api/v1/webhooks/"+wh.ID+"/deliveries", basic, nil, http.StatusOK)
	c.json(http.MethodPost, "/api/v1/webhooks/"+wh.ID+"/enable", basic, nil, http.StatusOK)
	c.json(http.MethodDelete, "/api/v1/webhooks/"+wh.ID, basic, nil, http.StatusNoContent)
	c.json(http.MethodGet, "/healthz", "", nil, http.StatusOK)
	c.json(http.MethodGet, "/readyz", "", nil, http.StatusOK)
}

func basicOf(user, password string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, password)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}
