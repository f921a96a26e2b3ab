package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/limits"
	"github.com/scwm-gateway/scwm-gateway/internal/oauth"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// networkScopedApps are the apps whose events name a processNetworkId.
var networkScopedApps = []string{aptApp}

// aptApp is the app of the Agile Process Teams events.
const aptApp = "agile-process-teams"

// outcome is everything known about one request once it has been handled:
// what it was, who sent it, and what to answer.
type outcome struct {
	// ctx is the request's context, bounded by the request timeout.
	ctx context.Context
	// step is what the pipeline is doing, for the answer when the request
	// timeout runs out.
	step     string
	req      *envelope.Request
	caller   handlers.Caller
	plate    string
	payload  any
	warnings []string
	err      error
	// result is what Dispatch did, if it was reached.
	result *handlers.Result
	// replay is the recorded answer to send again instead.
	replay *store.IdempotencyRecord
}

// handleEvent is POST /api/events: every SCWM event goes through here.
func (s *Server) handleEvent(c echo.Context) error {
	start := time.Now()
	o := &outcome{plate: envelope.NewLicensePlate()}
	r := c.Request()
	if r.Method != http.MethodPost {
		c.Response().Header().Set("Allow", http.MethodPost)
		o.err = envelope.Errorf(envelope.KindMethodNotAllowed, "method %s is not allowed on /api/events; send events with POST", r.Method)
		s.respond(c, start, o)
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	o.ctx = ctx
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error().Str("licensePlate", o.plate).Interface("panic", p).Msg("handler panicked")
				o.err = errors.New("handler panicked")
			}
		}()
		s.process(ctx, c, o)
	}()
	if s.clientClosed(c, start, o) {
		return nil
	}
	s.respond(c, start, o)
	return nil
}

// process runs the pipeline of one event: media type, declared size,
// authentication and rate limits (from the headers alone), body, envelope,
// header, event lookup, authorization, schema, idempotency, handler. It
// fills in o.
func (s *Server) process(ctx context.Context, c echo.Context, o *outcome) {
	r := c.Request()
	s.armBodyDeadline(c)
	if o.err = checkMediaType(r.Header.Get("Content-Type")); o.err != nil {
		return
	}
	if r.ContentLength > s.cfg.BodyLimit {
		o.err = envelope.Errorf(envelope.KindPayloadTooLarge, "the body is larger than the limit of %d bytes", s.cfg.BodyLimit)
		return
	}
	// The caller is known from the headers before a byte of the body is
	// read: an unauthenticated client holds no memory (bodies.go).
	o.step = "authenticating the API key"
	if o.caller, o.err = s.authenticate(ctx, r); o.err != nil {
		return
	}
	factsOf(c).caller = o.caller
	if o.err = s.limits.Allow(o.caller.APIKey, o.caller.CompanyID); o.err != nil {
		return
	}
	o.step = "reading the body"
	body, err := s.readBody(c)
	if o.err = err; err != nil {
		return
	}
	if o.req, o.err = envelope.ParseRequest(body); o.err != nil {
		return
	}
	factsOf(c).event = o.req.Header.EventName
	req := o.req
	if o.err = req.Validate(envelope.HeaderRules{Dataspaces: s.cfg.Dataspaces, NetworkScopedApps: networkScopedApps}); o.err != nil {
		return
	}
	key, err := req.IdempotencyKey(r.Header.Get("Idempotency-Key"))
	if o.err = err; err != nil {
		return
	}
	hash := ""
	if key != "" {
		hash = req.Hash() // before the schema check puts enums in canonical case
	}
	h := req.Header
	res := s.core.Dispatch(ctx, &handlers.Request{Caller: o.caller, Event: req.Event, OwnerID: h.OwnerID, NetworkID: h.ProcessNetworkID,
		Dataspace: h.Dataspace, OwnCompany: req.ActsForOwnCompany(), Payload: req.Payload,
		IdempotencyKey: key, Hash: hash, LicensePlate: o.plate})
	o.payload, o.warnings, o.err, o.plate, o.step = res.Payload, res.Warnings, res.Err, res.LicensePlate, res.Step
	o.replay, o.result = res.Replay, res
}

func checkMediaType(contentType string) error {
	if contentType == "" {
		return envelope.Errorf(envelope.KindUnsupportedMediaType, "Content-Type is missing; send the envelope as application/json")
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		return envelope.Errorf(envelope.KindUnsupportedMediaType, "Content-Type %q is form data: send the envelope as JSON with Content-Type: application/json (json= in requests, not data=)", contentType)
	}
	if err != nil || mt != "application/json" {
		return envelope.Errorf(envelope.KindUnsupportedMediaType, "Content-Type %q is not supported; send the envelope as application/json", contentType)
	}
	return nil
}

