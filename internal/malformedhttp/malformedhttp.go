// Package malformedhttp gives requests that net/http refuses before any
// handler runs (an unparseable request line or header, a header block over
// the size limit, a bad Content-Length, a control character such as NUL in a
// header) the server's own error format instead of net/http's plain text.
//
// net/http answers such requests itself: it writes a fixed reply straight to
// the connection, in one write, and closes it:
//
//	HTTP/1.1 <status> <text>\r\n
//	Content-Type: text/plain; charset=utf-8\r\n
//	Connection: close\r\n
//	\r\n
//	<text>
//
// The listener returned by Listen hands out connections that recognise
// exactly this reply and write another in its place. Replies of handlers
// never match: net/http writes their header fields in sorted order, with a
// Date field, so Content-Type never comes first and Connection never right
// after it. If a future net/http changes its fixed reply, it goes out
// unchanged; this package's test against net/http notices.
//
// The package knows nothing of what the replacement says: Render decides.
package malformedhttp

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// Rejection is a request net/http refused.
type Rejection struct {
	// Status is the HTTP status net/http chose: 400, 431, 501 or 505.
	Status int
	// Reason is net/http's text, such as "400 Bad Request: missing
	// required Host header" or "Unsupported transfer encoding".
	Reason string
	// Remote is the client's address.
	Remote net.Addr
}

// Render builds the reply to a Rejection: its header fields (Content-Type
// among them) and body. The status is the Rejection's; Content-Length and
// Connection: close are added. It is called on the connection's goroutine
// and must not block.
type Render func(Rejection) (header http.Header, body []byte)

// Listen wraps inner so that net/http's plain-text rejections on its
// connections are replaced by what render builds.
func Listen(inner net.Listener, render Render) net.Listener {
	return &listener{Listener: inner, render: render}
}

type listener struct {
	net.Listener
	render Render
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, render: l.render}, nil
}

// conn rewrites net/http's fixed rejection (see the package comment).
type conn struct {
	net.Conn
	render Render
}

// cannedFields are the header fields of net/http's fixed rejection, from
// the end of its status line to the start of its body.
const cannedFields = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *conn) Write(p []byte) (int, error) {
	r, ok := parseCanned(p)
	if !ok {
		return c.Conn.Write(p)
	}
	r.Remote = c.RemoteAddr()
	header, body := c.render(r)
	header = header.Clone()
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Length", strconv.Itoa(len(body)))
	header.Set("Connection", "close")
	var reply bytes.Buffer
	fmt.Fprintf(&reply, "HTTP/1.1 %d %s\r\n", r.Status, http.StatusText(r.Status))
	_ = header.Write(&reply)
	reply.WriteString("\r\n")
	reply.Write(body)
	if _, err := c.Conn.Write(reply.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// parseCanned recognises net/http's fixed rejection in one write.
func parseCanned(p []byte) (Rejection, bool) {
	const prefix = "HTTP/1.1 "
	if !bytes.HasPrefix(p, []byte(prefix)) {
		return Rejection{}, false
	}
	end := bytes.Index(p, []byte("\r\n"))
	if end < 0 || !bytes.HasPrefix(p[end:], []byte(cannedFields)) {
		return Rejection{}, false
	}
	line := p[len(prefix):end]
	if len(line) < 3 {
		return Rejection{}, false
	}
	status, err := strconv.Atoi(string(line[:3]))
	if err != nil || status < 400 || status > 599 {
		return Rejection{}, false
	}
	return Rejection{Status: status, Reason: string(p[end+len(cannedFields):])}, true
}

// CloseWrite shuts down the writing side when the connection supports it
// (TCP does): net/http uses it to let a client read a rejection before the
// connection closes.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Unwrap is the connection this one wraps.
func (c *conn) Unwrap() net.Conn { return c.Conn }
