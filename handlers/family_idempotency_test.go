package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// taskDyingStore fails the insert of the next task as if the network
// dropped before the store answered, after its sub-tasks went in: the real
// store cannot be made to fail exactly between two inserts of one request,
// so the fault is injected here.
type taskDyingStore struct {
	handlers.Store
	mu       sync.Mutex
	failTask bool
	children []string // sub-tasks inserted
}

func (s *taskDyingStore) InsertIncident(ctx context.Context, inc *store.Incident) error {
	s.mu.Lock()
	fail := s.failTask && inc.ProcessType == "task"
	if fail {
		s.failTask = false
	}
	if inc.ProcessType == "subTask" {
		s.children = append(s.children, inc.ID)
	}
	s.mu.Unlock()
	if fail {
		return fmt.Errorf("insert incident: %w", context.DeadlineExceeded)
	}
	return s.Store.InsertIncident(ctx, inc)
}

// A task made from a template whose request died after its sub-tasks were
// stored and before the task was: the sub-tasks belong to nothing anyone
// can see, and the retry with the same Idempotency-Key finds no effect
// (the task, inserted last, is not in), runs again and makes the task
// with its sub-tasks once.
func TestFamilyCreatedHalfWayRunsAgain(t *testing.T) {
	t.Parallel()
	ds := &taskDyingStore{}
	h := gt.Start(t, gt.Options{WrapStore: func(s handlers.Store) handlers.Store { ds.Store = s; return ds }})
	tmpl := created(t, h, gt.Acme, apt+"add-task-template:v1", map[string]any{"templateName": "two steps"})
	for _, n := range []string{"one", "two"} {
		created(t, h, gt.Acme, apt+"add-sub-task-to-template:v2", map[string]any{"templateId": tmpl, "subTaskName": n})
	}
	ds.mu.Lock()
	ds.failTask = true
	ds.mu.Unlock()
	body := gt.Envelope(gt.Acme, apt+"add-task:v2", map[string]any{"templateId": tmpl, "aptBusinessObjectSummary": "from the template"})
	first := h.Post(t, body, gt.Basic(gt.Acme), withKey("family")).MustFail(t, http.StatusServiceUnavailable, "ServiceUnavailableException")
	ds.mu.Lock()
	orphans := append([]string(nil), ds.children...)
	ds.mu.Unlock()
	if len(orphans) != 2 {
		t.Fatalf("%d sub-tasks went in before the task, want 2", len(orphans))
	}
	for _, id := range orphans {
		h.Send(t, gt.Acme, apt+"read-subTask:v1", map[string]any{"id": id}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
	}
	again := h.Post(t, body, gt.Basic(gt.Acme), withKey("family")).MustOK(t)
	if again.Header.LicensePlate != first.Header.LicensePlate {
		t.Fatalf("the retry ran under plate %s, the first request had %s", again.Header.LicensePlate, first.Header.LicensePlate)
	}
	var task struct{ ID string }
	again.Decode(t, &task)
	var list struct {
		SubTasks []object `json:"subTasks"`
	}
	h.Send(t, gt.Acme, apt+"list-sub-task-for-task:v1", map[string]any{"id": task.ID}).MustOK(t).Decode(t, &list)
	if len(list.SubTasks) != 2 {
		t.Fatalf("the task made by the retry has %d sub-tasks, want 2", len(list.SubTasks))
	}
	for _, s := range list.SubTasks {
		for _, o := range orphans {
			if s.ID == o {
				t.Fatalf("the task lists a sub-task of the dead request: %s", o)
			}
		}
	}
}

// A task made with its sub-tasks whose answer was never recorded: the
// retry finds the request's effect by its plate (which may be one of the
// sub-tasks' history entries) and answers with the task's id.
func TestFamilyRetryAfterACrashAnswersTheTask(t *testing.T) {
	t.Parallel()
	cs := &crashingStore{}
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Clock: clock, Config: handlers.Config{RequestTimeout: 2 * time.Second},
		WrapStore: func(s handlers.Store) handlers.Store { cs.Store = s; return cs }})
	tmpl := created(t, h, gt.Acme, apt+"add-task-template:v1", map[string]any{"templateName": "steps"})
	for _, n := range []string{"one", "two", "three"} {
		created(t, h, gt.Acme, apt+"add-sub-task-to-template:v2", map[string]any{"templateId": tmpl, "subTaskName": n})
	}
	crashed := cs.crashAfterAnswer()
	body := gt.Envelope(gt.Acme, apt+"add-task:v2", map[string]any{"templateId": tmpl, "aptBusinessObjectSummary": "crash"})
	first := h.Post(t, body, gt.Basic(gt.Acme), withKey("family-crash")).MustOK(t)
	crashed()
	clock.Advance(4*time.Second + time.Millisecond)
	again := h.Post(t, body, gt.Basic(gt.Acme), withKey("family-crash")).MustOK(t)
	var a, b struct{ ID string }
	first.Decode(t, &a)
	again.Decode(t, &b)
	if a.ID != b.ID {
		t.Fatalf("the retry answered %s, the first answer was %s", again.Body, first.Body)
	}
	if rec := readObject(t, h, gt.Acme, apt+"read-task:v3", b.ID); rec.ObjectType != apt+"task" {
		t.Fatalf("the rebuilt answer names a %s", rec.ObjectType)
	}
}
