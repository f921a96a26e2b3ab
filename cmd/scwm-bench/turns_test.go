package main

import (
	"slices"
	"testing"
	"time"
)

// The servers of a phase take turns A B C, C B A, A B C, ...
func TestTurnOrderAlternates(t *testing.T) {
	t.Parallel()
	a, b, c := &turn{name: "a"}, &turn{name: "b"}, &turn{name: "c"}
	var got []string
	for r := range 4 {
		for _, x := range turnOrder([]*turn{a, b, c}, r) {
			got = append(got, x.name)
		}
	}
	want := []string{"a", "b", "c", "c", "b", "a", "a", "b", "c", "c", "b", "a"}
	if !slices.Equal(got, want) {
		t.Fatalf("turns %v, want %v", got, want)
	}
}

// A turn's report covers all its slices: every request, the windows'
// summed length, CPU averaged over them, and no server CPU figure when a
// slice could not read it.
func TestATurnSumsItsSlices(t *testing.T) {
	t.Parallel()
	slice := func(n int, lat time.Duration) []*recorder {
		r := newRecorder()
		for range n {
			r.lat["add"] = append(r.lat["add"], lat)
		}
		return []*recorder{r}
	}
	cores := func(v float64) *float64 { return &v }

	tr := &turn{name: "add-only", m: mix{add: 100}}
	tr.add(slice(300, time.Millisecond), time.Second, cpuUse{server: cores(1.0), bench: 0.5})
	tr.add(slice(100, 3*time.Millisecond), time.Second, cpuUse{server: cores(0.5), bench: 0.25})
	ph := tr.report()
	if ph.Name != "add-only" || ph.OK != 400 || ph.WindowS != 2 || ph.Throughput != 200 {
		t.Fatalf("report %s: %d requests over %v s, %.1f req/s; want add-only, 400 over 2 s, 200 req/s", ph.Name, ph.OK, ph.WindowS, ph.Throughput)
	}
	if ph.MaxMs != 3 || ph.P50Ms != 1 {
		t.Fatalf("p50 %v ms, max %v ms; want 1 and 3", ph.P50Ms, ph.MaxMs)
	}
	if ph.ServerCPU == nil || *ph.ServerCPU != 0.75 || ph.BenchCPU != 0.375 {
		t.Fatalf("CPU: server %v, bench %v; want 0.75 and 0.375 cores", ph.ServerCPU, ph.BenchCPU)
	}

	tr = &turn{name: "add-only", m: mix{add: 100}}
	tr.add(slice(10, time.Millisecond), time.Second, cpuUse{server: cores(1.0)})
	tr.add(slice(10, time.Millisecond), time.Second, cpuUse{})
	tr.add(slice(10, time.Millisecond), time.Second, cpuUse{server: cores(1.0)})
	if ph := tr.report(); ph.ServerCPU != nil {
		t.Fatalf("server CPU %v after a slice that could not read it; want none", *ph.ServerCPU)
	}
}
