package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// restAnswer is what a REST client sees: status, headers and JSON body.
type restAnswer struct {
	Status int
	HTTP   http.Header
	Body   map[string]any
	Raw    string
}

func restDo(t *testing.T, req *http.Request) *restAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	a := &restAnswer{Status: resp.StatusCode, HTTP: resp.Header, Raw: buf.String()}
	if err := json.Unmarshal(buf.Bytes(), &a.Body); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %d %s", req.Method, req.URL.Path, resp.StatusCode, buf.String())
	}
	return a
}

// tokenRequest posts a url-encoded form to the token endpoint with the
// client's HTTP Basic credentials, as the seed document's clients do.
func tokenRequest(t *testing.T, h *gatewaytest.Harness, clientID, secret string, form url.Values) *restAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(clientID, secret)
	}
	return restDo(t, req)
}

func passwordGrant(u gatewaytest.RESTUser) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {u.Username}, "password": {u.Password}}
}

// login gets an access token for u.
func login(t *testing.T, h *gatewaytest.Harness, u gatewaytest.RESTUser) (access, refresh string) {
	t.Helper()
	a := tokenRequest(t, h, u.ClientID, u.ClientSecret, passwordGrant(u))
	if a.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", u.Username, a.Status, a.Raw)
	}
	return a.Body["access_token"].(string), a.Body["refresh_token"].(string)
}

