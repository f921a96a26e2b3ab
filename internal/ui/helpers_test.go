package ui_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/ui"
)

// start is when the tests' clocks start.
var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// xssSummary is a summary that must reach the page as text.
const xssSummary = "<script>alert(1)</script>"

// testJournal is a journal the test writes: each request the test sends
// through the harness is recorded as the gateway answered it.
type testJournal struct {
	mu      sync.Mutex
	entries []ui.Request
}

func (j *testJournal) Find(company, plate string) (ui.Request, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range j.entries {
		if e.CompanyID == company && e.LicensePlate == plate {
			return e, true
		}
	}
	return ui.Request{}, false
}

func (j *testJournal) List(company string, limit int) []ui.Request {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []ui.Request
	for i := len(j.entries) - 1; i >= 0 && len(out) < limit; i-- {
		if j.entries[i].CompanyID == company {
			out = append(out, j.entries[i])
		}
	}
	return out
}

// world is a gateway with an incident of acme (whose summary is markup)
// and one of other-co, and the pages over it with the test's journal.
type world struct {
	h       *gt.Harness
	clock   *gt.Clock
	journal *testJournal
	// url is where the pages are served.
	url string
	// acme and other are the incidents' ids, acmeNumber acme's INC-
	// number; otherPlate is the plate of other-co's request.
	acme, acmeNumber, other, otherPlate string
}

func newWorld(t *testing.T, cfg handlers.Config) *world {
	t.Helper()
	clock := gt.NewClock(start)
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed(), Clock: clock, Config: cfg})
	w := &world{h: h, clock: clock, journal: &testJournal{}}
	srv := httptest.NewServer(ui.New(h.Gateway, ui.Options{Journal: w.journal}))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	var added struct{ ID string }
	w.send(t, gt.Acme, "agile-process-teams:add-incident:v5", map[string]any{"aptBusinessObjectSummary": xssSummary}).Decode(t, &added)
	w.acme = added.ID
	clock.Advance(time.Minute)
	w.send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": w.acme, "newBaseState": "UnderInvestigation"})
	var rec struct {
		Data struct {
			Number string `json:"aptBusinessObjectId"`
		} `json:"data"`
	}
	w.send(t, gt.Acme, "agile-process-teams:read-incident:v4", map[string]any{"id": w.acme}).Decode(t, &rec)
	w.acmeNumber = rec.Data.Number
	r := w.send(t, gt.Other, "agile-process-teams:add-incident:v5", map[string]any{"aptBusinessObjectSummary": "Other company's secret incident"})
	r.Decode(t, &added)
	w.other, w.otherPlate = added.ID, r.Header.LicensePlate
	return w
}

// send sends an event that must succeed, and records it in the journal.
func (w *world) send(t *testing.T, c gt.Client, event string, payload map[string]any) *gt.Response {
	t.Helper()
	r := w.h.Send(t, c, event, payload).MustOK(t)
	w.journal.mu.Lock()
	w.journal.entries = append(w.journal.entries, ui.Request{LicensePlate: r.Header.LicensePlate, Time: w.clock.Now(), Surface: "events",
		Method: "POST", Path: "/api/events", Event: event, APIKey: c.APIKey, CompanyID: c.CompanyID, UserID: c.UserID, Status: r.Status,
		Request: []byte(`{"payload": {"aptBusinessObjectSummary": "` + xssSummary + `"}}`)})
	w.journal.mu.Unlock()
	return r
}

// browser is an HTTP client with its own cookies that does not follow
// redirects.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer: its status, headers and body.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

// post sends a form as a page of the gateway's own would.
func (b *browser) post(path string, form url.Values, headers map[string]string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

func (b *browser) signInKey(c gt.Client) page {
	b.t.Helper()
	return b.post("/ui/signin", url.Values{"method": {"apikey"}, "apiKey": {c.APIKey}, "apiSecret": {c.APISecret}}, nil)
}

// csrf is the session's token as the page shows it.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="csrf" value="`)
	if !ok {
		t.Fatalf("no csrf token on the page:\n%s", body)
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}
