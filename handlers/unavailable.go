package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Retry-After of the answers of unavailability: a busy or unreachable
// store usually passes within a second; a full disk needs someone to act.
const (
	retryAfterBusy = time.Second
	retryAfterFull = 30 * time.Second
)

// unavailable turns err into the answer of a request that could not be
// served now but may be later (503 with Retry-After), or nil when err is
// something else. ctx is the request's own context and step what the
// request was doing: when the request's deadline passed, the answer says
// that the request timeout ran out and during which step, whatever the
// error that followed; otherwise an unavailable store says why.
func (g *Gateway) unavailable(ctx context.Context, err error, step string) *envelope.Error {
	if err == nil {
		return nil
	}
	timedOut := errors.Is(err, context.DeadlineExceeded) || store.IsUnavailable(err)
	if timedOut && ctx != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if step == "" {
			step = "handling the request"
		}
		return &envelope.Error{Kind: envelope.KindServiceUnavailable, RetryAfter: retryAfterBusy,
			Message: fmt.Sprintf("the request did not finish within the request timeout of %s: it ran out while %s; retry after the Retry-After seconds", g.cfg.RequestTimeout, step)}
	}
	if reason := store.UnavailableReason(err); reason != "" {
		wait := retryAfterBusy
		if errors.Is(err, store.ErrDiskFull) || reason == store.ErrDiskFull.Error() {
			wait = retryAfterFull
		}
		return &envelope.Error{Kind: envelope.KindServiceUnavailable, RetryAfter: wait,
			Message: reason + "; retry after the Retry-After seconds"}
	}
	return nil
}
