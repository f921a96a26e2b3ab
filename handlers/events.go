package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// networkScopedApps are the apps whose events name a processNetworkId.
var networkScopedApps = []string{appAPT}

// handleEvent is POST /api/events: every SCWM event goes through here.
func (g *Gateway) handleEvent(c echo.Context) error {
	start := time.Now()
	plate := envelope.NewLicensePlate()
	r := c.Request()
	if r.Method != http.MethodPost {
		c.Response().Header().Set("Allow", http.MethodPost)
		err := envelope.Errorf(envelope.KindMethodNotAllowed, "method %s is not allowed on /api/events; send events with POST", r.Method)
		g.respond(c, start, plate, nil, Caller{}, nil, nil, err)
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
	defer cancel()

	var (
		req      *envelope.Request
		caller   Caller
		payload  any
		warnings []string
		err      error
	)
	func() {
		defer func() {
			if p := recover(); p != nil {
				g.log.Error().Str("licensePlate", plate).Interface("panic", p).Msg("handler panicked")
				err = errors.New("handler panicked")
			}
		}()
		req, caller, payload, warnings, err = g.process(ctx, c, plate)
	}()
	g.respond(c, start, plate, req, caller, payload, warnings, err)
	return nil
}

// process runs the pipeline of one event: media type, size, envelope,
// authentication, header, event lookup, authorization, schema, handler.
func (g *Gateway) process(ctx context.Context, c echo.Context, plate string) (*envelope.Request, Caller, any, []string, error) {
	r := c.Request()
	if err := checkMediaType(r.Header.Get("Content-Type")); err != nil {
		return nil, Caller{}, nil, nil, err
	}
	body, err := g.readBody(c)
	if err != nil {
		return nil, Caller{}, nil, nil, err
	}
	req, err := envelope.ParseRequest(body)
	if err != nil {
		return req, Caller{}, nil, nil, err
	}
	caller, err := g.authenticate(ctx, r)
	if err != nil {
		return req, Caller{}, nil, nil, err
	}
	if err := req.Validate(envelope.HeaderRules{Dataspaces: g.cfg.Dataspaces, NetworkScopedApps: networkScopedApps}); err != nil {
		return req, caller, nil, nil, err
	}
	ev, eerr := g.registry.Lookup(req.Event)
	if eerr != nil {
		return req, caller, nil, nil, eerr
	}
	if err := g.authorize(req, caller); err != nil {
		return req, caller, nil, nil, err
	}
	warnings, eerr := ev.schema.check(req.Payload)
	if eerr != nil {
		return req, caller, nil, nil, eerr
	}
	call := &Call{Request: req, Payload: req.Payload, Caller: caller, LicensePlate: plate, Now: time.Now(), Warnings: warnings}
	out, err := ev.Handle(ctx, call)
	return req, caller, out, call.Warnings, err
}

func checkMediaType(contentType string) error {
	if contentType == "" {
		return envelope.Errorf(envelope.KindUnsupportedMediaType, "Content-Type is missing; send the envelope as application/json")
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return envelope.Errorf(envelope.KindUnsupportedMediaType, "Content-Type %q is not supported; send the envelope as application/json", contentType)
	}
	return nil
}

func (g *Gateway) readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	tooLarge := envelope.Errorf(envelope.KindPayloadTooLarge, "the body is larger than the limit of %d bytes", g.cfg.BodyLimit)
	if r.ContentLength > g.cfg.BodyLimit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response().Writer, r.Body, g.cfg.BodyLimit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, envelope.Errorf(envelope.KindMalformedEnvelope, "the body could not be read: %v", err)
	}
	return body, nil
}

// authenticate checks the HTTP Basic apiKey:apiSecret against the directory.
func (g *Gateway) authenticate(ctx context.Context, r *http.Request) (Caller, error) {
	if r.Header.Get("Authorization") == "" {
		return Caller{}, envelope.Errorf(envelope.KindAuthentication,
			"the Authorization header is missing; send HTTP Basic credentials: base64 of apiKey:apiSecret")
	}
	key, secret, ok := r.BasicAuth()
	if !ok || key == "" {
		return Caller{}, envelope.Errorf(envelope.KindAuthentication,
			"the Authorization header is not valid HTTP Basic; send 'Basic ' and base64 of apiKey:apiSecret")
	}
	client, ok, err := g.dir.Authenticate(ctx, key, secret)
	if err != nil {
		return Caller{}, err
	}
	if !ok {
		return Caller{}, envelope.Errorf(envelope.KindAuthentication, "unknown apiKey or wrong apiSecret")
	}
	return Caller{APIKey: client.APIKey, CompanyID: client.CompanyID, UserID: client.UserID}, nil
}

