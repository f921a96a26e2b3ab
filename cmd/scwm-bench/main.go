// Command scwm-bench measures scwm-gateway binaries over HTTP, the way
// clients use them, in one run on one machine. See docs/performance.md and
// docs/performance-store.md.
//
//	go run ./cmd/scwm-bench [flags]               the load phases (--phases)
//	go run ./cmd/scwm-bench long-incident|big-store|crash-retry|expiry [flags]
//
// The load phases drive each gateway with N concurrent clients (add, keyed
// add, edit, read, a mix), and the same loads against a no-op server on
// the gateway's HTTP stack (the ceiling), and, where the binary still has
// it, a plain-insert baseline of its store. The scenarios each measure one
// target of issue 12 (the store): a long incident, a big store, a retry
// after a crash, the expiry of many keys. With --compare-bin every phase
// and scenario runs on a second binary in the same run.
//
// It is a tool of its own, not part of the gateway's binary: it starts the
// scwm-gateway binary (--gateway-bin, or built from this checkout) as
// `serve` on fresh data directories, seeded through a seed file, and
// removes everything at the end. It runs its no-op server as a child
// process of its own binary (the hidden `noop-server` command).
//
// The code is split by job: config.go (the phases' flags), load.go (the
// load and its statistics), workload.go (the load's requests), client.go
// (single requests of the scenarios), noop.go (the ceiling's server),
// baseline.go (the plain-insert baseline), gateway.go and supervise.go (the
// child processes), fill.go and ndjson.go (filling a store), proc.go
// (/proc), report.go and verdict.go (tables, targets, JSON), scenario.go
// and one file per scenario.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "scwm-bench:", err)
		}
		os.Exit(1)
	}
}
