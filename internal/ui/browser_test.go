package ui_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// The browser tests drive a real Chrome (or Chromium) through the pages
// of a started gateway, as a person would: they type into the forms,
// click the buttons and links, and read what the browser shows. Every
// wait is on an element of the page (a query waits until its element is
// there); the only bound is browserGuard, against a hang.

// browserGuard bounds a whole browser test, so that a browser that hangs
// fails the test instead of the test binary's timeout. It is no measure
// of how long anything should take.
const browserGuard = 3 * time.Minute

// chromePath is the browser to drive: $CHROME, else the first of the
// usual names found. Without one the test is skipped, except on CI
// (CI=true), which must have installed it.
func chromePath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME"); p != "" {
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
		t.Fatalf("CHROME=%s is not a program that can be run", p)
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if found, err := exec.LookPath(name); err == nil {
			return found
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chrome or Chromium found (set CHROME); CI must install it")
	}
	t.Skip("no Chrome or Chromium found (set CHROME to run the browser tests)")
	return ""
}

// startBrowser starts one headless browser for the test and stops it when
// the test ends; tabs opens tabs in it with newTab.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromePath(t)
	guard, stopGuard := context.WithTimeout(context.Background(), browserGuard)
	t.Cleanup(stopGuard)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	}
	alloc, stopAlloc := chromedp.NewExecAllocator(guard, opts...)
	t.Cleanup(stopAlloc)
	browser, stopBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		_ = chromedp.Cancel(browser) // closes the browser and waits for it
		stopBrowser()
	})
	// The first run starts the browser.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return browser
}

// newTab opens a tab in a browser context of its own: its cookies, so
// its session, are its own.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, closeTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(closeTab)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tab
}

