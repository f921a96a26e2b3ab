package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/internal/mongotest"
)

// builtBinary is the gateway binary the process tests run, built once for
// the whole package.
var builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// gatewayBinary builds the gateway once per test run and returns its path;
// tests that run it as a process (kill -9, outages) share it.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	b := &builtBinary
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "scwm-gateway-test-bin-")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "scwm-gateway")
		b.out, b.err = exec.Command("go", "build", "-o", b.path, ".").CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build: %v\n%s", b.err, b.out)
	}
	return b.path
}

func TestMain(m *testing.M) {
	code := mongotest.Finish(m.Run())
	if builtBinary.dir != "" {
		os.RemoveAll(builtBinary.dir)
	}
	os.Exit(code)
}
