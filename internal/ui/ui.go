// Package ui is the gateway's web page to look inside, at /ui: a person
// signs in with an API key or as a user of the REST API and sees what that
// caller may see (objects, their comments, sub-tasks and history, the
// requests of the gateway's journal, the company's webhook subscriptions
// and their deliveries), each through the application path the APIs take
// for the same caller. Pages are rendered on the server from embedded
// templates; nothing runs in the browser.
package ui

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/journal"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*
var staticFS embed.FS

// Bounds of what a browser may send.
const (
	// maxFormBytes bounds a form's body.
	maxFormBytes = 16 << 10
	// maxQueryBytes bounds a page's query string.
	maxQueryBytes = 4 << 10
)

// contentSecurityPolicy allows the page its own stylesheet and images and
// its own forms, and nothing else: no script, no frame, no other origin.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// UI serves the pages under /ui.
type UI struct {
	gw        *handlers.Gateway
	sessions  *sessions
	journal   *journal.Journal
	dataspace string
	now       func() time.Time
	pages     map[string]*template.Template
	mux       *http.ServeMux
}

// Options change what a UI is built with.
type Options struct {
	// MaxSessions bounds the sessions kept (MaxSessions when zero).
	MaxSessions int
}

// New builds the pages over gw.
func New(gw *handlers.Gateway, opts Options) *UI {
	cfg := gw.Config()
	ds := cfg.Dataspaces[0]
	if slices.Contains(cfg.Dataspaces, "default") {
		ds = "default" // the REST API's dataspace
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = MaxSessions
	}
	u := &UI{gw: gw, sessions: newSessions(cfg.Now, opts.MaxSessions), journal: gw.Journal(), dataspace: ds, now: cfg.Now,
		pages: parsePages()}
	u.mux = u.routes()
	return u
}

func (u *UI) routes() *http.ServeMux {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/ui/static/", http.FileServer(http.FS(static)))
	m.Handle("GET /ui/static/", files)
	m.HandleFunc("GET /ui/signin", u.signInPage)
	m.HandleFunc("POST /ui/signin", u.signIn)
	m.HandleFunc("POST /ui/signout", u.signedIn(u.signOut))
	m.HandleFunc("GET /ui", u.signedIn(u.searchPage))
	m.HandleFunc("GET /ui/{$}", u.signedIn(u.searchPage))
	m.HandleFunc("GET /ui/objects/{kind}/{id}", u.signedIn(u.objectPage))
	m.HandleFunc("GET /ui/requests", u.signedIn(u.requestPage))
	m.HandleFunc("GET /ui/webhooks", u.signedIn(u.webhooksPage))
	m.HandleFunc("GET /ui/webhooks/{id}", u.signedIn(u.webhookPage))
	m.HandleFunc("POST /ui/webhooks/{id}/deliveries/{delivery}/redeliver", u.signedIn(u.redeliver))
	m.HandleFunc("/ui/", u.notFound)
	return m
}

// ServeHTTP serves the pages with the headers every answer of /ui carries.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if len(r.URL.RawQuery) > maxQueryBytes {
		u.fail(w, r, nil, http.StatusRequestURITooLong, "The address is too long.")
		return
	}
	if r.Method == http.MethodPost {
		if !sameOrigin(r) {
			u.fail(w, r, nil, http.StatusForbidden, "This form was not sent from this gateway's own page.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	u.mux.ServeHTTP(w, r)
}

// sameOrigin reports whether a state-changing request comes from a page of
// this gateway: the browser's Sec-Fetch-Site says same-origin or, from a
// browser that does not send it, Origin is this host. A request with
// neither is not a browser's (the session's token still guards it).
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return origin == scheme+r.Host
}

// clientAddress is the host part of the peer address, as the APIs' sign-in
// throttle counts it (no forwarded header is trusted).
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// view is what every page's template gets: the page's own data and the
// signed-in session's name and token, if any.
type view struct {
	Title string
	Who   string
	CSRF  string
	// Nav names the section of the page, for the navigation.
	Nav  string
	Data any
}

// render writes the page name with data, or a plain 500 when the
// template fails (nothing half-written reaches the browser).
func (u *UI) render(w http.ResponseWriter, s *session, status int, name, title string, data any) {
	v := view{Title: title, Nav: name, Data: data}
	if s != nil {
		v.Who, v.CSRF = s.who, s.csrf
	}
	var buf bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		log := u.gw.Config().Logger
		log.Error().Err(err).Str("page", name).Msg("ui: rendering a page failed")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// problem is the data of the error page.
type problem struct {
	Status    int
	Message   string
	Exception string
}

// fail answers an error page.
func (u *UI) fail(w http.ResponseWriter, _ *http.Request, s *session, status int, msg string) {
	u.render(w, s, status, "error", http.StatusText(status), problem{Status: status, Message: msg})
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	u.fail(w, r, nil, http.StatusNotFound, "There is no such page.")
}