// screenshots is where the tests' screenshots go: $SCWM_SCREENSHOTS when
// set (to look at them), otherwise a directory of the test's.
func screenshots(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("SCWM_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// shoot saves a screenshot of the whole page as name.png in dir.
func shoot(t *testing.T, tab context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// do runs actions in the tab, failing the test on an error.
func do(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// load runs actions that lead to a new page (a click on a link, a form
// sent, an address typed) and waits until the page has loaded; it
// returns the answer of the page's document.
func load(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) *network.Response {
	t.Helper()
	resp, err := chromedp.RunResponse(tab, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return resp
}

// text is the text the browser shows of the element sel finds (waiting
// until it is there).
func text[S chromedp.Selectable](t *testing.T, tab context.Context, sel S) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %v: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// signInForm signs in through the sign-in page's API key form.
func signInForm(t *testing.T, tab context.Context, base string, c gt.Client) {
	t.Helper()
	load(t, tab, "opening the sign-in page", chromedp.Navigate(base+"/ui/signin"))
	do(t, tab, "filling the API key form",
		chromedp.WaitVisible(chromedp.ID("apiKey")),
		chromedp.SendKeys(chromedp.ID("apiKey"), c.APIKey),
		chromedp.SendKeys(chromedp.ID("apiSecret"), c.APISecret))
	load(t, tab, "sending the API key form", chromedp.Click(chromedp.ID("apikey-submit")))
	do(t, tab, "waiting for the signed-in page", chromedp.WaitVisible(chromedp.ID("who")))
	if got, want := text(t, tab, chromedp.ID("who")), "API key "+c.APIKey+" of "+c.CompanyID; got != want {
		t.Fatalf("signed in as %q, want %q", got, want)
	}
}

// header is a header of a response the browser got, by its name in any
// case.
func header(resp *network.Response, name string) string {
	for k, v := range resp.Headers {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	cfg, recorded := hookWorld()
	w := newWorld(t, cfg)
	dir := screenshots(t)

	t.Run("an incident leads through its history to its request", func(t *testing.T) {
		tab := newTab(t, browser)
		signInForm(t, tab, w.url, gt.Acme)
		shoot(t, tab, dir, "1-search")

		do(t, tab, "typing the number", chromedp.SendKeys(chromedp.ID("number"), w.acmeNumber))
		load(t, tab, "searching", chromedp.Click(chromedp.ID("search-submit")))
		loc, err := chromedp.Run(tab, chromedp.Location())
		if err != nil || !strings.Contains(loc, "id="+url.QueryEscape(w.acmeNumber)) {
			t.Fatalf("the search went to %q (%v)", loc, err)
		}
		rows := eval[int](t, tab, `document.querySelectorAll('#results tbody tr').length`)
		if got := text(t, tab, chromedp.CSS("#results a.object")); rows != 1 || got != w.acmeNumber {
			t.Fatalf("the search for %s shows %d rows, the first %q", w.acmeNumber, rows, got)
		}
		shoot(t, tab, dir, "2-found")

		load(t, tab, "opening the incident", chromedp.Click(chromedp.CSS("#results a.object")))
		if got := text(t, tab, chromedp.CSS("h1")); got != w.acmeNumber {
			t.Fatalf("the incident's page is titled %q, want %q", got, w.acmeNumber)
		}
		if got := text(t, tab, chromedp.ID("state")); got != "UnderInvestigation" {
			t.Errorf("the incident's state shows %q", got)
		}
		shoot(t, tab, dir, "3-incident")

		// The history's add-incident entry links the license plate of the
		// request that added the incident.
		addPlate := `//table[@id="history"]//tr[td[2][contains(., "add-incident")]]//a[@class="plate"]`
		if got := text(t, tab, addPlate); got != w.acmePlate {
			t.Fatalf("the history's add-incident links plate %q, want %q", got, w.acmePlate)
		}
		load(t, tab, "following the license plate", chromedp.Click(addPlate))
		do(t, tab, "waiting for the request", chromedp.WaitVisible(chromedp.ID("request")))
		if got := text(t, tab, chromedp.ID("req-plate")); got != w.acmePlate {
			t.Errorf("the request page shows plate %q, want %q", got, w.acmePlate)
		}
		if got := text(t, tab, chromedp.ID("req-event")); got != "agile-process-teams:add-incident:v5" {
			t.Errorf("the request page shows event %q", got)
		}
		if got := text(t, tab, chromedp.ID("req-status")); got != "200" {
			t.Errorf("the request page shows status %q", got)
		}
		if got := text(t, tab, chromedp.ID("req-body")); !strings.Contains(got, `"aptBusinessObjectSummary":"`+xssSummary+`"`) {
			t.Errorf("the request body shown lacks the summary as sent:\n%s", got)
		}
		shoot(t, tab, dir, "4-request")
	})

	t.Run("markup in data is shown as text and no script runs", func(t *testing.T) {
		tab := newTab(t, browser)
		var dialogs atomic.Int32
		if err := chromedp.Listen(tab, func(ev any) {
			if _, ok := ev.(*cdpage.EventJavascriptDialogOpening); ok {
				dialogs.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
		signInForm(t, tab, w.url, gt.Acme)
		pages := []struct{ path, sel string }{
			{"/ui/objects/incident/" + w.acme, "#summary"},
			{"/ui/objects/incident/" + w.acme, "#data"},
			{"/ui?id=" + url.QueryEscape(w.acmeNumber), "#results td.summary"},
			{"/ui/requests?plate=" + url.QueryEscape(w.acmePlate), "#req-body"},
		}
		for _, p := range pages {
			resp := load(t, tab, "opening "+p.path, chromedp.Navigate(w.url+p.path))
			if csp := header(resp, "Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
				t.Errorf("%s came with Content-Security-Policy %q", p.path, csp)
			}
			got := text(t, tab, chromedp.CSS(p.sel))
			if p.sel == "#summary" || p.sel == "#results td.summary" {
				if got != xssSummary {
					t.Errorf("%s shows %s as %q, want the literal %q", p.path, p.sel, got, xssSummary)
				}
			} else if !strings.Contains(got, xssSummary) {
				t.Errorf("%s shows %s without the literal %q:\n%s", p.path, p.sel, xssSummary, got)
			}
			if n := eval[int](t, tab, `document.querySelectorAll('script').length`); n != 0 {
				t.Errorf("%s has %d script elements", p.path, n)
			}
		}
		shoot(t, tab, dir, "5-markup-as-text")

		// The policy itself, as the browser applies it: a script put into
		// the page does not run.
		ran := eval[bool](t, tab, `(() => {
			const s = document.createElement('script');
			s.textContent = 'window.scwmInlineRan = true';
			document.body.appendChild(s);
			s.remove();
			return window.scwmInlineRan === true;
		})()`)
		if ran {
			t.Error("an inline script ran on the page: the Content-Security-Policy is not applied")
		}
		if n := dialogs.Load(); n != 0 {
			t.Errorf("%d dialogs opened", n)
		}
	})

	t.Run("a delivery is redelivered from the webhooks page", func(t *testing.T) {
		hook := w.subscribe(t, gt.Acme, newReceiver(t)+"/hook")
		w.send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": w.acme, "aptBusinessObjectDescription": "hooked"})
		id := w.waitLog(t, recorded, gt.Acme, hook, delivered(1, 1))[0].ID
		row := chromedp.ID("delivery-" + id)

		tab := newTab(t, browser)
		signInForm(t, tab, w.url, gt.Acme)
		load(t, tab, "following the navigation to the webhooks", chromedp.Click(chromedp.ID("nav-webhooks")))
		do(t, tab, "waiting for the delivery", chromedp.WaitVisible(row))
		if got := text(t, tab, chromedp.CSS("#hook-"+hook+" .hook-state")); got != "enabled" {
			t.Errorf("the subscription shows state %q", got)
		}
		cell := func(class string) string { return text(t, tab, chromedp.CSS("#delivery-"+id+" ."+class)) }
		if state, attempts := cell("state"), cell("attempts"); state != "delivered" || attempts != "1" {
			t.Errorf("the delivery shows %q after %q attempts", state, attempts)
		}
		if got := cell("excerpt"); got != receiverAnswer {
			t.Errorf("the receiver's answer shows as %q, want the literal %q", got, receiverAnswer)
		}
		if n := eval[int](t, tab, `document.querySelectorAll('script, b').length`); n != 0 {
			t.Errorf("the webhooks page has %d elements of the receiver's markup", n)
		}
		shoot(t, tab, dir, "6-webhooks")

		load(t, tab, "redelivering", chromedp.Click(chromedp.CSS("#delivery-"+id+" button.redeliver")))
		do(t, tab, "waiting for the notice", chromedp.WaitVisible(chromedp.ID("notice")))
		if got := text(t, tab, chromedp.ID("notice")); !strings.Contains(got, id) {
			t.Errorf("the notice says %q", got)
		}
		w.waitLog(t, recorded, gt.Acme, hook, delivered(1, 2))
		load(t, tab, "reloading", chromedp.Reload())
		if state, attempts := cell("state"), cell("attempts"); state != "delivered" || attempts != "2" {
			t.Errorf("after the redeliver the delivery shows %q after %q attempts", state, attempts)
		}
		shoot(t, tab, dir, "7-redelivered")
	})
}
