package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/journal"
)

// answerFacts is what the surfaces learn of a request while they answer it
// (its event, its caller, its error, its body), for the request journal.
type answerFacts struct {
	event, exception string
	caller           handlers.Caller
	request          []byte
	requestType      string
}

// factsKey names a request's answerFacts in its Echo context.
const factsKey = "scwm.facts"

// factsOf is the facts of c's request, made on first use.
func factsOf(c echo.Context) *answerFacts {
	f, _ := c.Get(factsKey).(*answerFacts)
	if f == nil {
		f = &answerFacts{}
		c.Set(factsKey, f)
	}
	return f
}

// noteBody keeps the body a surface read for the journal.
func noteBody(c echo.Context, body []byte) {
	f := factsOf(c)
	f.request, f.requestType = body, c.Request().Header.Get("Content-Type")
}

// responseCaptureLimit bounds what of an answer is held for the journal
// while it is written; the journal cleans and cuts it further.
const responseCaptureLimit = 64 << 10

// journalRequests records every answered request that carries a license
// plate in the request journal, once its answer is written: what it was,
// who sent it, how it was answered, and (where the journal keeps them)
// its bodies with every secret removed (journal.Clean).
func (s *Server) journalRequests(next echo.HandlerFunc) echo.HandlerFunc {
	j := s.core.Journal()
	return func(c echo.Context) error {
		arrived, start := s.cfg.Now(), time.Now()
		f := factsOf(c)
		var capture *captureWriter
		if j.KeepsBodies() {
			capture = &captureWriter{ResponseWriter: c.Response().Writer}
			c.Response().Writer = capture
		}
		if err := next(c); err != nil {
			c.Error(err)
		}
		plate := c.Response().Header().Get("X-License-Plate")
		if plate == "" {
			return nil
		}
		r := c.Request()
		e := journal.Entry{LicensePlate: plate, Time: arrived, Surface: surfaceOf(r.URL.Path), Method: r.Method,
			Path: cutString(r.URL.Path, 200), Event: cutString(f.event, 200), APIKey: f.caller.APIKey,
			CompanyID: f.caller.CompanyID, UserID: f.caller.UserID, Status: c.Response().Status,
			Exception: f.exception, Latency: time.Since(start)}
		if e.Event == "" {
			e.Event = c.Path()
		}
		if capture != nil {
			max := j.Config().MaxBodyBytes
			var cutReq, cutResp bool
			e.Request, cutReq = journal.Clean(f.request, f.requestType, max)
			e.Response, cutResp = journal.Clean(capture.buf, c.Response().Header().Get("Content-Type"), max)
			e.Truncated = cutReq || cutResp || capture.cut
		}
		j.Record(e)
		return nil
	}
}

// surfaceOf names the API a path belongs to.
func surfaceOf(path string) string {
	switch {
	case path == "/api/events":
		return "events"
	case path == "/api/graphql":
		return "graphql"
	case strings.HasPrefix(path, "/api/oauth/"):
		return "oauth"
	case strings.HasPrefix(path, "/api/v1/webhooks"):
		return "webhooks"
	case strings.HasPrefix(path, "/api/"):
		return "rest"
	case path == "/ui" || strings.HasPrefix(path, "/ui/"):
		return "ui"
	}
	return "other"
}

// cutString bounds a string the journal keeps from the request.
func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// captureWriter passes an answer on and keeps its first
// responseCaptureLimit bytes.
type captureWriter struct {
	http.ResponseWriter
	buf []byte
	cut bool
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if room := responseCaptureLimit - len(w.buf); room > 0 {
		w.buf = append(w.buf, b[:min(room, len(b))]...)
	}
	if len(w.buf)+len(b) > responseCaptureLimit {
		w.cut = true
	}
	return w.ResponseWriter.Write(b)
}

// Flush flushes the answer to the client.
func (w *captureWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap is the writer underneath, for http.ResponseController.
func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
