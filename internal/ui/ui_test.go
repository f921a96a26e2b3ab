package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/ui"
)

func TestPagesCarryTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{})
	b := newBrowser(t, w.url)
	for _, p := range []page{b.get("/ui/signin"), b.get("/ui/static/style.css"), b.get("/ui/nothing-here")} {
		h := p.header
		if got := h.Get("Content-Security-Policy"); got != "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" {
			t.Errorf("Content-Security-Policy %q", got)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", h)
		}
	}
	if p := b.get("/ui"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/signin" {
		t.Errorf("a page without a session answered %d to %q", p.status, p.header.Get("Location"))
	}
}

func TestTheGatewayServesThePages(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	b := newBrowser(t, h.URL)
	if p := b.get("/ui/signin"); p.status != http.StatusOK || !strings.Contains(p.body, `id="apikey-form"`) {
		t.Fatalf("GET /ui/signin on the gateway: %d\n%s", p.status, p.body)
	}
	if p := b.signInKey(gt.Acme); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in on the gateway: %d\n%s", p.status, p.body)
	}
	if p := b.get("/ui"); p.status != http.StatusOK || !strings.Contains(p.body, "API key acme-key of acme") {
		t.Fatalf("search on the gateway: %d\n%s", p.status, p.body)
	}
}

func TestSignInWithAnAPIKeyKeepsTheSecretOutOfCookieAndPage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{})
	b := newBrowser(t, w.url)
	p := b.signInKey(gt.Acme)
	if p.status != http.StatusSeeOther {
		t.Fatalf("sign-in answered %d\n%s", p.status, p.body)
	}
	cookies := p.header.Values("Set-Cookie")
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie %q", cookies)
	}
	c := cookies[0]
	for _, want := range []string{"scwm_ui_session=", "Path=/ui", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(c, want) {
			t.Errorf("cookie %q lacks %s", c, want)
		}
	}
	if strings.Contains(c, "Secure") {
		t.Errorf("cookie %q is Secure over plain HTTP, so the browser would drop it", c)
	}
	if strings.Contains(c, gt.Acme.APISecret) {
		t.Errorf("the cookie holds the secret: %q", c)
	}
	home := b.get("/ui")
	if home.status != http.StatusOK || !strings.Contains(home.body, "API key acme-key of acme") {
		t.Fatalf("after sign-in: %d\n%s", home.status, home.body)
	}
	if strings.Contains(home.body, gt.Acme.APISecret) {
		t.Error("the page shows the secret")
	}
}

func TestSignInAsAUser(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{})
	b := newBrowser(t, w.url)
	if p := b.post("/ui/signin", url.Values{"method": {"user"}, "username": {gt.Tim.Username}, "password": {"wrong"}}, nil); p.status != http.StatusUnauthorized ||
		!strings.Contains(p.body, "unknown username or wrong password") {
		t.Fatalf("a wrong password answered %d\n%s", p.status, p.body)
	}
	if p := b.post("/ui/signin", url.Values{"method": {"user"}, "username": {gt.Tim.Username}, "password": {gt.Tim.Password}}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in answered %d\n%s", p.status, p.body)
	}
	home := b.get("/ui?id=" + url.QueryEscape(w.acmeNumber))
	if !strings.Contains(home.body, gt.Tim.Username+" of acme") || !strings.Contains(home.body, w.acme) {
		t.Fatalf("a user of acme does not find acme's incident:\n%s", home.body)
	}
	if strings.Contains(home.body, gt.Tim.Password) {
		t.Error("the page shows the password")
	}
}

func TestEveryPageEscapesWhatItShows(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{})
	b := newBrowser(t, w.url)
	b.signInKey(gt.Acme)
	for _, path := range []string{"/ui", "/ui/objects/incident/" + w.acme, "/ui/requests?plate=" + url.QueryEscape(w.acmePlate),
		"/ui?q=" + url.QueryEscape(xssSummary)} {
		p := b.get(path)
		if strings.Contains(p.body, "<script") {
			t.Errorf("%s holds a script element:\n%s", path, p.body)
		}
		if path != "/ui?q="+url.QueryEscape(xssSummary) && !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the summary as text:\n%s", path, p.body)
		}
	}
}

