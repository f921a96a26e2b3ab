package handlers_test

import (
	"testing"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// catalogueEvent returns a copy of the served event named name.
func catalogueEvent(t *testing.T, reg *handlers.Registry, name string) *handlers.Event {
	t.Helper()
	for _, ev := range reg.Events() {
		if ev.Name.String() == name {
			c := *ev
			return &c
		}
	}
	t.Fatalf("%s is not in the catalogue", name)
	return nil
}

// An event that changes incidents must be able to rebuild its answer for a
// retried Idempotency-Key (Recover). Without one it is refused when the
// catalogue is built, rather than taken for a read-only event whose keys are
// ignored, so that a retry could run it twice.
func TestRegistryRefusesAChangingEventWithoutRecover(t *testing.T) {
	t.Parallel()
	reg := gt.Start(t, gt.Options{}).Gateway.Registry()
	edit := catalogueEvent(t, reg, addIncident)
	if _, err := handlers.NewRegistry([]*handlers.Event{edit}); err != nil {
		t.Fatalf("the event as served: %v", err)
	}
	edit.Recover = nil
	if _, err := handlers.NewRegistry([]*handlers.Event{edit}); err == nil {
		t.Fatal("a changing event without Recover was accepted")
	}
}

// A read-only event has no answer to rebuild: one with a Recover is a
// catalogue mistake, refused too.
func TestRegistryRefusesAReadOnlyEventWithRecover(t *testing.T) {
	t.Parallel()
	reg := gt.Start(t, gt.Options{}).Gateway.Registry()
	read := catalogueEvent(t, reg, readIncident)
	if !read.ReadOnly {
		t.Fatalf("%s is not read-only", readIncident)
	}
	read.Recover = func(*store.Effect) (any, []string) { return nil, nil }
	if _, err := handlers.NewRegistry([]*handlers.Event{read}); err == nil {
		t.Fatal("a read-only event with Recover was accepted")
	}
}
