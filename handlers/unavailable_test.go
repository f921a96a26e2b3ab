package handlers_test

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the embedded store's SQLite, opened beside it to hold its lock

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// mountSmallDisk mounts a tmpfs of size bytes for a data directory, so that
// the store meets a really full disk. It needs root; elsewhere the test is
// skipped.
func mountSmallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small disk here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fillDisk writes a file that takes all the free space left under dir and
// returns its path: removing it frees the space again.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break // ENOSPC: the disk is full
		}
	}
	return path
}

// A full disk is unavailability, not a bug: writes answer 503 with
// Retry-After and say the disk is full, /readyz says not ready and why,
// reads keep working, and once space is freed writes succeed again.
func TestFullDiskAnswers503AndNotReady(t *testing.T) {
	t.Parallel()
	dir := mountSmallDisk(t, "8m")
	h := gt.Start(t, gt.Options{DataDir: dir, StoreMinFreeBytes: 1 << 20})
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "before the disk filled"})
	if r := getReady(t, h); r.Status != http.StatusOK {
		t.Fatalf("readyz before the disk filled: %d", r.Status)
	}
	filler := fillDisk(t, dir)

	big := strings.Repeat("x", 60<<10)
	var full *gt.Response
	for i := 0; i < 50 && full == nil; i++ {
		r := h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "on a full disk",
			"aptBusinessObjectDescription": big, "notes1": big, "notes2": big, "notes3": big})
		if r.Status != http.StatusOK {
			full = r
		}
	}
	if full == nil {
		t.Fatal("50 large adds on a full disk all succeeded")
	}
	full.MustFail(t, http.StatusServiceUnavailable, "ServiceUnavailableException")
	if !strings.Contains(full.Header.ErrMsg, "disk is full") || full.HTTP.Get("Retry-After") == "" {
		t.Fatalf("a full disk answered %q with Retry-After %q", full.Header.ErrMsg, full.HTTP.Get("Retry-After"))
	}
	if r := getReady(t, h); r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "disk is full") {
		t.Fatalf("readyz on a full disk: %d %s", r.Status, r.Body)
	}
	readOne(t, h, gt.Acme, id) // reads still work

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "after space was freed"})
	if r := getReady(t, h); r.Status != http.StatusOK {
		t.Fatalf("readyz after space was freed: %d %s", r.Status, r.Body)
	}
}

func getReady(t *testing.T, h *gt.Harness) *gt.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.URL+"/readyz", nil)
	return h.Do(t, req)
}

// A database locked by another writer holds the request no longer than
// the store timeout: the answer is 503 with Retry-After saying the store
// did not answer in time (not a 500 once SQLite's own busy timeout gives
// up, nor a wait for the whole request timeout), and once the lock is
// gone writes succeed again.
func TestLockedDatabaseAnswers503WithinTheStoreTimeout(t *testing.T) {
	t.Parallel()
	// A store timeout that an unlocked write never reaches, even on a
	// loaded machine under the race detector, and far below the request
	// timeout, so that which of the two ended the wait is plain.
	h := gt.Start(t, gt.Options{StoreTimeout: 2 * time.Second, Config: handlers.Config{RequestTimeout: time.Minute}})
	addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "before the lock"})

	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.DataDir, sqlite.FileName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	r := h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "while locked"})
	r.MustFail(t, http.StatusServiceUnavailable, "ServiceUnavailableException")
	if !strings.Contains(r.Header.ErrMsg, "store") || strings.Contains(r.Header.ErrMsg, "request timeout") || r.HTTP.Get("Retry-After") == "" {
		t.Fatalf("a locked database answered %q, Retry-After %q", r.Header.ErrMsg, r.HTTP.Get("Retry-After"))
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// The store comes back by itself: retry until the first write passes
	// (each try is bounded by the store timeout, the loop by its count).
	for i := 0; ; i++ {
		r := h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "after the lock"})
		if r.Status == http.StatusOK {
			break
		}
		if r.Status != http.StatusServiceUnavailable || i == 100 {
			t.Fatalf("after the lock was released: %d %s", r.Status, r.Body)
		}
	}
}

