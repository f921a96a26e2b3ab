package main

import "runtime/debug"

// Garbage collector settings of the long-running commands, unless the
// operator set GOGC or GOMEMLIMIT.
const (
	// gcPercent lets the heap grow to five times its live size between
	// collections: the gateway's live heap is small (tens of MiB) and most
	// of what it allocates per request dies at once, so the default of 100
	// spends a large share of the CPU collecting (docs/performance.md has
	// the measurement).
	gcPercent = 400
	// gcMemoryLimit is a soft limit that makes the collector run more often
	// as the heap approaches it, so the higher percentage cannot grow the
	// process without bound.
	gcMemoryLimit = 192 << 20
)

// tuneGC applies gcPercent and gcMemoryLimit where the environment does not
// say otherwise.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(gcMemoryLimit)
	}
}
