package main

import (
	"context"
	"slices"
	"time"
)

// turn is one server's part of a phase: the load it gets (its workers and
// the mix) and what its slices have measured so far. A phase cut into
// rounds runs every server's slice of a round before the next round, so
// that a change of the machine's speed meanwhile (another process, a
// hypervisor taking the cores) falls on all of them alike, instead of on
// whichever server had the whole phase at that moment.
type turn struct {
	label   string // for progress lines: "gateway new", "the no-op server"
	name    string // the phase's name in the report
	workers []*worker
	m       mix
	pid     int
	// done receives the turn's report once every round has run.
	done func(*phaseReport)

	prefilled bool
	recs      []*recorder
	window    time.Duration
	// serverCPU and benchCPU are core-seconds over the windows; serverCPU
	// is unknown (serverMissing) if any slice could not read it.
	serverCPU, benchCPU float64
	serverMissing       bool
}

// measure runs one slice of the turn: warmup, then the measured duration,
// adding its requests, window and CPU to the turn's.
func (t *turn) measure(ctx context.Context, warmup, duration time.Duration) {
	if !t.prefilled {
		t.recs = append(t.recs, prefill(ctx, t.workers, t.m)...)
		t.prefilled = true
	}
	recs, window, cpu := runLoad(ctx, len(t.workers), warmup, duration, t.pid,
		func(ctx context.Context, i int) outcome { return t.workers[i].step(ctx, t.m) })
	t.add(recs, window, cpu)
}

// add counts one slice's requests, window and CPU use in the turn's.
func (t *turn) add(recs []*recorder, window time.Duration, cpu cpuUse) {
	t.recs = append(t.recs, recs...)
	t.window += window
	t.benchCPU += cpu.bench * window.Seconds()
	if cpu.server == nil {
		t.serverMissing = true
	} else {
		t.serverCPU += *cpu.server * window.Seconds()
	}
}

// report is the turn's figures over all its slices: requests of every
// window, their summed length, and CPU use averaged over them.
func (t *turn) report() *phaseReport {
	var cpu cpuUse
	if t.window > 0 {
		cpu.bench = t.benchCPU / t.window.Seconds()
		if !t.serverMissing {
			v := t.serverCPU / t.window.Seconds()
			cpu.server = &v
		}
	}
	var phaseKinds []string
	for _, k := range kinds {
		if t.m.weight(k) > 0 {
			phaseKinds = append(phaseKinds, k)
		}
	}
	ph := phaseOf(t.m.name(), t.recs, max(t.window, time.Millisecond), cpu, phaseKinds)
	ph.Name = t.name
	ph.Mix = t.m.String()
	return ph
}

// turnOrder is the order of the servers in round r: as given in even
// rounds, reversed in odd ones (A B, B A, A B, ...), so that over an even
// number of rounds each server has as many early slices as late ones.
func turnOrder(turns []*turn, r int) []*turn {
	order := slices.Clone(turns)
	if r%2 == 1 {
		slices.Reverse(order)
	}
	return order
}

// runTurns runs one phase on every turn, its measured duration cut into
// rounds: the first slice of each turn warms up for warmup, the later ones
// for warmup/rounds (the clients and their connections stay warm; the
// server's queues refill). Each turn's report goes to its done.
func runTurns(ctx context.Context, turns []*turn, warmup, duration time.Duration, rounds int, progress func(string, ...any)) {
	slice := duration / time.Duration(rounds)
	for r := range rounds {
		for _, t := range turnOrder(turns, r) {
			if ctx.Err() != nil {
				break
			}
			warm := warmup
			if r > 0 {
				warm = warmup / time.Duration(rounds)
			}
			progress("%s, phase %s (%s), round %d of %d: warmup %v, measuring %v, %d clients", t.label, t.name, t.m.String(), r+1, rounds, warm, slice, len(t.workers))
			t.measure(ctx, warm, slice)
		}
	}
	for _, t := range turns {
		ph := t.report()
		progress("%s, phase %s: %.1f req/s, %d errors", t.label, ph.Name, ph.Throughput, ph.Errors)
		t.done(ph)
	}
}
