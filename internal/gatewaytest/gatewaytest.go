// Package gatewaytest starts a real scwm-gateway for tests: the embedded
// store in a temporary directory and the real HTTP stack on a random loopback
// port, seeded with companies, networks and API clients. It sends envelopes
// the way a client does, decodes the envelope the client sees, and lists
// the incidents the store holds (StoredIncidents).
package gatewaytest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/httpapi"
	"github.com/scwm-gateway/scwm-gateway/internal/metrics"
	"github.com/scwm-gateway/scwm-gateway/internal/mongotest"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/mongodb"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

// Client is a seeded API client and where it acts.
type Client struct {
	APIKey    string
	APISecret string
	CompanyID string
	NetworkID string
	UserID    string
}

// The seeded world: acme and its supplier share net-1; other-co is alone in
// net-2.
var (
	Acme     = Client{APIKey: "acme-key", APISecret: "acme-secret-0123456789", CompanyID: "acme", NetworkID: "net-1", UserID: "alice"}
	Supplier = Client{APIKey: "supplier-key", APISecret: "supplier-secret-0123456789", CompanyID: "supplier-1", NetworkID: "net-1", UserID: "sam"}
	Other    = Client{APIKey: "other-key", APISecret: "other-secret-0123456789", CompanyID: "other-co", NetworkID: "net-2", UserID: "olga"}
)

// DefaultSeed is the seed every harness starts with.
func DefaultSeed() *store.Seed {
	seed := &store.Seed{
		Companies: []store.Company{{ID: "acme", Name: "Acme Pharma"}, {ID: "supplier-1", Name: "Supplier One"}, {ID: "other-co", Name: "Other Co"}},
		Networks:  []store.Network{{ID: "net-1", Members: []string{"acme", "supplier-1"}}, {ID: "net-2", Members: []string{"other-co"}}},
	}
	for _, c := range []Client{Acme, Supplier, Other} {
		seed.Clients = append(seed.Clients, store.SeedClient{APIKey: c.APIKey, APISecret: c.APISecret, CompanyID: c.CompanyID, UserID: c.UserID})
	}
	return seed
}

// RESTUser is a seeded user of the REST surface and the OAuth client of its
// company.
type RESTUser struct {
	Username, Password     string
	ClientID, ClientSecret string
	CompanyID              string
}

// The seeded REST users (RESTSeed): one per company.
var (
	Tim  = RESTUser{Username: "tim@acme.example", Password: "tim-password-1", ClientID: "acme-app", ClientSecret: "acme-app-secret-0123", CompanyID: "acme"}
	Sara = RESTUser{Username: "sara@supplier.example", Password: "sara-password-1", ClientID: "supplier-app", ClientSecret: "supplier-app-secret-0123", CompanyID: "supplier-1"}
	Oleg = RESTUser{Username: "oleg@other.example", Password: "oleg-password-1", ClientID: "other-app", ClientSecret: "other-app-secret-0123", CompanyID: "other-co"}
)

// RESTSeed is DefaultSeed with the REST users and OAuth clients. It is not
// the default because hashing passwords (bcrypt) costs every start.
func RESTSeed() *store.Seed {
	seed := DefaultSeed()
	for _, u := range []RESTUser{Tim, Sara, Oleg} {
		seed.Users = append(seed.Users, store.SeedUser{Username: u.Username, Password: u.Password, CompanyID: u.CompanyID, Name: u.Username})
		seed.OAuthClients = append(seed.OAuthClients, store.SeedOAuthClient{ClientID: u.ClientID, ClientSecret: u.ClientSecret, CompanyID: u.CompanyID})
	}
	return seed
}

