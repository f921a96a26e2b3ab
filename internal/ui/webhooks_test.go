package ui_test

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

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// receiverAnswer is what the tests' webhook receivers answer: markup,
// which the delivery log keeps the start of and the page must show as
// text.
const receiverAnswer = "<b>taken</b><script>alert(2)</script>"

// newReceiver is a webhook endpoint on loopback that takes every delivery.
func newReceiver(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, receiverAnswer)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// delivery is a delivery as the REST API's log answers it.
type delivery struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	AttemptCount int    `json:"attemptCount"`
}

// rest sends a REST request of the webhook routes as c and decodes the
// answer into out.
func (w *world) rest(t *testing.T, c gt.Client, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, w.url+path, rd)
	req.Header.Set("Authorization", gt.Basic(c))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

// subscribe subscribes c to endpoint over REST and returns the
// subscription's id.
func (w *world) subscribe(t *testing.T, c gt.Client, endpoint string) string {
	t.Helper()
	var created struct{ ID string }
	if status := w.rest(t, c, http.MethodPost, "/api/v1/webhooks", map[string]any{"url": endpoint}, &created); status != http.StatusCreated {
		t.Fatalf("subscribing %s: %d", c.CompanyID, status)
	}
	return created.ID
}

// deliveries is a subscription's delivery log, over REST.
func (w *world) deliveries(t *testing.T, c gt.Client, hook string) []delivery {
	t.Helper()
	var page struct{ Deliveries []delivery }
	if status := w.rest(t, c, http.MethodGet, "/api/v1/webhooks/"+hook+"/deliveries", nil, &page); status != http.StatusOK {
		t.Fatalf("the delivery log of %s: %d", hook, status)
	}
	return page.Deliveries
}

// waitLog waits until a subscription's log satisfies done, looking again
// after each batch of deliveries recorded; the bound is against a hang,
// not a timing assumption.
func (w *world) waitLog(t *testing.T, recorded <-chan struct{}, c gt.Client, hook string, done func([]delivery) bool) []delivery {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if log := w.deliveries(t, c, hook); done(log) {
			return log
		}
		select {
		case <-recorded:
		case <-deadline:
			t.Fatalf("waiting on the delivery log of %s: %+v", hook, w.deliveries(t, c, hook))
		}
	}
}

// delivered is a done of waitLog: n deliveries, each delivered, the
// newest after attempts attempts.
func delivered(n, attempts int) func([]delivery) bool {
	return func(l []delivery) bool {
		if len(l) != n || l[0].AttemptCount != attempts {
			return false
		}
		for _, d := range l {
			if d.State != "delivered" {
				return false
			}
		}
		return true
	}
}

// hooked is a world in which acme and other-co each have a subscription
// with one delivery made.
type hooked struct {
	*world
	recorded <-chan struct{}
	// acmeHook and otherHook are the subscriptions, acmeDelivery and
	// otherDelivery their deliveries; acmeURL is acme's endpoint.
	acmeHook, acmeDelivery, otherHook, otherDelivery, acmeURL string
}

func newHooked(t *testing.T) *hooked {
	t.Helper()
	cfg, recorded := hookWorld()
	h := &hooked{world: newWorld(t, cfg), recorded: recorded}
	// The endpoint's query holds markup, which the page must show as text.
	h.acmeURL = newReceiver(t) + "/hook?tag=" + xssSummary
	h.acmeHook = h.subscribe(t, gt.Acme, h.acmeURL)
	h.otherHook = h.subscribe(t, gt.Other, newReceiver(t)+"/other-co-secret-endpoint")
	h.send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": h.acme, "aptBusinessObjectDescription": "hooked"})
	h.send(t, gt.Other, "agile-process-teams:edit-incident:v5", map[string]any{"id": h.other, "aptBusinessObjectDescription": "hooked"})
	h.acmeDelivery = h.waitLog(t, recorded, gt.Acme, h.acmeHook, delivered(1, 1))[0].ID
	h.otherDelivery = h.waitLog(t, recorded, gt.Other, h.otherHook, delivered(1, 1))[0].ID
	return h
}

