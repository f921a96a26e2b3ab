package handlers_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// 50 concurrent edits of different fields of one incident: every one of
// them is kept and dataVersion rises by exactly 50, with one history entry
// each, numbered without gaps. Without per-change atomicity (the embedded
// store loses concurrent updates of one document) this fails.
func TestConcurrentEditsLoseNothing(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "hot incident"})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			field := fmt.Sprintf("field%02d", i)
			r := h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, field: i})
			if r.Status != 200 {
				errs <- string(r.Body)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("edit failed: %s", e)
	}
	rec := readOne(t, h, gt.Acme, id)
	for i := 0; i < n; i++ {
		if got := rec.Data[fmt.Sprintf("field%02d", i)]; got != float64(i) {
			t.Errorf("field%02d = %v: an edit was lost", i, got)
		}
	}
	if rec.DataVersion != 1+n {
		t.Fatalf("dataVersion %d after %d edits, want %d", rec.DataVersion, n, 1+n)
	}
	var hist struct {
		Activities []struct {
			DataVersion int `json:"dataVersion"`
		} `json:"activities"`
	}
	h.Send(t, gt.Acme, history, map[string]any{"id": id, "processType": "incident"}).MustOK(t).Decode(t, &hist)
	if len(hist.Activities) != 1+n {
		t.Fatalf("%d history entries, want %d", len(hist.Activities), 1+n)
	}
	for i, a := range hist.Activities {
		if a.DataVersion != i+1 {
			t.Fatalf("history entry %d has dataVersion %d", i, a.DataVersion)
		}
	}
}

// racedStore writes a competing version of an incident just before the
// gateway's own write, as another gateway sharing the store would: one
// process cannot be made to interleave that way on its own.
type racedStore struct {
	handlers.Store
	once sync.Once
}

func (s *racedStore) WriteChange(ctx context.Context, ch store.Change) error {
	next := ch.Incident
	s.once.Do(func() {
		other := *next
		other.Data = map[string]any{}
		for k, v := range next.Data {
			other.Data[k] = v
		}
		delete(other.Data, "mine")
		other.Data["theirs"] = "written by another gateway"
		if err := s.Store.WriteChange(ctx, store.Change{Incident: &other, Activity: store.Activity{LicensePlate: "elsewhere", DataVersion: other.DataVersion}}); err != nil {
			panic(err)
		}
	})
	return s.Store.WriteChange(ctx, ch)
}

// A change whose version another gateway wrote first is planned again from
// that version: both changes are kept, each once, in the history in order.
func TestChangeIsPlannedAgainWhenAnotherGatewayWroteFirst(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{WrapStore: func(s handlers.Store) handlers.Store { return &racedStore{Store: s} }})
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "raced"})
	var out struct {
		DataVersion int `json:"dataVersion"`
	}
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "mine": "this request"}).MustOK(t).Decode(t, &out)
	rec := readOne(t, h, gt.Acme, id)
	if out.DataVersion != 3 || rec.DataVersion != 3 || rec.Data["mine"] != "this request" || rec.Data["theirs"] != "written by another gateway" {
		t.Fatalf("answered dataVersion %d; stored %d with data %v", out.DataVersion, rec.DataVersion, rec.Data)
	}
	var hist struct {
		Activities []struct {
			LicensePlate string `json:"licensePlate"`
			DataVersion  int    `json:"dataVersion"`
		} `json:"activities"`
	}
	h.Send(t, gt.Acme, history, map[string]any{"id": id, "processType": "incident"}).MustOK(t).Decode(t, &hist)
	if len(hist.Activities) != 3 || hist.Activities[1].LicensePlate != "elsewhere" || hist.Activities[2].DataVersion != 3 {
		t.Fatalf("history %+v", hist.Activities)
	}
}