// Options change how a harness starts.
type Options struct {
	// Config overrides the gateway configuration; Logger defaults to a
	// discarding one.
	Config handlers.Config
	// DataDir reuses a data directory (to test restarts); empty makes one.
	DataDir string
	// Logs, when set, receives the gateway's JSON log lines.
	Logs io.Writer
	// ViaURI runs the gateway on the MongoDB store, connected through a
	// MongoDB URI to a MongoDB-wire server of its own (or to MONGODB_URI),
	// as a deployment with MONGODB_URI does, instead of the embedded store.
	ViaURI bool
	// Seed replaces DefaultSeed.
	Seed *store.Seed
	// Clock, when set, is the gateway's clock (rate limits, throttles,
	// token expiry, idempotency leases), so a test moves time instead of
	// sleeping; nil uses the real time.
	Clock *Clock
	// StoreTimeout bounds each store operation (store.Config's
	// OperationTimeout); zero keeps the store's default.
	StoreTimeout time.Duration
	// StoreMinFreeBytes is the free disk space the store needs to be ready
	// (store.Config's MinFreeBytes); zero keeps the default.
	StoreMinFreeBytes uint64
	// PasswordCost is the bcrypt cost of seeded passwords and of the
	// gateway's checks; zero means bcrypt's minimum, so that tests check
	// passwords, not bcrypt's work factor.
	PasswordCost int
	// WrapStore, when set, stands between the gateway and the real store,
	// for faults the real store cannot be made to show (say so in the test).
	WrapStore func(handlers.Store) handlers.Store
}

// Harness is a running gateway.
type Harness struct {
	URL     string
	Store   storetest.Store
	Gateway *handlers.Gateway
	DataDir string
	server  *httptest.Server
	cancel  context.CancelFunc
}

// Start starts a gateway and stops it when the test ends.
func Start(t testing.TB, opts Options) *Harness {
	t.Helper()
	ctx := context.Background()
	dir := opts.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	if opts.PasswordCost == 0 {
		opts.PasswordCost = credentials.MinPasswordCost
	}
	// The gateway's metrics, made here so that the embedded store's group
	// commit reports to them as a deployment's does.
	cfg := opts.Config
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New("test")
	}
	var st storetest.Store
	if opts.ViaURI {
		st = openMongo(t, opts)
	} else {
		var err error
		st, err = sqlite.Open(ctx, sqlite.Config{DataDir: dir, PasswordCost: opts.PasswordCost,
			OperationTimeout: opts.StoreTimeout, MinFreeBytes: opts.StoreMinFreeBytes, Now: clockOf(opts),
			ObserveBatch: cfg.Metrics.GroupCommit})
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
	}
	seed := opts.Seed
	if seed == nil {
		seed = DefaultSeed()
	}
	if err := store.ApplySeed(ctx, st, credentials.Passwords{Cost: opts.PasswordCost}, seed); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = opts.PasswordCost
	}
	if opts.Clock != nil {
		cfg.Now = opts.Clock.Now
	}
	if opts.Logs == nil && os.Getenv("SCWM_TEST_LOGS") != "" {
		opts.Logs = os.Stderr // set SCWM_TEST_LOGS=1 to see the gateway's log while debugging a test
	}
	if opts.Logs != nil {
		cfg.Logger = zerolog.New(opts.Logs)
	}
	var hs handlers.Store = st
	if opts.WrapStore != nil {
		hs = opts.WrapStore(st)
	}
	gw, err := handlers.New(ctx, cfg, hs)
	if err != nil {
		t.Fatalf("build gateway: %v", err)
	}
	api, err := httpapi.New(gw)
	if err != nil {
		t.Fatalf("build HTTP surfaces: %v", err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		gw.Run(runCtx)
	}()
	srv := httptest.NewServer(api)
	h := &Harness{URL: srv.URL, Store: st, Gateway: gw, DataDir: dir, server: srv, cancel: func() { stopRun(); <-runDone }}
	t.Cleanup(h.Stop)
	return h
}

// FreeLoopbackAddr returns a loopback address with a port that was free a
// moment ago, for a server a test starts as a process of its own.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// clockOf is the store's clock: the harness's Clock, or the real time.
func clockOf(opts Options) func() time.Time {
	if opts.Clock != nil {
		return opts.Clock.Now
	}
	return nil
}