func TestAnotherCompanysDataIsNeverShown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{})
	b := newBrowser(t, w.url)
	b.signInKey(gt.Acme)
	if p := b.get("/ui?q=secret"); !strings.Contains(p.body, `id="none"`) || strings.Contains(p.body, w.other) {
		t.Errorf("search shows other-co's incident:\n%s", p.body)
	}
	if p := b.get("/ui"); strings.Contains(p.body, w.other) || !strings.Contains(p.body, w.acme) {
		t.Errorf("the list is not acme's own:\n%s", p.body)
	}
	if p := b.get("/ui/objects/incident/" + w.other); p.status != http.StatusNotFound || strings.Contains(p.body, "secret incident") {
		t.Errorf("other-co's incident by its URL: %d\n%s", p.status, p.body)
	}
	if p := b.get("/ui/requests?plate=" + url.QueryEscape(w.otherPlate)); p.status != http.StatusNotFound || strings.Contains(p.body, "req-event") {
		t.Errorf("other-co's request by its plate: %d\n%s", p.status, p.body)
	}
	// And other-co sees its own, so the test can fail.
	o := newBrowser(t, w.url)
	o.signInKey(gt.Other)
	if p := o.get("/ui/objects/incident/" + w.other); p.status != http.StatusOK || !strings.Contains(p.body, "secret incident") {
		t.Errorf("other-co's own incident: %d\n%s", p.status, p.body)
	}
	if p := o.get("/ui/requests?plate=" + url.QueryEscape(w.otherPlate)); p.status != http.StatusOK || !strings.Contains(p.body, "add-incident") {
		t.Errorf("other-co's own request: %d\n%s", p.status, p.body)
	}
}

func TestStateChangesNeedTheSessionsTokenAndOrigin(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{})
	b := newBrowser(t, w.url)
	b.signInKey(gt.Acme)
	token := csrfOf(t, b.get("/ui").body)
	if p := b.post("/ui/signout", url.Values{}, nil); p.status != http.StatusForbidden {
		t.Errorf("sign-out without the token: %d", p.status)
	}
	if p := b.post("/ui/signout", url.Values{"csrf": {token + "x"}}, nil); p.status != http.StatusForbidden {
		t.Errorf("sign-out with a wrong token: %d", p.status)
	}
	if p := b.post("/ui/signout", url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); p.status != http.StatusForbidden {
		t.Errorf("sign-out from another site: %d", p.status)
	}
	if p := b.post("/ui/signout", url.Values{"csrf": {token}}, map[string]string{"Origin": "http://evil.example"}); p.status != http.StatusForbidden {
		t.Errorf("sign-out from another origin: %d", p.status)
	}
	if p := b.get("/ui"); p.status != http.StatusOK {
		t.Fatalf("the refused sign-outs ended the session: %d", p.status)
	}
	if p := b.post("/ui/signout", url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); p.status != http.StatusSeeOther {
		t.Errorf("sign-out with the token: %d\n%s", p.status, p.body)
	}
	if p := b.get("/ui"); p.status != http.StatusSeeOther {
		t.Errorf("after sign-out the page answered %d", p.status)
	}
}

func TestFailedSignInsAreThrottled(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{AuthFailureLimit: 3, AuthFailureWindow: time.Minute})
	b := newBrowser(t, w.url)
	wrong := gt.Acme
	wrong.APISecret = "not-the-secret"
	for i := range 3 {
		if p := b.signInKey(wrong); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, p.status)
		}
	}
	if p := b.signInKey(gt.Acme); p.status != http.StatusTooManyRequests {
		t.Fatalf("the right secret after the failures: %d\n%s", p.status, p.body)
	}
	w.clock.Advance(time.Minute + time.Second)
	if p := b.signInKey(gt.Acme); p.status != http.StatusSeeOther {
		t.Fatalf("after the window: %d\n%s", p.status, p.body)
	}
}

func TestSessionsExpireByTheGatewaysClock(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{})
	b := newBrowser(t, w.url)
	b.signInKey(gt.Acme)
	w.clock.Advance(ui.SessionIdle - time.Second)
	if p := b.get("/ui"); p.status != http.StatusOK {
		t.Fatalf("before the idle time: %d", p.status)
	}
	w.clock.Advance(ui.SessionIdle)
	if p := b.get("/ui"); p.status != http.StatusSeeOther {
		t.Fatalf("after the idle time: %d", p.status)
	}
}

func TestFormsAreBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handlers.Config{})
	b := newBrowser(t, w.url)
	big := url.Values{"method": {"apikey"}, "apiKey": {"acme-key"}, "apiSecret": {strings.Repeat("x", 64<<10)}}
	if p := b.post("/ui/signin", big, nil); p.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a large form: %d", p.status)
	}
	if p := b.get("/ui?q=" + strings.Repeat("x", 8<<10)); p.status != http.StatusRequestURITooLong {
		t.Fatalf("a long query: %d", p.status)
	}
}
