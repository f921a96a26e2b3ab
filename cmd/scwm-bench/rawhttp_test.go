package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The load workers' HTTP/1.1 reader takes answers as servers send them:
// with a length, in chunks, until the connection closes, one after the
// other on a kept connection; and refuses what is not an answer.
func TestReadRawAnswer(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in     string
		status       int
		body         string
		closeAfter   bool
		replayed     bool
		wantErr      error // nil: no error
		anyErr       bool
		secondStatus int // a second answer on the same reader, 0: none
	}{
		{name: "length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\nhello", status: 200, body: "hello"},
		{name: "two on one connection", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", status: 200, body: "ab", secondStatus: 404},
		{name: "chunks and a trailer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nhel\r\n2\r\nlo\r\n0\r\nTrailer: t\r\n\r\n", status: 200, body: "hello"},
		{name: "close", in: "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", status: 503, body: "x", closeAfter: true},
		{name: "HTTP/1.0 until the end", in: "HTTP/1.0 200 OK\r\n\r\nall of it", status: 200, body: "all of it", closeAfter: true},
		{name: "replayed", in: "HTTP/1.1 200 OK\r\nIdempotent-Replayed: true\r\nContent-Length: 0\r\n\r\n", status: 200, replayed: true},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", wantErr: errMalformedAnswer},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: errMalformedAnswer},
		{name: "bad chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantErr: errMalformedAnswer},
		{name: "header without colon", in: "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", wantErr: errMalformedAnswer},
		{name: "short body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", anyErr: true},
		{name: "cut in the headers", in: "HTTP/1.1 200 OK\r\nContent-Len", wantErr: io.ErrUnexpectedEOF},
		{name: "a header line too long", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", wantErr: errMalformedAnswer},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := bufio.NewReaderSize(strings.NewReader(c.in), 16<<10)
			var buf bytes.Buffer
			a, closeAfter, err := readRawAnswer(r, &buf)
			switch {
			case c.wantErr != nil || c.anyErr:
				if err == nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Fatalf("error %v, want %v", err, c.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if a.status != c.status || buf.String() != c.body || closeAfter != c.closeAfter || a.replayed != c.replayed {
				t.Fatalf("status %d body %q close %v replayed %v; want %d %q %v %v", a.status, buf.String(), closeAfter, a.replayed, c.status, c.body, c.closeAfter, c.replayed)
			}
			if c.secondStatus != 0 {
				if a, _, err := readRawAnswer(r, &buf); err != nil || a.status != c.secondStatus {
					t.Fatalf("second answer: %d, %v; want %d", a.status, err, c.secondStatus)
				}
			}
		})
	}
}

// A worker's connection posts what it is given, keeps the connection for
// the next request, dials again after the server closed it, and gives up
// when the context ends.
func TestRawConnPostsAndRedials(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	hanging, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/api/events" || r.Header.Get("Authorization") != "Basic x" ||
			r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if string(b) == "hang" {
			close(hanging)
			<-release
			return
		}
		if string(b) == "close" {
			w.Header().Set("Connection", "close")
		}
		if string(b) == "chunked" {
			w.Write([]byte(strings.Repeat("c", 10000))) // beyond the server's buffer: chunks
			return
		}
		w.Write(b)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	defer close(release)

	rc := newRawConn(srv.URL+"/api/events", requestTimeout)
	defer rc.close()
	var buf bytes.Buffer
	post := func(body string) string {
		t.Helper()
		a, err := rc.post(t.Context(), []string{"Authorization: Basic x"}, []byte(body), &buf)
		if err != nil || a.status != http.StatusOK {
			t.Fatalf("post %q: %d, %v: %s", body, a.status, err, buf.String())
		}
		return buf.String()
	}
	if got := post("one"); got != "one" {
		t.Fatalf("answer %q", got)
	}
	if got := post("chunked"); got != strings.Repeat("c", 10000) {
		t.Fatalf("chunked answer of %d bytes", len(got))
	}
	post("close")
	post("after the close")
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (one kept for three requests, one after the close)", n)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := rc.post(ctx, nil, []byte("x"), &buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("a post with an ended context: %v", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	go func() {
		<-hanging
		cancel()
	}()
	if _, err := rc.post(ctx, []string{"Authorization: Basic x"}, []byte("hang"), &buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("a post whose context ended while it waited for the answer: %v", err)
	}
	if _, err := newRawConn("ftp://x/", requestTimeout).post(t.Context(), nil, nil, &buf); err == nil {
		t.Fatal("a post to an ftp URL succeeded")
	}
}