// openMongo opens the MongoDB store for a harness with ViaURI, on a
// database of the test's own (mongotest: the test binary's MongoDB-wire
// server, or MONGODB_URI). Test binaries that use it run mongotest.Main
// from their TestMain.
func openMongo(t testing.TB, opts Options) storetest.Store {
	t.Helper()
	db := mongotest.Start(t)
	st, err := mongodb.Open(context.Background(), mongodb.Config{URI: db.URI, Database: db.Name,
		OperationTimeout: opts.StoreTimeout, PasswordCost: opts.PasswordCost})
	if err != nil {
		t.Fatalf("open the MongoDB store: %v", err)
	}
	return st
}

// Stop shuts the server and the store down; it is safe to call twice.
func (h *Harness) Stop() {
	if h.server == nil {
		return
	}
	h.server.Close()
	h.cancel()
	_ = h.Store.Close(context.Background())
	h.server = nil
}

// Header builds a valid request header for c and eventName.
func Header(c Client, eventName string) map[string]any {
	return map[string]any{
		"headerVersion":    1,
		"eventName":        eventName,
		"ownerId":          c.CompanyID,
		"processNetworkId": c.NetworkID,
		"appName":          "agile-process-teams",
		"dataspace":        "default",
	}
}

// Envelope builds a request body for c.
func Envelope(c Client, eventName string, payload any) []byte {
	b, err := json.Marshal(map[string]any{"header": Header(c, eventName), "payload": payload})
	if err != nil {
		panic(err)
	}
	return b
}

// Response is what a client sees: the HTTP response and the decoded
// envelope.
type Response struct {
	Status  int
	HTTP    http.Header
	Body    []byte
	Header  envelope.ResponseHeader
	Payload json.RawMessage
}

// Decode unmarshals the payload into v, failing the test if it cannot.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Payload, v); err != nil {
		t.Fatalf("decode payload %s: %v", r.Payload, err)
	}
}

// Send posts an event as client c and returns what comes back.
func (h *Harness) Send(t testing.TB, c Client, eventName string, payload any) *Response {
	t.Helper()
	return h.Post(t, Envelope(c, eventName, payload), Basic(c), nil)
}

// Basic is the HTTP Basic Authorization value of a client.
func Basic(c Client) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.APIKey+":"+c.APISecret))
}

// Post sends body to /api/events with the given Authorization (none if
// empty) and extra headers; Content-Type defaults to application/json.
func (h *Harness) Post(t testing.TB, body []byte, authorization string, headers map[string]string) *Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+"/api/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return h.Do(t, req)
}

// Do sends any request and decodes the answer as an envelope.
func (h *Harness) Do(t testing.TB, req *http.Request) *Response {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	out := &Response{Status: resp.StatusCode, HTTP: resp.Header, Body: body}
	var env struct {
		Header  envelope.ResponseHeader `json:"header"`
		Payload json.RawMessage         `json:"payload"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("%s %s answered %d with a body that is not an envelope: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	out.Header, out.Payload = env.Header, env.Payload
	return out
}

// MustOK fails the test unless the response is a 200_OK envelope.
func (r *Response) MustOK(t testing.TB) *Response {
	t.Helper()
	if r.Status != http.StatusOK || r.Header.IsErr || r.Header.ErrCode != envelope.OKCode {
		t.Fatalf("want 200_OK, got %d: %s", r.Status, r.Body)
	}
	return r
}

// MustFail fails the test unless the response is an error envelope with
// this status and exceptionName, and returns it for further checks.
func (r *Response) MustFail(t testing.TB, status int, exception string) *Response {
	t.Helper()
	if r.Status != status || !r.Header.IsErr || r.Header.ExceptionName != exception ||
		r.Header.ErrCode != strconv.Itoa(status) || string(r.Payload) != "null" {
		t.Fatalf("want %d %s error envelope, got %d: %s", status, exception, r.Status, r.Body)
	}
	if r.Header.LicensePlate == "" || r.HTTP.Get("X-License-Plate") != r.Header.LicensePlate {
		t.Fatalf("license plate missing or not in X-License-Plate: %s / %q", r.Body, r.HTTP.Get("X-License-Plate"))
	}
	return r
}

// Clock is a clock a test moves by hand: it stands still until Advance.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until moved.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time; pass it as handlers.Config.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