// authenticate checks the HTTP Basic apiKey:apiSecret against the directory,
// or a session token (Authorization: Bearer, sessionCaller). An attempt the
// failed-authentication throttle stops (limits) is refused before its
// credentials are even looked at.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (handlers.Caller, error) {
	if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
		return s.sessionCaller(ctx, r)
	}
	source := clientAddress(r)
	anonymous := func(msg string) (handlers.Caller, error) {
		if err := s.limits.AuthAllowed("", source); err != nil {
			return handlers.Caller{}, err
		}
		s.limits.AuthFailed("", source)
		return handlers.Caller{}, envelope.Errorf(envelope.KindAuthentication, "%s", msg)
	}
	if r.Header.Get("Authorization") == "" {
		return anonymous("the Authorization header is missing; send HTTP Basic credentials: base64 of apiKey:apiSecret")
	}
	key, secret, ok := r.BasicAuth()
	if !ok || key == "" {
		return anonymous("the Authorization header is not valid HTTP Basic; send 'Basic ' and base64 of apiKey:apiSecret")
	}
	identity := limits.APIKeyIdentity(key)
	if err := s.limits.AuthAllowed(identity, source); err != nil {
		return handlers.Caller{}, err
	}
	client, ok := s.dir.Authenticate(key, secret)
	if !ok {
		s.limits.AuthFailed(identity, source)
		return handlers.Caller{}, envelope.Errorf(envelope.KindAuthentication, "unknown apiKey or wrong apiSecret")
	}
	s.limits.AuthSucceeded(identity, source)
	return handlers.NewCaller(client.APIKey, client.CompanyID, client.UserID, secret), nil
}

// sessionCaller authenticates a request by a session token: an access
// token of the REST API's password grant, sent as Authorization: Bearer, as
// TraceLink's users send their browser session's token to mint their first
// API key. The token is checked as the REST API checks it (oauth.Server's
// Bearer, with its throttle); the caller acts for the token's user, and the
// token seals the answers recorded for its idempotency keys, so that an
// answer holding a minted secret replays only to the same token.
func (s *Server) sessionCaller(ctx context.Context, r *http.Request) (handlers.Caller, error) {
	_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	rc, err := s.bearer(ctx, r, strings.TrimSpace(token))
	var oe *oauth.Error
	switch {
	case errors.As(err, &oe) && oe.Status == http.StatusTooManyRequests:
		return handlers.Caller{}, &envelope.Error{Kind: envelope.KindRateLimitExceeded, Message: oe.Description, RetryAfter: oe.RetryAfter}
	case errors.As(err, &oe):
		return handlers.Caller{}, envelope.Errorf(envelope.KindAuthentication,
			"the session token was refused (%s); sign in again at POST /api/oauth/token, or send HTTP Basic credentials", oe.Description)
	case err != nil:
		return handlers.Caller{}, err
	}
	return rc.Caller, nil
}

// respond is the one place where an outcome becomes a response envelope, an
// X-License-Plate header and a log line; it also records the answer of a
// request that holds an idempotency key.
func (s *Server) respond(c echo.Context, start time.Time, o *outcome) {
	h := c.Response().Header()
	var status int
	var body []byte
	if o.replay != nil {
		status, body, o.plate = o.replay.Status, o.replay.Body, o.replay.LicensePlate
		h.Set("Idempotent-Replayed", "true")
	} else {
		var resp *envelope.Response
		status = http.StatusOK
		if o.err != nil {
			perr := s.core.Failure(o.ctx, o.err, o.step, o.plate)
			status = perr.Kind.Status()
			resp = envelope.Failure(o.req, o.plate, perr)
			factsOf(c).exception = perr.Kind.ExceptionName()
			if perr.Kind == envelope.KindAuthentication {
				h.Set("WWW-Authenticate", `Basic realm="scwm-gateway"`)
			}
			retryAfter(c, perr.RetryAfter)
		} else {
			resp = envelope.Success(o.req, o.plate, o.payload, o.warnings)
		}
		status, body = encodeEnvelope(resp, status)
	}
	h.Set("X-License-Plate", o.plate)
	h.Set("Content-Type", "application/json")
	// With its length known, the answer is complete for the client once
	// flushed, before this handler returns.
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Response().WriteHeader(status)
	_, _ = c.Response().Write(body)

	if o.result != nil && o.result.HoldsKey() {
		// The client has its answer before the record is written.
		c.Response().Flush()
		s.core.Finish(o.result, status, body)
	}

	var ev *zerolog.Event
	if status >= 500 {
		ev = s.log.Error()
	} else {
		ev = s.log.Info()
	}
	ev = ev.Str("licensePlate", o.plate).
		Str("eventName", eventNameOf(o.req)).
		Str("ownerId", ownerOf(o.req)).
		Str("apiKey", o.caller.APIKey).
		Int("status", status).
		Str("errCode", errCodeOf(status))
	if o.replay != nil {
		ev = ev.Bool("replayed", true)
	}
	ev.Dur("latency", time.Since(start)).Msg("event")
}

// encodeEnvelope serializes a response; the status changes only if the
// payload cannot be encoded.
func encodeEnvelope(resp *envelope.Response, status int) (int, []byte) {
	body, err := resp.Marshal()
	if err != nil {
		resp = envelope.Failure(nil, resp.Header.LicensePlate, envelope.Errorf(envelope.KindInternal, "response could not be encoded"))
		body, _ = json.Marshal(resp)
		return http.StatusInternalServerError, body
	}
	return status, body
}

// writeEnvelope answers with resp outside the event pipeline (routing
// errors).
func writeEnvelope(c echo.Context, resp *envelope.Response, status int) {
	status, body := encodeEnvelope(resp, status)
	h := c.Response().Header()
	h.Set("X-License-Plate", resp.Header.LicensePlate)
	h.Set("Content-Type", "application/json")
	c.Response().WriteHeader(status)
	_, _ = c.Response().Write(body)
}

func errCodeOf(status int) string {
	if status == http.StatusOK {
		return envelope.OKCode
	}
	return strconv.Itoa(status)
}

func eventNameOf(req *envelope.Request) string {
	if req == nil {
		return ""
	}
	return req.Header.EventName
}

func ownerOf(req *envelope.Request) string {
	if req == nil {
		return ""
	}
	return req.Header.OwnerID
}
