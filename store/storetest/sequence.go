package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func testSequence(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	next := func(dataspace, owner, name string, want int64) {
		t.Helper()
		n, err := st.NextSequence(ctx, dataspace, owner, name)
		must(t, err, "NextSequence")
		if n != want {
			t.Errorf("NextSequence(%q, %q, %q) = %d, want %d", dataspace, owner, name, n, want)
		}
	}
	for want := int64(1); want <= 5; want++ {
		next("default", "acme", "incident", want)
	}
	// Each part of the key makes a counter of its own.
	next("default", "acme", "supplierIncident", 1)
	next("default", "globex", "incident", 1)
	next("staging", "acme", "incident", 1)
	// Parts that would run together if joined.
	next("default", "acme incident", "", 1)
	next("default", "acme", "incident", 6)
	next("default", "globex", "incident", 2)
}

func testSequenceConcurrent(t *testing.T, s *suite) {
	st := s.fresh(t)
	const goroutines, each = 8, 25
	got, errs := drawConcurrently(t, []Store{st}, goroutines, each)
	if len(errs) > 0 {
		t.Fatalf("NextSequence: %s", describeErrs(errs))
	}
	// One handle hands out its reserved numbers before it reserves more,
	// so the numbers are exactly 1..n.
	for i, n := range got {
		if n != int64(i+1) {
			t.Fatalf("%d concurrent draws gave %v, want 1..%d each once", len(got), got, len(got))
		}
	}
}

// drawConcurrently draws each numbers of one counter in each of
// goroutines goroutines per store, and returns them sorted.
func drawConcurrently(t *testing.T, stores []Store, goroutines, each int) ([]int64, []error) {
	var mu sync.Mutex
	var got []int64
	var errs []error
	race(len(stores)*goroutines, func(i int) {
		st := stores[i%len(stores)]
		for range each {
			n, err := st.NextSequence(t.Context(), "default", "acme", "incident")
			mu.Lock()
			if err != nil {
				errs = append(errs, err)
			} else {
				got = append(got, n)
			}
			mu.Unlock()
		}
	})
	slices.Sort(got)
	return got, errs
}

// repeated lists the numbers that occur more than once in sorted.
func repeated(sorted []int64) []int64 {
	var out []int64
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] && (len(out) == 0 || out[len(out)-1] != sorted[i]) {
			out = append(out, sorted[i])
		}
	}
	return out
}

func testSecondHandleSequence(t *testing.T, s *suite) {
	open := s.dataset(t)
	ctx := t.Context()
	if s.opts.Simultaneous {
		got, errs := drawConcurrently(t, []Store{open(), open()}, 4, 25)
		if len(errs) > 0 {
			t.Fatalf("NextSequence: %s", describeErrs(errs))
		}
		if r := repeated(got); len(r) > 0 {
			t.Errorf("two handles drawing at once both got %v", r)
		}
		if len(got) > 0 && got[0] < 1 {
			t.Errorf("numbers start at %d, want 1 or more", got[0])
		}
		return
	}
	// One handle after another, as restarts: a number drawn before a
	// restart is never drawn after it, even if the handle had reserved
	// more than it handed out.
	var all []int64
	for h := range 3 {
		st := open()
		var drawn []int64
		for range 10 {
			n, err := st.NextSequence(ctx, "default", "acme", "incident")
			must(t, err, fmt.Sprintf("NextSequence on handle %d", h+1))
			drawn = append(drawn, n)
		}
		must(t, st.Close(ctx), "Close")
		if len(all) > 0 && drawn[0] <= slices.Max(all) {
			t.Errorf("handle %d drew %v after earlier handles drew up to %d", h+1, drawn, slices.Max(all))
		}
		all = append(all, drawn...)
	}
	slices.Sort(all)
	if r := repeated(all); len(r) > 0 {
		t.Errorf("numbers drawn twice across handles: %v", r)
	}
}
