package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// dialGateway opens a TCP connection to a running gateway, with a deadline
// that only keeps a broken gateway from hanging the test.
func dialGateway(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// Requests net/http cannot parse are answered by serve's server with an
// error envelope, not net/http's plain text.
func TestMalformedHTTPGetsAnErrorEnvelope(t *testing.T) {
	t.Parallel()
	gw := startServe(t, map[string]string{"SCWM_DATA_DIR": t.TempDir(), "SCWM_ADDR": "127.0.0.1:0", "SCWM_LOG_FORMAT": "json"})
	cases := []struct {
		name, request string
		status        int
		exception     string
	}{
		{"oversized header", "POST /api/events HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n", 431, "HeaderValidationException"},
		{"bad Content-Length", "POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12abc\r\n\r\n{}", 400, "MalformedEnvelopeException"},
		{"two Content-Lengths", "POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, "MalformedEnvelopeException"},
		{"NUL in a header", "POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Basic a\x00b\r\nContent-Length: 2\r\n\r\n{}", 400, "MalformedEnvelopeException"},
		{"no Host", "POST /api/events HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 400, "MalformedEnvelopeException"},
		{"unknown transfer coding", "POST /api/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, rot13\r\n\r\n", 501, "MalformedEnvelopeException"},
		{"garbage request line", "HELLO WORLD\r\n\r\n", 400, "MalformedEnvelopeException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialGateway(t, gw.addr)
			if _, err := io.WriteString(c, tc.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			raw, _ := io.ReadAll(resp.Body)
			var env struct {
				Header struct {
					IsErr         bool   `json:"isErr"`
					ErrCode       string `json:"errCode"`
					ErrMsg        string `json:"errMsg"`
					ExceptionName string `json:"exceptionName"`
					LicensePlate  string `json:"licensePlate"`
				} `json:"header"`
			}
			if err := json.Unmarshal(raw, &env); err != nil {
				t.Fatalf("%d %q is not an envelope: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			h := env.Header
			if resp.StatusCode != tc.status || !h.IsErr || h.ExceptionName != tc.exception || h.ErrCode != itoa(tc.status) ||
				h.ErrMsg == "" || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-License-Plate") != h.LicensePlate {
				t.Fatalf("want a %d %s envelope, got %d %v: %s", tc.status, tc.exception, resp.StatusCode, resp.Header, raw)
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// healthOn sends GET /healthz on c and reports whether a 200 came back.
func healthOn(c net.Conn, r *bufio.Reader) bool {
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return false
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Past --max-connections-per-addr, new connections from the address are
// closed at once, while the connections already open keep being served,
// and a place given back is taken again.
func TestConnectionLimitKeepsServingOpenConnections(t *testing.T) {
	t.Parallel()
	const perAddr = 20
	gw := startServe(t, map[string]string{"SCWM_DATA_DIR": t.TempDir(), "SCWM_ADDR": "127.0.0.1:0", "SCWM_LOG_FORMAT": "json"},
		"--max-connections", "1000", "--max-connections-per-addr", itoa(perAddr))
	type open struct {
		c net.Conn
		r *bufio.Reader
	}
	var admitted []open
	refused := 0
	for i := 0; i < 3*perAddr; i++ {
		c := dialGateway(t, gw.addr)
		r := bufio.NewReader(c)
		if healthOn(c, r) {
			admitted = append(admitted, open{c, r})
			continue
		}
		refused++
		c.Close()
	}
	if len(admitted) != perAddr || refused != 2*perAddr {
		t.Fatalf("admitted %d and refused %d connections, want %d and %d", len(admitted), refused, perAddr, 2*perAddr)
	}
	for i, o := range admitted {
		if !healthOn(o.c, o.r) {
			t.Fatalf("open connection %d is no longer served", i)
		}
	}
	admitted[0].c.Close()
	for attempt := 0; ; attempt++ {
		c := dialGateway(t, gw.addr)
		if healthOn(c, bufio.NewReader(c)) {
			break
		}
		c.Close() // the gateway has not seen the close yet
		if attempt > 1000 {
			t.Fatal("the place of a closed connection is never given back")
		}
	}
}

// The new flags are read from the command line and the environment, and
// bad values are refused.
func TestConnectionAndBodyLimitFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SCWM_MAX_CONNECTIONS": "10", "SCWM_MAX_CONNECTIONS_PER_ADDR": "3", "SCWM_IDLE_TIMEOUT": "7s",
		"SCWM_BODY_READ_TIMEOUT": "2s", "SCWM_MAX_BODY_BYTES_IN_FLIGHT": "2097152",
	}
	cfg, err := parseServe(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.maxConns != 10 || cfg.maxConnsPerAddr != 3 || cfg.idleTimeout != 7*time.Second ||
		cfg.bodyReadTimeout != 2*time.Second || cfg.maxBodyBytesInFlight != 2<<20 {
		t.Errorf("from the environment: %+v", cfg)
	}
	cfg, err = parseServe([]string{"--max-connections", "11", "--max-connections-per-addr", "4", "--idle-timeout", "8s",
		"--body-read-timeout", "3s", "--max-body-bytes-in-flight", "3145728"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.maxConns != 11 || cfg.maxConnsPerAddr != 4 || cfg.idleTimeout != 8*time.Second ||
		cfg.bodyReadTimeout != 3*time.Second || cfg.maxBodyBytesInFlight != 3<<20 {
		t.Errorf("from flags: %+v", cfg)
	}
	for _, args := range [][]string{
		{"--max-connections", "0"}, {"--max-connections-per-addr", "x"}, {"--idle-timeout", "0s"},
		{"--body-read-timeout", "-1s"}, {"--max-body-bytes-in-flight", "1000"},
	} {
		if _, err := parseServe(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	var stderr strings.Builder
	err = run(context.Background(), []string{"scwm-gateway", "serve", "--max-connections", "none"}, func(string) string { return "" }, noStdin, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--max-connections") {
		t.Errorf("run with a bad --max-connections: %v", errors.Unwrap(err))
	}
}
