//go:build pprofdev

// A build for profiling, never a release: with the build tag pprofdev the
// gateway also serves net/http/pprof on 127.0.0.1:6060, so that a profile
// can be taken while scwm-bench drives it (docs/performance.md, Profiling).

package main

import (
	"net/http"
	_ "net/http/pprof" // registers the profiling handlers on http.DefaultServeMux
)

func init() {
	go func() { _ = http.ListenAndServe("127.0.0.1:6060", nil) }()
}
