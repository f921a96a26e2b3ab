package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Every failure gets its kind in one place, so every surface answers it
// with the same status: the store's not found and conflict (which the envelope
// API once answered 500), unavailability, protocol errors as they are, and
// anything else as an internal error that names the license plate.
func TestOneKindPerFailure(t *testing.T) {
	t.Parallel()
	g := &Gateway{log: zerolog.Nop(), cfg: Config{RequestTimeout: time.Second}}
	cases := []struct {
		err       error
		kind      envelope.Kind
		status    int
		exception string
	}{
		{fmt.Errorf("find incident: %w", store.ErrNotFound), envelope.KindObjectNotFound, http.StatusNotFound, "ObjectNotFoundException"},
		{fmt.Errorf("write version: %w", store.ErrConflict), envelope.KindConcurrentModification, http.StatusConflict, "ConcurrentModificationException"},
		{fmt.Errorf("next sequence: %w", store.ErrBusy), envelope.KindServiceUnavailable, http.StatusServiceUnavailable, "ServiceUnavailableException"},
		{envelope.Errorf(envelope.KindAuthorization, "no"), envelope.KindAuthorization, http.StatusForbidden, "AuthorizationException"},
		{errors.New("a bug"), envelope.KindInternal, http.StatusInternalServerError, "InternalServerException"},
	}
	for _, c := range cases {
		f := g.Failure(context.Background(), c.err, "", "PLATE")
		if f.Kind != c.kind || f.Kind.Status() != c.status || f.Kind.ExceptionName() != c.exception {
			t.Errorf("%v: kind %v (status %d, %s), want %v (%d, %s)", c.err, f.Kind, f.Kind.Status(), f.Kind.ExceptionName(), c.kind, c.status, c.exception)
		}
	}
	if f := g.Failure(context.Background(), errors.New("a bug"), "", "PLATE"); f.Message != "unexpected error; quote licensePlate PLATE to support" {
		t.Errorf("internal error message %q", f.Message)
	}
}