// authorize checks that the caller may act as header.ownerId and, for
// network-scoped events, that the company belongs to the named network.
func (g *Gateway) authorize(req *envelope.Request, caller Caller) error {
	h := req.Header
	if req.Event.App == appAuth && h.OwnerID == zeroUUID {
		return nil // "my own company"
	}
	if h.OwnerID != caller.CompanyID {
		return envelope.Errorf(envelope.KindAuthorization,
			"this API client acts for company %q and may not act as ownerId %q", caller.CompanyID, h.OwnerID)
	}
	if h.ProcessNetworkID != "" && !g.dir.IsMember(h.ProcessNetworkID, caller.CompanyID) {
		return envelope.Errorf(envelope.KindAuthorization,
			"company %q is not a member of processNetworkId %q", caller.CompanyID, h.ProcessNetworkID)
	}
	return nil
}

// respond is the one place where an outcome becomes a response envelope, an
// X-License-Plate header and a log line.
func (g *Gateway) respond(c echo.Context, start time.Time, plate string, req *envelope.Request, caller Caller, payload any, warnings []string, err error) {
	var resp *envelope.Response
	status := http.StatusOK
	if err != nil {
		perr := g.protocolError(err, plate)
		status = perr.Kind.Status()
		resp = envelope.Failure(req, plate, perr)
		h := c.Response().Header()
		switch perr.Kind {
		case envelope.KindAuthentication:
			h.Set("WWW-Authenticate", `Basic realm="scwm-gateway"`)
		}
		if perr.RetryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(int((perr.RetryAfter+time.Second-1)/time.Second)))
		}
	} else {
		resp = envelope.Success(req, plate, payload, warnings)
	}
	writeEnvelope(c, resp, status)

	var ev *zerolog.Event
	if status >= 500 {
		ev = g.log.Error()
	} else {
		ev = g.log.Info()
	}
	ev.Str("licensePlate", plate).
		Str("eventName", eventNameOf(req)).
		Str("ownerId", ownerOf(req)).
		Str("apiKey", caller.APIKey).
		Int("status", status).
		Str("errCode", resp.Header.ErrCode).
		Dur("latency", time.Since(start)).
		Msg("event")
}

// protocolError maps any error onto the protocol: envelope errors pass
// through, store faults become 404 or 503, anything else a 500 whose detail
// stays in the log.
func (g *Gateway) protocolError(err error, plate string) *envelope.Error {
	var perr *envelope.Error
	switch {
	case errors.As(err, &perr):
		return perr
	case errors.Is(err, store.ErrNotFound):
		return envelope.Errorf(envelope.KindObjectNotFound, "the object does not exist or is not visible to you")
	case store.IsUnavailable(err), errors.Is(err, context.DeadlineExceeded):
		g.log.Warn().Err(err).Str("licensePlate", plate).Msg("store unavailable")
		return &envelope.Error{Kind: envelope.KindServiceUnavailable,
			Message: "the store is unavailable; retry later", RetryAfter: time.Second}
	}
	g.log.Error().Err(err).Str("licensePlate", plate).Msg("internal error")
	return envelope.Errorf(envelope.KindInternal, "unexpected error; quote licensePlate %s to support", plate)
}

func writeEnvelope(c echo.Context, resp *envelope.Response, status int) {
	body, err := json.Marshal(resp)
	if err != nil {
		resp = envelope.Failure(nil, resp.Header.LicensePlate, envelope.Errorf(envelope.KindInternal, "response could not be encoded"))
		status = http.StatusInternalServerError
		body, _ = json.Marshal(resp)
	}
	h := c.Response().Header()
	h.Set("X-License-Plate", resp.Header.LicensePlate)
	h.Set("Content-Type", "application/json")
	c.Response().WriteHeader(status)
	_, _ = c.Response().Write(body)
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
