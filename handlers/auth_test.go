package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

const generateCredentials = "authorization-manager:generate-apiKeyCredentials:v1"

// Bob is a second API client of acme, Tom a second REST user of acme.
var (
	Bob = gt.Client{APIKey: "acme-bob-key", APISecret: "acme-bob-secret-0123456789", CompanyID: "acme", NetworkID: "net-1", UserID: "bob"}
	Tom = gt.RESTUser{Username: "tom@acme.example", Password: "tom-password-1", ClientID: gt.Tim.ClientID, ClientSecret: gt.Tim.ClientSecret, CompanyID: "acme"}
)

// twoPerCompanySeed is the REST seed with Bob and Tom.
func twoPerCompanySeed() *store.Seed {
	seed := gt.RESTSeed()
	seed.Clients = append(seed.Clients, store.SeedClient{APIKey: Bob.APIKey, APISecret: Bob.APISecret, CompanyID: Bob.CompanyID, UserID: Bob.UserID})
	seed.Users = append(seed.Users, store.SeedUser{Username: Tom.Username, Password: Tom.Password, CompanyID: Tom.CompanyID, Name: "Tom"})
	return seed
}

// mintEnvelope is a generate-apiKeyCredentials request.
func mintEnvelope() []byte {
	b, _ := json.Marshal(map[string]any{
		"header": map[string]any{"headerVersion": 1, "eventName": generateCredentials,
			"ownerId": "00000000-0000-0000-0000-000000000000", "appName": "authorization-manager", "dataspace": "default"},
		"payload": map[string]any{},
	})
	return b
}

type minted struct {
	APIKey    string `json:"apiKey"`
	APISecret string `json:"apiSecret"`
}

func mint(t *testing.T, h *gt.Harness, c gt.Client, headers map[string]string) (*gt.Response, gt.Client) {
	t.Helper()
	r := h.Post(t, mintEnvelope(), gt.Basic(c), headers)
	var m minted
	if r.Status == http.StatusOK {
		r.Decode(t, &m)
	}
	return r, gt.Client{APIKey: m.APIKey, APISecret: m.APISecret, CompanyID: c.CompanyID, NetworkID: c.NetworkID}
}

// fromAddress is an HTTP client whose connections come from the loopback
// address ip, so that a test can be several client addresses at once.
func fromAddress(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}

