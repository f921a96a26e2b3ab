package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// rawConn is one kept-alive HTTP/1.1 connection of a load worker, driven by
// hand: the request is written from bytes built once, and the answer read
// with a buffered reader, status, Content-Length (or chunks) and body only.
// net/http's client spends about as much CPU on each request as the no-op
// server spends answering it (goroutines per connection, header maps, the
// request's context), and on a machine shared by the load generator and the
// server that is CPU the server does not get: the ceiling would measure
// the client.
type rawConn struct {
	err     error // the URL's, returned by every request
	addr    string
	tls     *tls.Config // nil for http
	path    string      // the request target
	host    string
	timeout time.Duration

	c   net.Conn
	r   *bufio.Reader
	req []byte
}

// requestTimeout bounds one request of a load worker, from its first byte
// written to its answer's last byte read.
const requestTimeout = 30 * time.Second

// newRawConn is a connection to the server of rawURL (http or https), to
// POST to its path; it dials at its first request.
func newRawConn(rawURL string, timeout time.Duration) *rawConn {
	u, err := url.Parse(rawURL)
	if err != nil {
		return &rawConn{err: err}
	}
	rc := &rawConn{host: u.Host, path: u.RequestURI(), timeout: timeout}
	switch u.Scheme {
	case "http":
		rc.addr = hostPort(u, "80")
	case "https":
		rc.addr = hostPort(u, "443")
		rc.tls = &tls.Config{ServerName: u.Hostname()}
	default:
		rc.err = fmt.Errorf("%s: not an http(s) URL", rawURL)
	}
	return rc
}

func hostPort(u *url.URL, port string) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// rawAnswer is what one request came back with.
type rawAnswer struct {
	status   int
	replayed bool // Idempotent-Replayed: true
}

var errMalformedAnswer = errors.New("malformed HTTP answer")

// post sends body with the given header lines (each "Name: value") and
// reads the answer's body into buf. A connection that fails is closed; the
// next request dials again.
func (rc *rawConn) post(ctx context.Context, headers []string, body []byte, buf *bytes.Buffer) (rawAnswer, error) {
	if rc.err != nil {
		return rawAnswer{}, rc.err
	}
	if err := ctx.Err(); err != nil {
		return rawAnswer{}, err
	}
	a, closeAfter, err := rc.roundTrip(ctx, headers, body, buf)
	if err != nil || closeAfter {
		rc.close()
	}
	if err != nil && ctx.Err() != nil {
		err = ctx.Err() // the connection's deadline was moved to end it
	}
	return a, err
}

func (rc *rawConn) roundTrip(ctx context.Context, headers []string, body []byte, buf *bytes.Buffer) (rawAnswer, bool, error) {
	if rc.c == nil {
		d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
		c, err := d.DialContext(ctx, "tcp", rc.addr)
		if err != nil {
			return rawAnswer{}, false, err
		}
		if rc.tls != nil {
			tc := tls.Client(c, rc.tls)
			if err := tc.Handshake(); err != nil {
				c.Close()
				return rawAnswer{}, false, err
			}
			c = tc
		}
		rc.c, rc.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	if err := rc.c.SetDeadline(time.Now().Add(rc.timeout)); err != nil {
		return rawAnswer{}, false, err
	}
	c := rc.c
	defer context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })()
	b := append(rc.req[:0], "POST "...)
	b = append(b, rc.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, rc.host...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n"...)
	for _, h := range headers {
		b = append(append(b, h...), "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	rc.req = b
	if _, err := rc.c.Write(b); err != nil {
		return rawAnswer{}, false, err
	}
	return readRawAnswer(rc.r, buf)
}

// readRawAnswer reads one HTTP/1.1 answer from r, its body into buf. It
// reports whether the server closes the connection after it.
func readRawAnswer(r *bufio.Reader, buf *bytes.Buffer) (rawAnswer, bool, error) {
	var a rawAnswer
	line, err := readLine(r)
	if err != nil {
		return a, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return a, false, fmt.Errorf("%w: status line %q", errMalformedAnswer, truncate(string(line), 80))
	}
	if a.status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return a, false, fmt.Errorf("%w: status line %q", errMalformedAnswer, truncate(string(line), 80))
	}
	closeAfter := line[7] == '0' // HTTP/1.0 closes unless told otherwise
	length, chunked := -1, false
	for {
		line, err := readLine(r)
		if err != nil {
			return a, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return a, false, fmt.Errorf("%w: header line %q", errMalformedAnswer, truncate(string(line), 80))
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return a, false, fmt.Errorf("%w: Content-Length %q", errMalformedAnswer, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closeAfter = bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Idempotent-Replayed")):
			a.replayed = bytes.Equal(value, []byte("true"))
		}
	}
	buf.Reset()
	switch {
	case chunked:
		err = readChunks(r, buf)
	case length >= 0:
		_, err = io.CopyN(buf, r, int64(length))
	default: // the body lasts until the server closes
		_, err = buf.ReadFrom(r)
		closeAfter = true
	}
	return a, closeAfter, err
}

func readChunks(r *bufio.Reader, buf *bytes.Buffer) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformedAnswer, truncate(string(line), 80))
		}
		if n == 0 {
			for { // trailers, then the blank line
				if line, err = readLine(r); err != nil || len(line) == 0 {
					return err
				}
			}
		}
		if _, err := io.CopyN(buf, r, n); err != nil {
			return err
		}
		if line, err = readLine(r); err != nil || len(line) != 0 {
			if err == nil {
				err = fmt.Errorf("%w: no CRLF after a chunk", errMalformedAnswer)
			}
			return err
		}
	}
}

// readLine reads one line without its CRLF; a line longer than the reader's
// buffer is an error.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: a line longer than %d bytes", errMalformedAnswer, r.Size())
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c, rc.r = nil, nil
	}
}