// When the request timeout runs out during a slow step that is not the
// store (here a password check at a real bcrypt cost), the answer says
// which step, and does not blame the store.
func TestRequestTimeoutSaysWhatTimedOut(t *testing.T) {
	t.Parallel()
	// One user, hashed at a cost whose check takes several times the
	// request timeout even on a fast machine, while the steps before it
	// take a small part of it even on a loaded one.
	seed := gt.DefaultSeed()
	seed.Users = []store.SeedUser{{Username: gt.Tim.Username, Password: gt.Tim.Password, CompanyID: gt.Tim.CompanyID}}
	seed.OAuthClients = []store.SeedOAuthClient{{ClientID: gt.Tim.ClientID, ClientSecret: gt.Tim.ClientSecret, CompanyID: gt.Tim.CompanyID}}
	h := gt.Start(t, gt.Options{Seed: seed, PasswordCost: 14, Config: handlers.Config{RequestTimeout: 300 * time.Millisecond}})
	a := tokenRequest(t, h, gt.Tim.ClientID, gt.Tim.ClientSecret, passwordGrant(gt.Tim))
	wantOAuthError(t, a, http.StatusServiceUnavailable, "temporarily_unavailable")
	desc := a.Body["error_description"].(string)
	if !strings.Contains(desc, "request timeout") || !strings.Contains(desc, "checking the password") || strings.Contains(desc, "store") {
		t.Fatalf("the timeout of a password check was answered %q", desc)
	}
	if a.HTTP.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

// panickingStore panics in chosen calls: no real store can be made to
// panic, and a handler bug is what this stands in for.
type panickingStore struct {
	handlers.Store
	insertPanics  atomic.Int32 // this many InsertIncident calls panic
	oauthPanics   atomic.Bool
	blockFinish   chan struct{} // when set, FinishIdempotencyKey waits for it
	finishStarted chan struct{}
}

func (s *panickingStore) InsertIncident(ctx context.Context, inc *store.Incident) error {
	if s.insertPanics.Add(-1) >= 0 {
		panic("injected panic in InsertIncident")
	}
	return s.Store.InsertIncident(ctx, inc)
}

func (s *panickingStore) FindOAuthClient(ctx context.Context, id string) (*store.OAuthClient, error) {
	if s.oauthPanics.Load() {
		panic("injected panic in FindOAuthClient")
	}
	return s.Store.FindOAuthClient(ctx, id)
}

func (s *panickingStore) FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error {
	if s.blockFinish != nil {
		close(s.finishStarted)
		<-s.blockFinish
	}
	return s.Store.FinishIdempotencyKey(ctx, key, plate, status, body)
}

// A panic on the REST and OAuth routes is answered 500 in their JSON
// format and logged; the Idempotency-Key it held is released, so that the
// retry is carried out at once instead of waiting for a lease that nobody
// holds (the clock here never moves: a lease would never run out).
func TestPanicsAreAnsweredOnEveryRouteAndReleaseTheirKey(t *testing.T) {
	t.Parallel()
	var ps *panickingStore
	var logs logBuffer
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed(), Clock: gt.NewClock(time.Now()), Logs: &logs,
		Config:    handlers.Config{RequestTimeout: 5 * time.Second},
		WrapStore: func(s handlers.Store) handlers.Store { ps = &panickingStore{Store: s}; return ps }})
	token, _ := login(t, h, gt.Tim)

	ps.insertPanics.Store(1)
	body := map[string]any{"subject": "panics once", "requesterEmail": gt.Tim.Username}
	first := restWithKey(t, h, http.MethodPost, "/api/v1/incident", token, "panic-key", body)
	if first.Status != http.StatusInternalServerError || first.Body["error"] != "server_error" {
		t.Fatalf("a panic on POST /api/v1/incident: %d %s", first.Status, first.Raw)
	}
	again := restWithKey(t, h, http.MethodPost, "/api/v1/incident", token, "panic-key", body)
	if again.Status != http.StatusOK || again.Body["subject"] != "panics once" {
		t.Fatalf("the retry after a panic: %d %s", again.Status, again.Raw)
	}

	ps.oauthPanics.Store(true)
	a := tokenRequest(t, h, gt.Tim.ClientID, gt.Tim.ClientSecret, passwordGrant(gt.Tim))
	if a.Status != http.StatusInternalServerError || a.Body["error"] != "server_error" {
		t.Fatalf("a panic on the token endpoint: %d %s", a.Status, a.Raw)
	}
	ps.oauthPanics.Store(false)

	ps.insertPanics.Store(1)
	h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "panics"}).MustFail(t, 500, "InternalServerException")
	if n := strings.Count(logs.String(), `"message":"handler panicked"`); n != 3 {
		t.Fatalf("%d panics logged, want 3:\n%s", n, logs.String())
	}
}

// The answer of a request with an Idempotency-Key reaches the client
// before its record is written: here the record's write waits until the
// client has read the whole answer.
func TestAnswerIsFlushedBeforeTheIdempotencyRecord(t *testing.T) {
	t.Parallel()
	var ps *panickingStore
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed(),
		WrapStore: func(s handlers.Store) handlers.Store {
			ps = &panickingStore{Store: s, blockFinish: make(chan struct{}), finishStarted: make(chan struct{})}
			return ps
		}})
	answered := make(chan *gt.Response, 1)
	go func() {
		answered <- h.Post(t, gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "flushed"}),
			gt.Basic(gt.Acme), withKey("flush"))
	}()
	<-ps.finishStarted
	defer close(ps.blockFinish) // before the harness stops, also on failure
	select {
	case r := <-answered:
		r.MustOK(t)
	case <-time.After(20 * time.Second):
		t.Error("the client had no answer while the idempotency record was being written")
	}
}
