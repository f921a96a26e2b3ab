package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/envelope"
)

// How request bodies are read. A body is read only once its sender is known
// (authentication uses the headers alone), under a read deadline
// (Config.BodyReadTimeout), and only if the gateway-wide budget of bytes
// being read (Config.MaxBodyBytesInFlight) has room for it: a client that
// sends a large Content-Length and then stalls holds neither memory without
// credentials nor, with them, for longer than the deadline.

// bodyBudget is the budget of bytes of request bodies being read at once.
type bodyBudget struct {
	mu    sync.Mutex
	limit int64 // negative: no limit
	used  int64
}

func newBodyBudget(limit int64) *bodyBudget { return &bodyBudget{limit: limit} }

// reserve takes n bytes of the budget, if it has them; release gives them
// back and must be called once.
func (b *bodyBudget) reserve(n int64) (release func(), ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit >= 0 && b.used+n > b.limit {
		return nil, false
	}
	b.used += n
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.used -= n
			b.mu.Unlock()
		})
	}, true
}

// errClientClosed is a request whose client went away before it was
// answered; nothing is sent and the log says so, without blaming the
// gateway.
var errClientClosed = errors.New("client closed request")

// statusClientClosed is the status logged for a request whose client went
// away (nginx's 499); it is never sent.
const statusClientClosed = 499

// bodyExpected reports whether the request announces a body.
func bodyExpected(r *http.Request) bool {
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}

// armBodyDeadline makes the request's body due within the body read
// timeout from now. It is set before the request is authenticated, so that
// a body the gateway refuses unread (and that net/http then tries to
// drain) cannot hold the connection longer either.
func (s *Server) armBodyDeadline(c echo.Context) {
	if bodyExpected(c.Request()) {
		_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(s.cfg.BodyReadTimeout))
	}
}

// readBody reads the body of an authenticated request: within the body
// limit, the body read timeout and the budget of bytes being read. Its
// errors are protocol errors, or errClientClosed.
func (s *Server) readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	tooLarge := func() error {
		return envelope.Errorf(envelope.KindPayloadTooLarge, "the body is larger than the limit of %d bytes", s.cfg.BodyLimit)
	}
	if r.ContentLength > s.cfg.BodyLimit {
		return nil, tooLarge()
	}
	body, err := s.readWithin(c, s.cfg.BodyLimit, func(body io.Reader) ([]byte, error) {
		b, err := readAllSized(body, r.ContentLength)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return b, err
	})
	if err == nil {
		noteBody(c, body)
	}
	return body, err
}

// readWithin runs read over the request's body, limited to limit bytes,
// with the body's share of the budget held and the read deadline set; it
// turns a read that failed into a protocol error or errClientClosed.
func (s *Server) readWithin(c echo.Context, limit int64, read func(io.Reader) ([]byte, error)) ([]byte, error) {
	r := c.Request()
	share := r.ContentLength
	if share < 0 || share > limit {
		share = limit // unknown length: it may use all of the limit
	}
	release, ok := s.bodies.reserve(share)
	if !ok {
		s.log.Warn().Int64("bytes", share).Str("path", r.URL.Path).Msg("request body refused: the budget of body bytes being read is spent")
		return nil, &envelope.Error{Kind: envelope.KindServiceUnavailable, RetryAfter: time.Second,
			Message: "the gateway is receiving too many request bodies at once; retry shortly"}
	}
	defer release()
	rc := http.NewResponseController(c.Response())
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyReadTimeout))
	b, err := read(http.MaxBytesReader(c.Response().Writer, r.Body, limit))
	if err == nil {
		// No deadline while the request is handled: net/http watches the
		// idle connection for the client going away, and a deadline
		// passing would read as that.
		_ = rc.SetReadDeadline(time.Time{})
		return b, nil
	}
	var ee *envelope.Error
	switch {
	case errors.As(err, &ee):
		return nil, err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, envelope.Errorf(envelope.KindMalformedEnvelope,
			"the body did not arrive within %s; %s", s.cfg.BodyReadTimeout, bodyProgress(r.ContentLength, len(b)))
	case clientWentAway(err):
		return nil, errClientClosed
	}
	return nil, envelope.Errorf(envelope.KindMalformedEnvelope, "the body could not be read: %v", err)
}

// readAllSized reads r to its end into a buffer of the declared size, so a
// body holds what its share of the budget counts and no more; a body of
// unknown length (size < 0) grows as it comes.
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1) // one more byte to meet EOF without growing
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return b, err
		case len(b) == cap(b):
			b = append(b, 0)[:len(b)]
		}
	}
}

// bodyProgress says how much of a body came before its deadline.
func bodyProgress(declared int64, got int) string {
	if declared < 0 {
		return fmt.Sprintf("%d bytes came; send the whole body without pausing", got)
	}
	return fmt.Sprintf("%d of the %d bytes of Content-Length came; send the whole body without pausing", got, declared)
}

// clientWentAway reports whether a read error means the client closed or
// reset the connection.
func clientWentAway(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// clientClosed reports whether the request failed because its client went
// away: its body stopped short, or its context was cancelled while it was
// handled. The request is then logged, with status 499, instead of being
// answered, and any idempotency key it holds is given back for a retry.
func (s *Server) clientClosed(c echo.Context, start time.Time, o *outcome) bool {
	gone := errors.Is(o.err, errClientClosed) ||
		errors.Is(o.err, context.Canceled) && c.Request().Context().Err() != nil
	if !gone {
		return false
	}
	if o.result != nil {
		s.core.Finish(o.result, http.StatusInternalServerError, nil) // any 5xx gives the key back
	}
	s.logClientClosed(s.log.Info(), start, o)
	return true
}

func (s *Server) logClientClosed(ev *zerolog.Event, start time.Time, o *outcome) {
	ev.Str("licensePlate", o.plate).
		Str("eventName", eventNameOf(o.req)).
		Str("ownerId", ownerOf(o.req)).
		Str("apiKey", o.caller.APIKey).
		Int("status", statusClientClosed).
		Str("errCode", "499").
		Str("reason", errClientClosed.Error()).
		Dur("latency", time.Since(start)).Msg("event")
}