// postFrom sends an envelope through cl and decodes the answer as gt.Post does.
func postFrom(t *testing.T, h *gt.Harness, cl *http.Client, body []byte, authorization string) *gt.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := &gt.Response{Status: resp.StatusCode, HTTP: resp.Header, Body: raw}
	var env struct {
		Header  json.RawMessage `json:"header"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("not an envelope: %d %s", resp.StatusCode, raw)
	}
	_ = json.Unmarshal(env.Header, &out.Header)
	out.Payload = env.Payload
	return out
}

// restFrom sends a REST request through cl.
func restFrom(t *testing.T, cl *http.Client, req *http.Request) *restAnswer {
	t.Helper()
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := &restAnswer{Status: resp.StatusCode, HTTP: resp.Header, Raw: string(raw)}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %d %s", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	return a
}

func tokenFrom(t *testing.T, h *gt.Harness, cl *http.Client, clientID, secret string, form url.Values) *restAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(clientID, secret)
	}
	return restFrom(t, cl, req)
}

// filesContain reports whether any file under dir holds s.
func filesContain(t *testing.T, dir, s string) string {
	t.Helper()
	found := ""
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = path
		}
		return nil
	})
	return found
}

// Two callers of one company who pick the same Idempotency-Key each get
// their own request carried out; the recorded answer holds no secret in
// clear, and the caller's own retry gets the same secret back.
func TestIdempotencyKeysBelongToTheCaller(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Seed: twoPerCompanySeed()})
	key := withKey("shared-key")
	ra, alice := mint(t, h, gt.Acme, key)
	ra.MustOK(t)
	rb, bob := mint(t, h, Bob, key)
	rb.MustOK(t)
	if rb.HTTP.Get("Idempotent-Replayed") != "" || bob.APIKey == alice.APIKey || bob.APISecret == alice.APISecret {
		t.Fatalf("Bob's request with Alice's key got Alice's answer: %s", rb.Body)
	}
	again, aliceAgain := mint(t, h, gt.Acme, key)
	again.MustOK(t)
	if again.HTTP.Get("Idempotent-Replayed") != "true" || aliceAgain != alice {
		t.Fatalf("Alice's retry: replayed %q, %+v, first was %+v", again.HTTP.Get("Idempotent-Replayed"), aliceAgain, alice)
	}

	// The record holds the answer sealed: neither the record nor any file
	// of the store holds a minted secret in clear.
	rec, err := h.Store.FindIdempotencyKey(context.Background(), store.IdempotencyKeyID("acme", gt.Acme.APIKey, gt.Acme.UserID, "shared-key"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(rec.Body, []byte(alice.APISecret)) || bytes.Contains(rec.Body, []byte("apiSecret")) {
		t.Fatalf("the idempotency record holds the answer in clear: %s", rec.Body)
	}
	// The embedded store keeps binary fields in base64.
	for _, clear := range []string{alice.APISecret, bob.APISecret,
		base64.StdEncoding.EncodeToString(ra.Body), base64.StdEncoding.EncodeToString(rb.Body)} {
		if f := filesContain(t, h.DataDir, clear); f != "" {
			t.Fatalf("the store file %s holds a minted apiSecret in clear", f)
		}
	}

	// The same holds on the REST API, per OAuth client and user.
	tim, _ := login(t, h, gt.Tim)
	tom, _ := login(t, h, Tom)
	a1 := restWithKey(t, h, http.MethodPost, "/api/v1/incident", tim, "rest-key", map[string]any{"subject": "same", "requesterEmail": gt.Tim.Username})
	a2 := restWithKey(t, h, http.MethodPost, "/api/v1/incident", tom, "rest-key", map[string]any{"subject": "same", "requesterEmail": gt.Tim.Username})
	if a1.Status != 200 || a2.Status != 200 || a2.HTTP.Get("Idempotent-Replayed") != "" || a1.Body["id"] == a2.Body["id"] {
		t.Fatalf("Tom's request with Tim's key: %d %s, Tim's was %d %s", a2.Status, a2.Raw, a1.Status, a1.Raw)
	}
}

// Idempotency-Key values that are not UTF-8 are refused on both APIs, not
// folded together.
func TestInvalidUTF8IdempotencyKeysAreRefused(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed()})
	for _, k := range []string{"\xff\xfe", "\x80\x81"} {
		body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "utf8 " + strconv.Quote(k)})
		h.Post(t, body, gt.Basic(gt.Acme), withKey(k)).MustFail(t, 400, "HeaderValidationException")
	}
	token, _ := login(t, h, gt.Tim)
	for _, k := range []string{"\xff\xfe", "\x80\x81"} {
		a := restWithKey(t, h, http.MethodPost, "/api/v1/incident", token, k, map[string]any{"subject": "utf8", "requesterEmail": gt.Tim.Username})
		wantOAuthError(t, a, 400, "invalid_request")
	}
	if n := countIncidents(t, h); n != 0 {
		t.Fatalf("%d incidents written with invalid keys", n)
	}
}

// A company mints keys at a limited rate and up to a cap of active keys.
func TestMintingIsLimitedPerCompany(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Clock: clock, Config: handlers.Config{MintRate: 1.0 / 60, MintBurst: 2, MaxKeysPerCompany: 4}})
	for range 2 {
		r, _ := mint(t, h, gt.Acme, nil)
		r.MustOK(t)
	}
	r, _ := mint(t, h, gt.Acme, nil)
	r.MustFail(t, 429, "RateLimitExceededException")
	if s, err := strconv.Atoi(r.HTTP.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", r.HTTP.Get("Retry-After"))
	}
	// Another company has its own budget.
	r, _ = mint(t, h, gt.Other, nil)
	r.MustOK(t)
	clock.Advance(time.Minute)
	r, _ = mint(t, h, gt.Acme, nil)
	r.MustOK(t)
	// acme-key and three minted: the cap, whatever the rate allows.
	clock.Advance(time.Hour)
	r, _ = mint(t, h, gt.Acme, nil)
	r.MustFail(t, 403, "AuthorizationException")
	if !strings.Contains(string(r.Body), "revoke") {
		t.Fatalf("the refusal does not say what to do: %s", r.Body)
	}
}

// The company's rate limit spans all its keys: minted keys do not
// multiply its budget.
func TestRateLimitPerCompany(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Clock: clock, Config: handlers.Config{RateLimit: 100, RateBurst: 100, CompanyRateLimit: 1, CompanyRateBurst: 3}})
	read := map[string]any{"id": "01a2080c-0000-7000-8000-000000000000"}
	r, second := mint(t, h, gt.Acme, nil) // the first of acme's three
	r.MustOK(t)
	h.Send(t, gt.Acme, readIncident, read).MustFail(t, 404, "ObjectNotFoundException")
	h.Send(t, second, readIncident, read).MustFail(t, 404, "ObjectNotFoundException")
	h.Send(t, second, readIncident, read).MustFail(t, 429, "RateLimitExceededException")
	h.Send(t, gt.Acme, readIncident, read).MustFail(t, 429, "RateLimitExceededException")
	h.Send(t, gt.Other, readIncident, read).MustFail(t, 404, "ObjectNotFoundException")
	clock.Advance(time.Second)
	h.Send(t, gt.Acme, readIncident, read).MustFail(t, 404, "ObjectNotFoundException")
}

// A key revoked in the store (as the CLI does) cannot mint at once, before
// the directory hears of it, and revoking a key revokes what it minted.
func TestRevokedKeysMintNothingAndTakeTheirMintsAlong(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	ctx := context.Background()
	r, child := mint(t, h, gt.Acme, nil)
	r.MustOK(t)
	r, grandchild := mint(t, h, child, nil)
	r.MustOK(t)
	if err := h.Store.RevokeClient(ctx, child.APIKey); err != nil {
		t.Fatal(err)
	}
	r, _ = mint(t, h, child, nil)
	r.MustFail(t, 401, "AuthenticationException")
	c, err := h.Store.FindClient(ctx, grandchild.APIKey)
	if err != nil || c.Active() {
		t.Fatalf("the key minted by a revoked key is still active: %+v %v", c, err)
	}
	r, _ = mint(t, h, grandchild, nil)
	r.MustFail(t, 401, "AuthenticationException")
	addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "the minter's own key still works"})
}

// The directory learns of a revocation in the store at its next poll (at
// most a second), without waiting for the full reload.
func TestDirectoryPollSeesRevocations(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Seed: twoPerCompanySeed(), Config: handlers.Config{DirectoryRefresh: time.Hour}})
	addOne(t, h, Bob, map[string]any{"aptBusinessObjectSummary": "before"})
	if err := h.Store.RevokeClient(context.Background(), Bob.APIKey); err != nil {
		t.Fatal(err)
	}
	if err := handlers.PollDirectory(h.Gateway); err != nil {
		t.Fatal(err)
	}
	h.Send(t, Bob, addIncident, map[string]any{"aptBusinessObjectSummary": "after"}).MustFail(t, 401, "AuthenticationException")
}

// The token endpoint is rate-limited per OAuth client and per address.
func TestTokenEndpointIsRateLimited(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed(), Clock: clock, Config: handlers.Config{TokenRateLimit: 1, TokenRateBurst: 2}})
	one, two, three := fromAddress(t, "127.0.0.1"), fromAddress(t, "127.0.0.2"), fromAddress(t, "127.0.0.3")
	tim, sara := gt.Tim, gt.Sara
	for range 2 {
		if a := tokenFrom(t, h, one, tim.ClientID, tim.ClientSecret, passwordGrant(tim)); a.Status != 200 {
			t.Fatalf("grant within the limit: %d %s", a.Status, a.Raw)
		}
	}
	for _, a := range []*restAnswer{
		tokenFrom(t, h, two, tim.ClientID, tim.ClientSecret, passwordGrant(tim)),    // the client's budget is spent
		tokenFrom(t, h, one, sara.ClientID, sara.ClientSecret, passwordGrant(sara)), // the address's budget is spent
	} {
		wantOAuthError(t, a, 429, "slow_down")
		if a.HTTP.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if a := tokenFrom(t, h, three, sara.ClientID, sara.ClientSecret, passwordGrant(sara)); a.Status != 200 {
		t.Fatalf("another client from another address: %d %s", a.Status, a.Raw)
	}
	clock.Advance(time.Second)
	if a := tokenFrom(t, h, one, tim.ClientID, tim.ClientSecret, passwordGrant(tim)); a.Status != 200 {
		t.Fatalf("after the refill: %d %s", a.Status, a.Raw)
	}
}

// Password checks run a bounded number at a time; a grant that finds every
// slot busy and the queue full is answered 503 with Retry-After at once.
func TestPasswordChecksAreBounded(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{PasswordChecks: 1, PasswordCheckQueue: -1})
	tim := gt.Tim
	release := handlers.HoldPasswordChecks(h.Gateway)
	a := tokenRequest(t, h, tim.ClientID, tim.ClientSecret, passwordGrant(tim))
	release()
	wantOAuthError(t, a, 503, "temporarily_unavailable")
	if a.HTTP.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	login(t, h, tim)
}

// The right password through another company's client is answered as a
// wrong password is: the token endpoint confirms no password across
// companies.
func TestPasswordGrantConfirmsNothingAcrossCompanies(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	tim, sara := gt.Tim, gt.Sara
	right := tokenRequest(t, h, tim.ClientID, tim.ClientSecret, passwordGrant(sara))
	wrong := tokenRequest(t, h, tim.ClientID, tim.ClientSecret, url.Values{"grant_type": {"password"}, "username": {sara.Username}, "password": {"not-her-password"}})
	if right.Status != wrong.Status || right.Raw != wrong.Raw {
		t.Fatalf("right password through another company's client: %d %s; wrong password: %d %s", right.Status, right.Raw, wrong.Status, wrong.Raw)
	}
	wantOAuthError(t, right, 400, "invalid_grant")
}

// Tokens issued before a user was disabled stay dead when the user is
// enabled again; new sign-ins work.
func TestReenablingAUserDoesNotReviveOldTokens(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	ctx := context.Background()
	tim := gt.Tim
	access, refresh := login(t, h, tim)
	if err := h.Store.SetUserDisabled(ctx, tim.Username, true); err != nil {
		t.Fatal(err)
	}
	wantOAuthError(t, restJSON(t, h, http.MethodGet, "/api/v1/incident/x", access, nil), 401, "invalid_token")
	if err := h.Store.SetUserDisabled(ctx, tim.Username, false); err != nil {
		t.Fatal(err)
	}
	wantOAuthError(t, restJSON(t, h, http.MethodGet, "/api/v1/incident/x", access, nil), 401, "invalid_token")
	wantOAuthError(t, tokenRequest(t, h, tim.ClientID, tim.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}), 400, "invalid_grant")
	fresh, _ := login(t, h, tim)
	if a := restJSON(t, h, http.MethodGet, "/api/v1/incident/x", fresh, nil); a.Status != http.StatusNotFound {
		t.Fatalf("a token issued after re-enabling: %d %s", a.Status, a.Raw)
	}
}
