package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// rawConn opens a TCP connection to the harness, with a deadline that only
// keeps a broken gateway from hanging the test.
func rawConn(t *testing.T, h *gt.Harness) net.Conn {
	t.Helper()
	u, err := url.Parse(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// postHead is the start of a POST with a body of contentLength bytes.
func postHead(path, authorization, contentType string, contentLength int, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: gateway\r\nContent-Type: %s\r\nContent-Length: %d\r\n", path, contentType, contentLength)
	if authorization != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// readAnswer reads one HTTP answer from c and decodes its JSON body.
func readAnswer(t *testing.T, r *bufio.Reader) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", resp.StatusCode, err, raw)
	}
	return resp, body
}

// envelopeError checks an error envelope's status and exceptionName and
// returns its errMsg.
func envelopeError(t *testing.T, resp *http.Response, body map[string]any, status int, exception string) string {
	t.Helper()
	h, _ := body["header"].(map[string]any)
	if resp.StatusCode != status || h == nil || h["isErr"] != true || h["exceptionName"] != exception || h["errCode"] != fmt.Sprint(status) {
		t.Fatalf("want a %d %s envelope, got %d %v", status, exception, resp.StatusCode, body)
	}
	msg, _ := h["errMsg"].(string)
	return msg
}

// A client without credentials that announces a 1 MiB body, sends a little
// of it and stalls is answered 401 at once: the gateway does not wait for
// (or buffer) a body it will not accept.
func TestUnauthenticatedStalledBodyIsRefusedUnread(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	wrong := gt.Basic(gt.Client{APIKey: gt.Acme.APIKey, APISecret: "wrong-secret-0123456789"})
	for _, auth := range []string{"", wrong, "Basic !!!"} {
		c := rawConn(t, h)
		if _, err := io.WriteString(c, postHead("/api/events", auth, "application/json", 1<<20)+`{"header":{"headerVersion":1,`+strings.Repeat(" ", 4000)); err != nil {
			t.Fatal(err)
		}
		resp, body := readAnswer(t, bufio.NewReader(c))
		envelopeError(t, resp, body, http.StatusUnauthorized, "AuthenticationException")
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: no WWW-Authenticate", auth)
		}
		if !resp.Close {
			t.Errorf("Authorization %q: the connection with an unread body stays open", auth)
		}
	}
}

// An authenticated client whose body stalls is cut off at the body read
// timeout with an envelope that says what happened.
func TestSlowBodyIsCutAtTheBodyReadTimeout(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Config: handlers.Config{BodyReadTimeout: 300 * time.Millisecond}})
	c := rawConn(t, h)
	body := string(gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "slow"}))
	if _, err := io.WriteString(c, postHead("/api/events", gt.Basic(gt.Acme), "application/json", len(body))+body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	resp, answer := readAnswer(t, bufio.NewReader(c))
	msg := envelopeError(t, resp, answer, http.StatusBadRequest, "MalformedEnvelopeException")
	want := fmt.Sprintf("the body did not arrive within 300ms; %d of the %d bytes of Content-Length came", len(body)/2, len(body))
	if !strings.Contains(msg, want) {
		t.Errorf("errMsg %q does not contain %q", msg, want)
	}
	// The gateway keeps serving.
	h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "after the slow one"}).MustOK(t)
}

// The budget of body bytes being read at once: a request whose body does
// not fit is answered 503 with Retry-After, in an envelope on /api/events
// and in the REST JSON on the REST routes, and requests fit again once the
// bodies being read are done.
func TestBodyBudgetRefusesWith503AndRecovers(t *testing.T) {
	t.Parallel()
	const budget = 20000
	h := startREST(t, handlers.Config{MaxBodyBytesInFlight: budget})
	access, _ := login(t, h, gt.Tim)

	// A holds most of the budget: its body is announced, and the gateway
	// has asked for it (100 Continue) but it has not come yet.
	const held = budget - 1000
	a := rawConn(t, h)
	if _, err := io.WriteString(a, postHead("/api/events", gt.Basic(gt.Acme), "application/json", held, "Expect: 100-continue")); err != nil {
		t.Fatal(err)
	}
	ar := bufio.NewReader(a)
	cont, err := http.ReadResponse(ar, nil)
	if err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue, got %v %v", cont, err)
	}

	big := []byte("{" + strings.Repeat(" ", 2000) + string(gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "big"}))[1:])
	r := h.Post(t, big, gt.Basic(gt.Acme), nil).MustFail(t, http.StatusServiceUnavailable, "ServiceUnavailableException")
	if r.HTTP.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	rest := restJSON(t, h, http.MethodPost, "/api/v1/incident", access, "{"+strings.Repeat(" ", 2000)+`"shortDescription":"big"}`)
	wantOAuthError(t, rest, http.StatusServiceUnavailable, "temporarily_unavailable")
	if rest.HTTP.Get("Retry-After") == "" {
		t.Error("REST 503 without Retry-After")
	}
	// A small body still fits.
	h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "small"}).MustOK(t)

	// A's body arrives (it is not an envelope); its share is given back.
	if _, err := io.WriteString(a, strings.Repeat(" ", held)); err != nil {
		t.Fatal(err)
	}
	resp, answer := readAnswer(t, ar)
	envelopeError(t, resp, answer, http.StatusBadRequest, "MalformedEnvelopeException")
	h.Post(t, big, gt.Basic(gt.Acme), nil).MustOK(t)
}