func restJSON(t *testing.T, h *gatewaytest.Harness, method, path, token string, body any) *restAnswer {
	t.Helper()
	var rd *bytes.Reader
	if s, ok := body.(string); ok {
		rd = bytes.NewReader([]byte(s))
	} else {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return restDo(t, req)
}

func startREST(t *testing.T, cfg handlers.Config) *gatewaytest.Harness {
	t.Helper()
	return gatewaytest.Start(t, gatewaytest.Options{Seed: gatewaytest.RESTSeed(), Config: cfg})
}

func wantOAuthError(t *testing.T, a *restAnswer, status int, code string) {
	t.Helper()
	if a.Status != status || a.Body["error"] != code || a.Body["error_description"] == "" {
		t.Fatalf("want %d %s with a description, got %d %s", status, code, a.Status, a.Raw)
	}
}

// The token endpoint per RFC 6749: the password grant with HTTP Basic
// client authentication, url-encoded or multipart, and every error of §5.2.
func TestOAuthTokenEndpoint(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})

	a := tokenRequest(t, h, gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret, passwordGrant(gatewaytest.Tim))
	if a.Status != http.StatusOK || a.Body["token_type"] != "bearer" || a.Body["expires_in"] != float64(3600) ||
		a.Body["access_token"] == "" || a.Body["refresh_token"] == "" || a.Body["scope"] != "incident" {
		t.Fatalf("password grant: %d %s", a.Status, a.Raw)
	}
	if a.HTTP.Get("Cache-Control") != "no-store" {
		t.Fatalf("token answer Cache-Control %q, want no-store", a.HTTP.Get("Cache-Control"))
	}

	// Multipart form, as form-data in Postman.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range passwordGrant(gatewaytest.Tim) {
		_ = mw.WriteField(k, v[0])
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/oauth/token", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth(gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret)
	if a := restDo(t, req); a.Status != http.StatusOK || a.Body["access_token"] == "" {
		t.Fatalf("multipart password grant: %d %s", a.Status, a.Raw)
	}

	// Client credentials in the form instead of Basic.
	form := passwordGrant(gatewaytest.Tim)
	form.Set("client_id", gatewaytest.Tim.ClientID)
	form.Set("client_secret", gatewaytest.Tim.ClientSecret)
	if a := tokenRequest(t, h, "", "", form); a.Status != http.StatusOK {
		t.Fatalf("client credentials in the form: %d %s", a.Status, a.Raw)
	}
	// Usernames are e-mail addresses: case does not matter.
	upper := passwordGrant(gatewaytest.Tim)
	upper.Set("username", strings.ToUpper(gatewaytest.Tim.Username))
	if a := tokenRequest(t, h, gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret, upper); a.Status != http.StatusOK {
		t.Fatalf("username in upper case: %d %s", a.Status, a.Raw)
	}

	cases := []struct {
		name           string
		client, secret string
		form           url.Values
		status         int
		code           string
	}{
		{"wrong client secret", gatewaytest.Tim.ClientID, "wrong-secret-0123456789", passwordGrant(gatewaytest.Tim), 401, "invalid_client"},
		{"unknown client", "nobody-app", gatewaytest.Tim.ClientSecret, passwordGrant(gatewaytest.Tim), 401, "invalid_client"},
		{"no client authentication", "", "", passwordGrant(gatewaytest.Tim), 401, "invalid_client"},
		{"wrong password", gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret,
			url.Values{"grant_type": {"password"}, "username": {gatewaytest.Tim.Username}, "password": {"not-his-password"}}, 400, "invalid_grant"},
		{"unknown user", gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret,
			url.Values{"grant_type": {"password"}, "username": {"ghost@acme.example"}, "password": {"whatever-1"}}, 400, "invalid_grant"},
		{"user of another company", gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret, passwordGrant(gatewaytest.Sara), 400, "invalid_grant"},
		{"no grant_type", gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret,
			url.Values{"username": {gatewaytest.Tim.Username}, "password": {gatewaytest.Tim.Password}}, 400, "invalid_request"},
		{"client_credentials grant", gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret, url.Values{"grant_type": {"client_credentials"}}, 400, "unsupported_grant_type"},
		{"no password", gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret, url.Values{"grant_type": {"password"}, "username": {gatewaytest.Tim.Username}}, 400, "invalid_request"},
		{"no refresh_token", gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret, url.Values{"grant_type": {"refresh_token"}}, 400, "invalid_request"},
		{"unknown refresh_token", gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"garbage"}}, 400, "invalid_grant"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := tokenRequest(t, h, c.client, c.secret, c.form)
			wantOAuthError(t, a, c.status, c.code)
			if c.status == 401 && !strings.HasPrefix(a.HTTP.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("401 without a Basic challenge: %q", a.HTTP.Get("WWW-Authenticate"))
			}
		})
	}

	t.Run("JSON body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/oauth/token", strings.NewReader(`{"grant_type":"password"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret)
		wantOAuthError(t, restDo(t, req), 400, "invalid_request")
	})
	t.Run("parameters in the query string", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/oauth/token?"+passwordGrant(gatewaytest.Tim).Encode(), nil)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(gatewaytest.Tim.ClientID, gatewaytest.Tim.ClientSecret)
		wantOAuthError(t, restDo(t, req), 400, "invalid_request")
	})
	t.Run("revoked client", func(t *testing.T) {
		if err := h.Store.RevokeOAuthClient(context.Background(), gatewaytest.Oleg.ClientID); err != nil {
			t.Fatal(err)
		}
		wantOAuthError(t, tokenRequest(t, h, gatewaytest.Oleg.ClientID, gatewaytest.Oleg.ClientSecret, passwordGrant(gatewaytest.Oleg)), 401, "invalid_client")
	})
}

// Refresh tokens give a new pair once; they are bound to their client and
// are not access tokens.
func TestOAuthRefreshToken(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	tim := gatewaytest.Tim
	access, refresh := login(t, h, tim)
	grant := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}

	wantOAuthError(t, tokenRequest(t, h, gatewaytest.Sara.ClientID, gatewaytest.Sara.ClientSecret, grant), 400, "invalid_grant")
	wantOAuthError(t, tokenRequest(t, h, tim.ClientID, tim.ClientSecret,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {access}}), 400, "invalid_grant")

	a := tokenRequest(t, h, tim.ClientID, tim.ClientSecret, grant)
	if a.Status != http.StatusOK || a.Body["access_token"] == access || a.Body["refresh_token"] == refresh {
		t.Fatalf("refresh: %d %s", a.Status, a.Raw)
	}
	if got := restJSON(t, h, http.MethodPost, "/api/v1/incident", a.Body["access_token"].(string),
		map[string]any{"subject": "after refresh", "requesterEmail": tim.Username}); got.Status != http.StatusOK {
		t.Fatalf("the refreshed access token does not work: %d %s", got.Status, got.Raw)
	}
	wantOAuthError(t, tokenRequest(t, h, tim.ClientID, tim.ClientSecret, grant), 400, "invalid_grant") // used once
	if got := restJSON(t, h, http.MethodPost, "/api/v1/incident", refresh,
		map[string]any{"subject": "x", "requesterEmail": tim.Username}); got.Status != http.StatusUnauthorized {
		t.Fatalf("a refresh token used as a bearer token: %d %s", got.Status, got.Raw)
	}
}

// Every way a bearer token can be wrong is 401 invalid_token with a
// challenge, and creates nothing.
func TestBearerTokenErrors(t *testing.T) {
	t.Parallel()
	clock := gatewaytest.NewClock(time.Now())
	h := gatewaytest.Start(t, gatewaytest.Options{Seed: gatewaytest.RESTSeed(), Clock: clock, Config: handlers.Config{AccessTokenTTL: time.Second}})
	tim := gatewaytest.Tim
	good, _ := login(t, h, tim)
	body := map[string]any{"subject": "should not exist", "requesterEmail": tim.Username}

	revoked, _ := login(t, h, tim)
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/oauth/revoke", strings.NewReader(url.Values{"token": {revoked}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(tim.ClientID, tim.ClientSecret)
	if a := restDo(t, req); a.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", a.Status, a.Raw)
	}

	// A token that expired: stored as it would have been issued an hour ago.
	expired := credentials.NewToken()
	past := clock.Now().Add(-time.Hour)
	if err := h.Store.InsertToken(context.Background(), store.Token{Hash: credentials.HashSecret(expired), Kind: store.AccessToken,
		ClientID: tim.ClientID, Username: tim.Username, CompanyID: tim.CompanyID, IssuedAt: past, ExpiresAt: past.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}

	cases := []struct{ name, authorization string }{
		{"missing", ""},
		{"garbled", "Bearer not-a-token"},
		{"empty bearer", "Bearer "},
		{"basic instead of bearer", "Basic " + base64.StdEncoding.EncodeToString([]byte(tim.ClientID+":"+tim.ClientSecret))},
		{"revoked", "Bearer " + revoked},
		{"expired", "Bearer " + expired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := json.Marshal(body)
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/incident", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			if c.authorization != "" {
				req.Header.Set("Authorization", c.authorization)
			}
			a := restDo(t, req)
			wantOAuthError(t, a, 401, "invalid_token")
			if !strings.HasPrefix(a.HTTP.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without a Bearer challenge: %q", a.HTTP.Get("WWW-Authenticate"))
			}
		})
	}
	if list := gatewaytest.StoredIncidents(t, h.Store, "default", "acme"); len(list) != 0 {
		t.Fatalf("%d incidents created with bad tokens", len(list))
	}
	if a := restJSON(t, h, http.MethodPost, "/api/v1/incident", good, body); a.Status != http.StatusOK {
		t.Fatalf("the good token: %d %s", a.Status, a.Raw)
	}
	clock.Advance(time.Second) // AccessTokenTTL is 1 s here
	wantOAuthError(t, restJSON(t, h, http.MethodPost, "/api/v1/incident", good, body), 401, "invalid_token")
}

// A client written from the seed document: every field goes in and comes
// back, and the incident is the same one through the envelope API, with its
// history.
func TestRESTCreateEveryField(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	token, _ := login(t, h, gatewaytest.Tim)
	in := map[string]any{
		"impact": "onDepartment", "urgency": "HIGH", "priority": "URGENT", "tags": []any{"rest", "seed"},
		"subject": "Test Subject", "description": "Test Description", "category": 5,
		"fieldValueDetails": map[string]any{"1": map[string]any{"type": 1, "stringValue": "Open"}},
		"requesterEmail":    "tim@acme.example", "requesterName": "Tim",
	}
	a := restJSON(t, h, http.MethodPost, "/api/incident", token, in)
	if a.Status != http.StatusOK {
		t.Fatalf("create: %d %s", a.Status, a.Raw)
	}
	want := map[string]any{
		"name": "INC-1", "subject": "Test Subject", "description": "Test Description", "impact": "ONDEPARTMENT",
		"urgency": "HIGH", "priority": "URGENT", "category": "5", "requesterEmail": "tim@acme.example",
		"requesterName": "Tim", "statusName": "New", "dataVersion": float64(1), "ownerId": "acme",
		"processNetworkId": "net-1", "createdBy": "tim@acme.example",
	}
	for k, v := range want {
		if a.Body[k] != v {
			t.Errorf("%s = %v, want %v", k, a.Body[k], v)
		}
	}
	if tags, _ := json.Marshal(a.Body["tags"]); string(tags) != `["rest","seed"]` {
		t.Errorf("tags = %s", tags)
	}
	if fv, _ := json.Marshal(a.Body["fieldValueDetails"]); string(fv) != `{"1":{"stringValue":"Open","type":1}}` {
		t.Errorf("fieldValueDetails = %s", fv)
	}
	id, _ := a.Body["id"].(string)

	// The same incident through the envelope API.
	var rec struct {
		ID               string         `json:"id"`
		CurrentBaseState string         `json:"currentBaseState"`
		Data             map[string]any `json:"data"`
	}
	h.Send(t, gatewaytest.Acme, "agile-process-teams:read-incident:v4", map[string]any{"id": id}).MustOK(t).Decode(t, &rec)
	d := rec.Data
	if rec.ID != id || d["aptBusinessObjectId"] != "INC-1" || d["aptBusinessObjectSummary"] != "Test Subject" ||
		d["aptBusinessObjectDescription"] != "Test Description" || d["businessPriority"] != "HIGH" ||
		d["impact"] != "ONDEPARTMENT" || d["requesterEmail"] != "tim@acme.example" || rec.CurrentBaseState != "New" {
		t.Fatalf("read-incident:v4 of the REST incident: %+v", rec)
	}
	var hist struct {
		Activities []store.Activity `json:"activities"`
	}
	h.Send(t, gatewaytest.Acme, "agile-process-teams:get-activity-history-for-incident:v1",
		map[string]any{"id": id, "processType": "incident"}).MustOK(t).Decode(t, &hist)
	if len(hist.Activities) != 1 || hist.Activities[0].UserID != "tim@acme.example" || hist.Activities[0].Detail["api"] != "POST /api/incident" {
		t.Fatalf("history of the REST incident: %+v", hist.Activities)
	}

	// customFieldValueDetails is the same field; /api/v1/incident the same route.
	b := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, map[string]any{"subject": "two", "requesterEmail": "x@y.example",
		"customFieldValueDetails": map[string]any{"7": map[string]any{"type": 2, "stringValue": "x"}}})
	if b.Status != http.StatusOK || b.Body["name"] != "INC-2" || b.Body["fieldValueDetails"] == nil {
		t.Fatalf("customFieldValueDetails: %d %s", b.Status, b.Raw)
	}
}

// Bad REST bodies are 400 (415 for the media type) naming every field and
// the values it may take, and create nothing.
func TestRESTCreateErrors(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	token, _ := login(t, h, gatewaytest.Tim)
	ok := func() map[string]any {
		return map[string]any{"subject": "s", "requesterEmail": "tim@acme.example"}
	}
	with := func(k string, v any) map[string]any { m := ok(); m[k] = v; return m }
	without := func(k string) map[string]any { m := ok(); delete(m, k); return m }
	cases := []struct {
		name   string
		body   any
		fields []string
		says   string
	}{
		{"no subject", without("subject"), []string{"subject"}, "required"},
		{"no requester email", without("requesterEmail"), []string{"requesterEmail"}, "required"},
		{"neither", map[string]any{"description": "d"}, []string{"subject", "requesterEmail"}, "required"},
		{"empty subject", with("subject", "  "), []string{"subject"}, "empty"},
		{"bad impact", with("impact", "HUGE"), []string{"impact"}, "LOW, ONUSER, ONDEPARTMENT, ONBUSINESS"},
		{"bad urgency", with("urgency", "SOON"), []string{"urgency"}, "LOW, MEDIUM, HIGH, URGENT"},
		{"bad priority", with("priority", 3), []string{"priority"}, "LOW, MEDIUM, HIGH, URGENT"},
		{"tags not an array", with("tags", "rest"), []string{"tags"}, "array"},
		{"tag not a string", with("tags", []any{1}), []string{"tags"}, "string"},
		{"bad email", with("requesterEmail", "tim at acme"), []string{"requesterEmail"}, "e-mail"},
		{"category object", with("category", map[string]any{}), []string{"category"}, "string or a number"},
		{"field values not objects", with("fieldValueDetails", map[string]any{"1": "Open"}), []string{"fieldValueDetails"}, "object"},
		{"both field value names", func() map[string]any {
			m := with("fieldValueDetails", map[string]any{})
			m["customFieldValueDetails"] = map[string]any{}
			return m
		}(), []string{"customFieldValueDetails"}, "one of them"},
		{"unknown field", with("statusName", "Open"), []string{"statusName"}, "requesterEmail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, c.body)
			if a.Status != 400 || a.Body["error"] != "validation_failed" {
				t.Fatalf("want 400 validation_failed, got %d %s", a.Status, a.Raw)
			}
			var got []string
			for _, p := range a.Body["errors"].([]any) {
				got = append(got, p.(map[string]any)["field"].(string))
			}
			if strings.Join(got, ",") != strings.Join(c.fields, ",") || !strings.Contains(a.Body["error_description"].(string), c.says) {
				t.Fatalf("fields %v (want %v), description %q (want it to say %q)", got, c.fields, a.Body["error_description"], c.says)
			}
		})
	}
	t.Run("broken JSON", func(t *testing.T) {
		a := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, `{"subject": `)
		wantOAuthError(t, a, 400, "invalid_request")
	})
	t.Run("not an object", func(t *testing.T) {
		wantOAuthError(t, restJSON(t, h, http.MethodPost, "/api/v1/incident", token, `["subject"]`), 400, "invalid_request")
	})
	t.Run("too deep", func(t *testing.T) {
		deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
		wantOAuthError(t, restJSON(t, h, http.MethodPost, "/api/v1/incident", token, `{"subject":"s","requesterEmail":"a@b.example","fieldValueDetails":{"1":`+deep+`}}`), 400, "invalid_request")
	})
	t.Run("form instead of JSON", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/incident", strings.NewReader("subject=s"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		wantOAuthError(t, restDo(t, req), 415, "unsupported_media_type")
	})
	if list := gatewaytest.StoredIncidents(t, h.Store, "default", "acme"); len(list) != 0 {
		t.Fatalf("%d incidents created by bad requests", len(list))
	}
}

// GET and PATCH /api/v1/incident/{id}, and the two APIs seeing each other's
// changes; who may read and change what.
func TestRESTReadAndPatchAcrossBothAPIs(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	tim, _ := login(t, h, gatewaytest.Tim)
	sara, _ := login(t, h, gatewaytest.Sara)
	oleg, _ := login(t, h, gatewaytest.Oleg)

	// Created through the envelope API, read through REST.
	var added struct{ ID string }
	h.Send(t, gatewaytest.Acme, "agile-process-teams:add-incident:v5", map[string]any{
		"aptBusinessObjectSummary": "from SCWM", "aptBusinessObjectDescription": "d",
		"responsibleEntity": map[string]any{"partnerId": "supplier-1", "toIdType": "PartnerId"},
	}).MustOK(t).Decode(t, &added)
	g := restJSON(t, h, http.MethodGet, "/api/v1/incident/"+added.ID, tim, nil)
	if g.Status != 200 || g.Body["subject"] != "from SCWM" || g.Body["name"] != "INC-1" || g.Body["dataVersion"] != float64(1) {
		t.Fatalf("GET of an envelope-API incident: %d %s", g.Status, g.Raw)
	}

	// Changed through REST, seen through the envelope API.
	p := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+added.ID, tim, map[string]any{"subject": "patched", "impact": "ONBUSINESS", "dataVersion": 1})
	if p.Status != 200 || p.Body["subject"] != "patched" || p.Body["impact"] != "ONBUSINESS" || p.Body["dataVersion"] != float64(2) || p.Body["updatedBy"] != "tim@acme.example" {
		t.Fatalf("PATCH: %d %s", p.Status, p.Raw)
	}
	var rec struct {
		DataVersion int64          `json:"dataVersion"`
		Data        map[string]any `json:"data"`
	}
	h.Send(t, gatewaytest.Acme, "agile-process-teams:read-incident:v4", map[string]any{"id": added.ID}).MustOK(t).Decode(t, &rec)
	if rec.DataVersion != 2 || rec.Data["aptBusinessObjectSummary"] != "patched" || rec.Data["impact"] != "ONBUSINESS" {
		t.Fatalf("envelope read after PATCH: %+v", rec)
	}

	// Changed through the envelope API, seen through REST.
	h.Send(t, gatewaytest.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": added.ID, "aptBusinessObjectSummary": "edited"}).MustOK(t)
	if g := restJSON(t, h, http.MethodGet, "/api/v1/incident/"+added.ID, tim, nil); g.Body["subject"] != "edited" || g.Body["dataVersion"] != float64(3) {
		t.Fatalf("GET after an envelope edit: %s", g.Raw)
	}

	// A stale dataVersion changes nothing.
	if a := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+added.ID, tim, map[string]any{"subject": "stale", "dataVersion": 1}); a.Status != http.StatusConflict {
		t.Fatalf("PATCH with a stale dataVersion: %d %s", a.Status, a.Raw)
	}
	if a := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+added.ID, tim, map[string]any{"impact": "MAYBE"}); a.Status != 400 || a.Body["error"] != "validation_failed" {
		t.Fatalf("PATCH with a bad enum: %d %s", a.Status, a.Raw)
	}

	// Other companies see nothing; the partner may read once submitted, not change.
	for _, who := range []string{oleg, sara} {
		if a := restJSON(t, h, http.MethodGet, "/api/v1/incident/"+added.ID, who, nil); a.Status != 404 {
			t.Fatalf("GET by a stranger: %d %s", a.Status, a.Raw)
		}
		if a := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+added.ID, who, map[string]any{"subject": "x"}); a.Status != 404 {
			t.Fatalf("PATCH by a stranger: %d %s", a.Status, a.Raw)
		}
	}
	h.Send(t, gatewaytest.Acme, "agile-process-teams:submit-incident-to-partner:v1", map[string]any{"id": added.ID}).MustOK(t)
	if a := restJSON(t, h, http.MethodGet, "/api/v1/incident/"+added.ID, sara, nil); a.Status != 200 || a.Body["subject"] != "edited" {
		t.Fatalf("GET by the partner after submit: %d %s", a.Status, a.Raw)
	}
	if a := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+added.ID, sara, map[string]any{"subject": "x"}); a.Status != 403 {
		t.Fatalf("PATCH by the partner: %d %s", a.Status, a.Raw)
	}
	if a := restJSON(t, h, http.MethodGet, "/api/v1/incident/no-such-id", tim, nil); a.Status != 404 {
		t.Fatalf("GET of an unknown id: %d %s", a.Status, a.Raw)
	}

	// The history holds both APIs' changes, in order.
	var hist struct {
		Activities []store.Activity `json:"activities"`
	}
	h.Send(t, gatewaytest.Acme, "agile-process-teams:get-activity-history-for-incident:v1",
		map[string]any{"id": added.ID, "processType": "incident"}).MustOK(t).Decode(t, &hist)
	var users []string
	for _, a := range hist.Activities {
		users = append(users, a.UserID)
	}
	if strings.Join(users, ",") != "alice,tim@acme.example,alice,alice" || hist.Activities[1].Detail["api"] != "PATCH /api/v1/incident/:id" {
		t.Fatalf("history: %+v", hist.Activities)
	}
}

// The REST surface logs one line per request, naming the route, client and
// user, and never a password, client secret, token or Authorization value,
// whether the request succeeds or fails.
func TestRESTLogsNoSecret(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	h := gatewaytest.Start(t, gatewaytest.Options{Seed: gatewaytest.RESTSeed(), Logs: &logs})
	tim := gatewaytest.Tim
	access, refresh := login(t, h, tim)
	tokenRequest(t, h, tim.ClientID, "wrong-secret-0123456789", passwordGrant(tim))
	tokenRequest(t, h, tim.ClientID, tim.ClientSecret, url.Values{"grant_type": {"password"}, "username": {tim.Username}, "password": {"typo-" + tim.Password}})
	a := tokenRequest(t, h, tim.ClientID, tim.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	restJSON(t, h, http.MethodPost, "/api/v1/incident", access, map[string]any{"subject": "logged", "requesterEmail": tim.Username})
	restJSON(t, h, http.MethodPost, "/api/v1/incident", "garbage-token-value", map[string]any{"subject": "x"})

	h.Stop() // waits for every request, so its line, written after the answer, is in
	out := logs.String()
	for _, secret := range []string{tim.Password, tim.ClientSecret, "wrong-secret-0123456789", access, refresh,
		a.Body["access_token"].(string), a.Body["refresh_token"].(string), "garbage-token-value",
		base64.StdEncoding.EncodeToString([]byte(tim.ClientID + ":" + tim.ClientSecret))} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log holds a secret %q:\n%s", secret, out)
		}
	}
	var lines, withClient int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil || entry["api"] != "rest" {
			continue
		}
		lines++
		if entry["clientId"] == tim.ClientID {
			withClient++
		}
	}
	if lines != 6 || withClient < 4 {
		t.Fatalf("%d REST log lines (%d naming the client), want 6 (at least 4):\n%s", lines, withClient, out)
	}
}

// The REST routes share the envelope API's protections: the per-client rate
// limit, the throttle on failed authentication, and the body limit.
func TestRESTLimits(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{RateLimit: 1, RateBurst: 2, AuthFailureLimit: 3, AuthFailureWindow: time.Minute, BodyLimit: 2048})
	tim := gatewaytest.Tim
	token, _ := login(t, h, tim)
	body := map[string]any{"subject": "s", "requesterEmail": tim.Username}

	big := map[string]any{"subject": strings.Repeat("x", 3000), "requesterEmail": tim.Username}
	if a := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, big); a.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over the limit: %d %s", a.Status, a.Raw)
	}
	restJSON(t, h, http.MethodPost, "/api/v1/incident", token, body)
	a := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, body)
	if a.Status != http.StatusTooManyRequests || a.HTTP.Get("Retry-After") == "" {
		t.Fatalf("over the rate limit: %d %s (Retry-After %q)", a.Status, a.Raw, a.HTTP.Get("Retry-After"))
	}

	for range 3 {
		tokenRequest(t, h, tim.ClientID, "wrong-secret-0123456789", passwordGrant(tim))
	}
	a = tokenRequest(t, h, tim.ClientID, tim.ClientSecret, passwordGrant(tim))
	if a.Status != http.StatusTooManyRequests || a.Body["error"] != "slow_down" || a.HTTP.Get("Retry-After") == "" {
		t.Fatalf("after 3 failed authentications: %d %s", a.Status, a.Raw)
	}
}

// A refresh token used by several requests at once gives one new pair:
// exactly one of them succeeds.
func TestRefreshTokenUsedOnceUnderRace(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	tim := gatewaytest.Tim
	_, refresh := login(t, h, tim)
	grant := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
	const n = 8
	statuses := make(chan int, n)
	for range n {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/oauth/token", strings.NewReader(grant.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(tim.ClientID, tim.ClientSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	ok := 0
	for range n {
		switch s := <-statuses; s {
		case http.StatusOK:
			ok++
		case http.StatusBadRequest:
		default:
			t.Errorf("a concurrent refresh answered %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent uses of one refresh token succeeded, want 1", ok, n)
	}
}

func restWithKey(t *testing.T, h *gatewaytest.Harness, method, path, token, key string, body any) *restAnswer {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, h.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	return restDo(t, req)
}

// REST writes with an Idempotency-Key are carried out once: a retry gets
// the first answer, a key reused for another request is 422, and a retry
// after the first request died once its change was stored gets the answer
// rebuilt from that change.
func TestRESTIdempotencyKeys(t *testing.T) {
	t.Parallel()
	cs := &crashingStore{}
	clock := gatewaytest.NewClock(time.Now())
	h := gatewaytest.Start(t, gatewaytest.Options{Seed: gatewaytest.RESTSeed(), Clock: clock,
		Config:    handlers.Config{RequestTimeout: 2 * time.Second},
		WrapStore: func(s handlers.Store) handlers.Store { cs.Store = s; return cs }})
	tim := gatewaytest.Tim
	token, _ := login(t, h, tim)
	body := map[string]any{"subject": "once", "requesterEmail": tim.Username}

	first := restWithKey(t, h, http.MethodPost, "/api/v1/incident", token, "k1", body)
	again := restWithKey(t, h, http.MethodPost, "/api/v1/incident", token, "k1", body)
	if first.Status != 200 || again.Status != 200 || again.Raw != first.Raw || again.HTTP.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry of a create: first %d %s, again %d %s (replayed %q)", first.Status, first.Raw, again.Status, again.Raw, again.HTTP.Get("Idempotent-Replayed"))
	}
	if a := restWithKey(t, h, http.MethodPost, "/api/v1/incident", token, "k1", map[string]any{"subject": "other", "requesterEmail": tim.Username}); a.Status != 422 {
		t.Fatalf("a key reused for another body: %d %s", a.Status, a.Raw)
	}
	id := first.Body["id"].(string)
	patch := map[string]any{"subject": "patched once"}
	p1 := restWithKey(t, h, http.MethodPatch, "/api/v1/incident/"+id, token, "k2", patch)
	p2 := restWithKey(t, h, http.MethodPatch, "/api/v1/incident/"+id, token, "k2", patch)
	if p1.Status != 200 || p2.Raw != p1.Raw || p1.Body["dataVersion"] != float64(2) {
		t.Fatalf("retry of a patch: %d %s, then %s", p1.Status, p1.Raw, p2.Raw)
	}

	// The first request stores its incident and dies before recording its
	// answer: the retry waits out the lease and rebuilds the answer.
	died := cs.crashAfterAnswer()
	crashed := restWithKey(t, h, http.MethodPost, "/api/v1/incident", token, "k3", map[string]any{"subject": "crash", "requesterEmail": tim.Username})
	died()
	// The lease runs out after the request timeout, half of it again and
	// a second.
	clock.Advance(2*time.Second + time.Second + time.Second + time.Millisecond)
	rebuilt := restWithKey(t, h, http.MethodPost, "/api/v1/incident", token, "k3", map[string]any{"subject": "crash", "requesterEmail": tim.Username})
	if crashed.Status != 200 || rebuilt.Status != 200 || rebuilt.Body["id"] != crashed.Body["id"] || rebuilt.Body["name"] != crashed.Body["name"] {
		t.Fatalf("retry after a crash: first %s, retry %d %s", crashed.Raw, rebuilt.Status, rebuilt.Raw)
	}
	if list := gatewaytest.StoredIncidents(t, h.Store, "default", "acme"); len(list) != 2 {
		t.Fatalf("%d incidents, want 2", len(list))
	}
}

// A PATCH is a JSON merge patch, as edit-incident is: an object sent is
// merged into the stored one (the custom field values not named keep
// theirs), anything else is set.
func TestRESTPatchMergesObjects(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	token, _ := login(t, h, gatewaytest.Tim)
	created := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, map[string]any{"subject": "merge", "requesterEmail": gatewaytest.Tim.Username,
		"fieldValueDetails": map[string]any{"1": map[string]any{"type": 1, "stringValue": "Open"}}})
	id := created.Body["id"].(string)
	p := restJSON(t, h, http.MethodPatch, "/api/v1/incident/"+id, token, map[string]any{"subject": "merged",
		"fieldValueDetails": map[string]any{"2": map[string]any{"type": 1, "stringValue": "High"}, "1": map[string]any{"stringValue": "Closed"}}})
	if p.Status != http.StatusOK || p.Body["subject"] != "merged" || p.Body["dataVersion"] != 2.0 {
		t.Fatalf("PATCH: %d %s", p.Status, p.Raw)
	}
	want := `{"1":{"stringValue":"Closed","type":1},"2":{"stringValue":"High","type":1}}`
	for name, a := range map[string]*restAnswer{"the PATCH's answer": p, "a GET after it": restJSON(t, h, http.MethodGet, "/api/v1/incident/"+id, token, nil)} {
		if fv, _ := json.Marshal(a.Body["fieldValueDetails"]); string(fv) != want {
			t.Errorf("%s: fieldValueDetails %s, want %s", name, fv, want)
		}
	}
}
