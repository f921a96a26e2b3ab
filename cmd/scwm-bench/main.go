// Command scwm-bench measures the gateway: its throughput and latency under N
// concurrent clients, and, as the baseline, the same store doing one plain
// InsertOne per request, in one run on one machine. See docs/performance.md.
//
//	go run ./cmd/scwm-bench [flags]
//
// It is a tool of its own, not part of the gateway's binary: it drives the
// gateway over HTTP only, the way a client does. Without --url it starts the
// scwm-gateway binary (--gateway-bin, or built from this checkout) as
// `serve` on a fresh embedded store, seeded through a seed file, and as
// `embedded-store` for the baseline, and removes everything at the end.
//
// The code is split by job: config.go (flags), load.go (the load and its
// statistics), workload.go (the gateway's requests), baseline.go (the
// plain-insert baseline), supervise.go (the child processes), proc.go
// (/proc), report.go (the table and the JSON).
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
