package ui_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/webhook"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// start is when the tests' clocks start.
var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// xssSummary is a summary that must reach the page as text.
const xssSummary = "<script>alert(1)</script>"

// world is a gateway with an incident of acme (whose summary is markup)
// and one of other-co, served by the whole gateway (so its journal records
// the requests the test sends).
type world struct {
	h     *gt.Harness
	clock *gt.Clock
	// url is where the pages are served.
	url string
	// acme and other are the incidents' ids, acmeNumber acme's INC-
	// number, acmePlate the license plate of its add; otherPlate is the
	// plate of other-co's request.
	acme, acmeNumber, acmePlate, other, otherPlate string
}

func newWorld(t *testing.T, cfg handlers.Config) *world {
	t.Helper()
	clock := gt.NewClock(start)
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed(), Clock: clock, Config: cfg})
	w := &world{h: h, clock: clock, url: h.URL}
	var added struct{ ID string }
	// Sent as a script written by hand would send it: the markup as it is,
	// not escaped as Go's encoder escapes it, so the journal keeps it so.
	body := strings.Replace(string(gt.Envelope(gt.Acme, "agile-process-teams:add-incident:v5", map[string]any{"aptBusinessObjectSummary": "XSS"})),
		"XSS", xssSummary, 1)
	r := h.Post(t, []byte(body), gt.Basic(gt.Acme), nil).MustOK(t)
	r.Decode(t, &added)
	w.acme, w.acmePlate = added.ID, r.Header.LicensePlate
	clock.Advance(time.Minute)
	w.send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": w.acme, "newBaseState": "UnderInvestigation"})
	var rec struct {
		Data struct {
			Number string `json:"aptBusinessObjectId"`
		} `json:"data"`
	}
	w.send(t, gt.Acme, "agile-process-teams:read-incident:v4", map[string]any{"id": w.acme}).Decode(t, &rec)
	w.acmeNumber = rec.Data.Number
	r = w.send(t, gt.Other, "agile-process-teams:add-incident:v5", map[string]any{"aptBusinessObjectSummary": "Other company's secret incident"})
	r.Decode(t, &added)
	w.other, w.otherPlate = added.ID, r.Header.LicensePlate
	return w
}

// send sends an event that must succeed.
func (w *world) send(t *testing.T, c gt.Client, event string, payload map[string]any) *gt.Response {
	t.Helper()
	return w.h.Send(t, c, event, payload).MustOK(t)
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

// hookWorld is the configuration of a world whose webhook subscriptions
// may deliver to a receiver of the test's, over http on loopback; the
// channel is told of every batch of deliveries recorded.
func hookWorld() (handlers.Config, <-chan struct{}) {
	recorded := make(chan struct{}, 1)
	return handlers.Config{Webhooks: webhook.Config{Client: webhook.NewClient(5*time.Second, true, true),
		Recorded: func(store.DeliveryBatch) {
			select {
			case recorded <- struct{}{}:
			default:
			}
		}}}, recorded
}
