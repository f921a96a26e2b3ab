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

// Every failure gets its kind in one place, so both surfaces answer it with
// the same status: the store's not found and conflict (which the envelope
// API once answered 500), unavailability, protocol errors as they are, and
// anything else as an internal error that names the license plate.
func TestOneKindPerFailure(t *testing.T) {
	t.Parallel()
	g := &Gateway{log: zerolog.Nop(), cfg: Config{RequestTimeout: time.Second}}
	cases := []struct {
		err    error
		kind   envelope.Kind
		status int
		code   string
	}{
		{fmt.Errorf("find incident: %w", store.ErrNotFound), envelope.KindObjectNotFound, http.StatusNotFound, "ObjectNotFoundException"},
		{fmt.Errorf("write version: %w", store.ErrConflict), envelope.KindConcurrentModification, http.StatusConflict, "ConcurrentModificationException"},
		{fmt.Errorf("next sequence: %w", store.ErrBusy), envelope.KindServiceUnavailable, http.StatusServiceUnavailable, "temporarily_unavailable"},
		{envelope.Errorf(envelope.KindAuthorization, "no"), envelope.KindAuthorization, http.StatusForbidden, "AuthorizationException"},
		{errors.New("a bug"), envelope.KindInternal, http.StatusInternalServerError, "server_error"},
	}
	for _, c := range cases {
		f := g.failure(context.Background(), c.err, "", "PLATE")
		if f.Kind != c.kind || f.Kind.Status() != c.status || restErrorCode(f.Kind) != c.code {
			t.Errorf("%v: kind %v (status %d, REST code %s), want %v (%d, %s)", c.err, f.Kind, f.Kind.Status(), restErrorCode(f.Kind), c.kind, c.status, c.code)
		}
	}
	if f := g.failure(context.Background(), errors.New("a bug"), "", "PLATE"); f.Message != "unexpected error; quote licensePlate PLATE to support" {
		t.Errorf("internal error message %q", f.Message)
	}
}
