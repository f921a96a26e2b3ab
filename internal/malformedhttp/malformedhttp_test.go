package malformedhttp

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// start serves handler with net/http over Listen's connections.
func start(t *testing.T, handler http.Handler) string {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener = Listen(inner, func(r Rejection) (http.Header, []byte) {
		b, _ := json.Marshal(map[string]any{"status": r.Status, "reason": r.Reason, "remote": r.Remote != nil})
		return http.Header{"Content-Type": {"application/json"}, "X-Extra": {"yes"}}, b
	})
	srv.Config.MaxHeaderBytes = 4 << 10
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// raw writes request on a new connection and reads the reply.
func raw(t *testing.T, addr, request string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read reply to %q: %v", request, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestNetHTTPRejectionsAreRendered(t *testing.T) {
	t.Parallel()
	addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	cases := []struct {
		name, request string
		status        int
		reason        string
	}{
		{"oversized header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8<<10) + "\r\n\r\n", 431, "431 Request Header Fields Too Large"},
		{"bad Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "400 Bad Request"},
		{"NUL in a header", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, "400 Bad Request"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400, "400 Bad Request: missing required Host header"},
		{"unknown transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: rot13\r\n\r\n", 501, "Unsupported transfer encoding"},
		{"garbage request line", "HELLO\r\n\r\n", 400, "400 Bad Request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := raw(t, addr, tc.request)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" ||
				resp.Header.Get("X-Extra") != "yes" || !resp.Close {
				t.Fatalf("got %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			var got struct {
				Status int
				Reason string
				Remote bool
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("reply is not what Render built: %v: %s", err, body)
			}
			if got.Status != tc.status || got.Reason != tc.reason || !got.Remote {
				t.Errorf("Render was given %+v, want status %d and reason %q", got, tc.status, tc.reason)
			}
		})
	}
}

func TestHandlerRepliesAreLeftAlone(t *testing.T) {
	t.Parallel()
	addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The plain-text error of a handler has the same status and
		// Content-Type as net/http's own rejection.
		w.Header().Set("Connection", "close")
		http.Error(w, "400 Bad Request", http.StatusBadRequest)
	}))
	resp := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || string(body) != "400 Bad Request\n" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("a handler's reply was changed: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