// lineLog collects the gateway's JSON log lines and signals each write.
type lineLog struct {
	mu    sync.Mutex
	buf   strings.Builder
	wrote chan struct{}
}

func newLineLog() *lineLog { return &lineLog{wrote: make(chan struct{}, 1)} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	select {
	case l.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lineLog) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, s := range strings.Split(l.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// waitFor waits until a log line satisfies match and returns it.
func (l *lineLog) waitFor(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		for _, m := range l.lines() {
			if match(m) {
				return m
			}
		}
		select {
		case <-l.wrote:
		case <-timeout:
			t.Fatalf("no log line %s:\n%s", what, l.buf.String())
		}
	}
}

// stallingStore holds FindIncident of one id until the request's context
// ends: the real store answers too fast for a client to hang up while it
// works.
type stallingStore struct {
	handlers.Store
	id      string
	entered chan struct{}
}

func (s *stallingStore) FindIncident(ctx context.Context, dataspace, id string, with store.Include) (*store.Incident, error) {
	if id != s.id {
		return s.Store.FindIncident(ctx, dataspace, id, with)
	}
	s.entered <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// A client that hangs up, while its event is handled or halfway through
// its body, is logged as a client that closed the request (status 499, at
// info), not as an internal error.
func TestClientDisconnectIsLoggedAsSuch(t *testing.T) {
	t.Parallel()
	logs := newLineLog()
	stall := &stallingStore{id: uuid.NewString(), entered: make(chan struct{}, 1)}
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed(), Logs: logs, WrapStore: func(s handlers.Store) handlers.Store { stall.Store = s; return stall }})
	isEvent := func(eventName string) func(map[string]any) bool {
		return func(m map[string]any) bool {
			return m["message"] == "event" && m["eventName"] == eventName && m["apiKey"] == gt.Acme.APIKey
		}
	}

	// Hanging up while the event is handled.
	c := rawConn(t, h)
	read := string(gt.Envelope(gt.Acme, readIncident, map[string]any{"id": stall.id}))
	if _, err := io.WriteString(c, postHead("/api/events", gt.Basic(gt.Acme), "application/json", len(read))+read); err != nil {
		t.Fatal(err)
	}
	<-stall.entered
	c.Close()
	line := logs.waitFor(t, "for the read whose client hung up", isEvent(readIncident))
	if line["status"] != float64(499) || line["level"] != "info" || line["reason"] != "client closed request" {
		t.Errorf("log line of a request whose client hung up: %v", line)
	}

	// Hanging up halfway through the body (its eventName is not known).
	c = rawConn(t, h)
	add := string(gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "cut"}))
	if _, err := io.WriteString(c, postHead("/api/events", gt.Basic(gt.Acme), "application/json", len(add))+add[:len(add)/2]); err != nil {
		t.Fatal(err)
	}
	c.Close()
	line = logs.waitFor(t, "for the add whose client hung up", isEvent(""))
	if line["status"] != float64(499) || line["level"] != "info" {
		t.Errorf("log line of a body cut short: %v", line)
	}

	// Hanging up while a REST read is handled.
	token, _ := login(t, h, gt.Tim)
	c = rawConn(t, h)
	if _, err := io.WriteString(c, "GET /api/v1/incident/"+stall.id+" HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "+token+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-stall.entered
	c.Close()
	line = logs.waitFor(t, "for the REST read whose client hung up", func(m map[string]any) bool {
		return m["message"] == "rest request" && m["route"] == "read"
	})
	if line["status"] != float64(499) || line["level"] != "info" {
		t.Errorf("log line of a REST request whose client hung up: %v", line)
	}

	for _, m := range logs.lines() {
		if m["level"] == "error" {
			t.Errorf("a client hanging up was logged as an error: %v", m)
		}
	}
}