func TestWebhooksPageShowsTheCompanysSubscriptionsAndDeliveries(t *testing.T) {
	t.Parallel()
	h := newHooked(t)
	b := newBrowser(t, h.url)
	b.signInKey(gt.Acme)
	for _, path := range []string{"/ui/webhooks", "/ui/webhooks/" + h.acmeHook} {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, p.status, p.body)
		}
		for _, want := range []string{h.acmeHook, `id="delivery-` + h.acmeDelivery + `"`, "agile-process-teams:edit-incident:v5", ">delivered<",
			"HTTP 200", `action="/ui/webhooks/` + h.acmeHook + `/deliveries/` + h.acmeDelivery + `/redeliver"`,
			// Markup of the endpoint and of the receiver's answer, as text.
			"tag=&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;taken&lt;/b&gt;&lt;script&gt;alert(2)&lt;/script&gt;"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("%s lacks %s:\n%s", path, want, p.body)
			}
		}
		if strings.Contains(p.body, "<script") || strings.Contains(p.body, "<b>") {
			t.Errorf("%s holds markup it was given:\n%s", path, p.body)
		}
		for _, leak := range []string{h.otherHook, h.otherDelivery, "other-co-secret-endpoint"} {
			if strings.Contains(p.body, leak) {
				t.Errorf("%s shows other-co's %s:\n%s", path, leak, p.body)
			}
		}
	}
	if p := b.get("/ui/webhooks"); !strings.Contains(p.body, `href="/ui/webhooks" id="nav-webhooks" class="here"`) {
		t.Errorf("the navigation does not lead to the webhooks page:\n%s", p.body)
	}

	// And other-co sees its own, so the test can fail.
	o := newBrowser(t, h.url)
	o.signInKey(gt.Other)
	if p := o.get("/ui/webhooks"); !strings.Contains(p.body, h.otherHook) || !strings.Contains(p.body, h.otherDelivery) || strings.Contains(p.body, h.acmeHook) {
		t.Errorf("other-co's webhooks page:\n%s", p.body)
	}
}

func TestAnotherCompanysWebhooksAreNotFound(t *testing.T) {
	t.Parallel()
	h := newHooked(t)
	b := newBrowser(t, h.url)
	b.signInKey(gt.Acme)
	token := csrfOf(t, b.get("/ui/webhooks").body)
	if p := b.get("/ui/webhooks/" + h.otherHook); p.status != http.StatusNotFound || strings.Contains(p.body, h.otherDelivery) ||
		strings.Contains(p.body, "other-co-secret-endpoint") {
		t.Errorf("other-co's subscription by its id: %d\n%s", p.status, p.body)
	}
	for _, path := range []string{
		"/ui/webhooks/" + h.otherHook + "/deliveries/" + h.otherDelivery + "/redeliver",
		// acme's subscription with other-co's delivery
		"/ui/webhooks/" + h.acmeHook + "/deliveries/" + h.otherDelivery + "/redeliver",
	} {
		if p := b.post(path, url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); p.status != http.StatusNotFound {
			t.Errorf("POST %s: %d\n%s", path, p.status, p.body)
		}
	}
	if log := h.deliveries(t, gt.Other, h.otherHook); len(log) != 1 || log[0].State != "delivered" || log[0].AttemptCount != 1 {
		t.Errorf("acme's refused redeliver touched other-co's delivery: %+v", log)
	}
}

func TestRedeliverNeedsTheSessionsTokenAndOrigin(t *testing.T) {
	t.Parallel()
	h := newHooked(t)
	b := newBrowser(t, h.url)
	b.signInKey(gt.Acme)
	token := csrfOf(t, b.get("/ui/webhooks").body)
	path := "/ui/webhooks/" + h.acmeHook + "/deliveries/" + h.acmeDelivery + "/redeliver"
	for _, refused := range []struct {
		what    string
		form    url.Values
		headers map[string]string
	}{
		{"without the token", url.Values{}, nil},
		{"with a wrong token", url.Values{"csrf": {token + "x"}}, nil},
		{"from another site", url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"from another origin", url.Values{"csrf": {token}}, map[string]string{"Origin": "http://evil.example"}},
	} {
		if p := b.post(path, refused.form, refused.headers); p.status != http.StatusForbidden {
			t.Errorf("redeliver %s: %d\n%s", refused.what, p.status, p.body)
		}
	}
	anon := newBrowser(t, h.url)
	if p := anon.post(path, url.Values{"csrf": {token}}, nil); p.status != http.StatusForbidden {
		t.Errorf("redeliver without a session: %d", p.status)
	}
	if log := h.deliveries(t, gt.Acme, h.acmeHook); log[0].State != "delivered" || log[0].AttemptCount != 1 {
		t.Fatalf("a refused redeliver redelivered: %+v", log)
	}

	p := b.post(path, url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	want := "/ui/webhooks/" + h.acmeHook + "?redelivered=" + h.acmeDelivery
	if p.status != http.StatusSeeOther || p.header.Get("Location") != want {
		t.Fatalf("redeliver with the token: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if p := b.get(want); p.status != http.StatusOK || !strings.Contains(p.body, `id="notice"`) || !strings.Contains(p.body, h.acmeDelivery) {
		t.Errorf("after the redeliver: %d\n%s", p.status, p.body)
	}
	// The delivery is sent again: a second attempt, delivered.
	h.waitLog(t, h.recorded, gt.Acme, h.acmeHook, delivered(1, 2))
}

func TestWebhooksPageWithoutSubscriptions(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{})
	b := newBrowser(t, w.url)
	b.signInKey(gt.Acme)
	if p := b.get("/ui/webhooks"); p.status != http.StatusOK || !strings.Contains(p.body, `id="none"`) {
		t.Errorf("the webhooks page of a company without subscriptions: %d\n%s", p.status, p.body)
	}
	if p := b.get("/ui/webhooks/wh_nothing"); p.status != http.StatusNotFound {
		t.Errorf("an unknown subscription: %d\n%s", p.status, p.body)
	}
}
