package handlers

import (
	"context"
	"errors"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Failure is the one place where an error of the domain or the store gets
// its kind: every surface turns the result into its own wire format (the
// envelope in respond, REST JSON in errorAnswer), so that the same failure
// is the same kind on every surface. ctx is the request's context and step
// what it was doing (for a request whose own deadline passed); plate names
// the request in the log and in the message of an internal error.
func (g *Gateway) Failure(ctx context.Context, err error, step, plate string) *envelope.Error {
	var perr *envelope.Error
	switch {
	case errors.As(err, &perr):
		return perr
	case errors.Is(err, store.ErrNotFound):
		return envelope.Errorf(envelope.KindObjectNotFound, "the object does not exist or is not visible to you")
	case errors.Is(err, store.ErrConflict):
		return envelope.Errorf(envelope.KindConcurrentModification, "the incident changed meanwhile; read it again and retry")
	}
	if u := g.unavailable(ctx, err, step); u != nil {
		g.log.Warn().Err(err).Str("licensePlate", plate).Str("step", step).Msg("unavailable")
		return u
	}
	g.log.Error().Err(err).Str("licensePlate", plate).Msg("internal error")
	if plate == "" {
		return envelope.Errorf(envelope.KindInternal, "unexpected error")
	}
	return envelope.Errorf(envelope.KindInternal, "unexpected error; quote licensePlate %s to support", plate)
}
