package main

import (
	"os/exec"
	"strings"
	"testing"
)

// FerretDB is test-only: no package of the gateway but this command
// depends on it, so the gateway's binaries do not contain it.
func TestNoGatewayPackageDependsOnFerretDB(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "github.com/scwm-gateway/scwm-gateway/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		if pkg == "github.com/scwm-gateway/scwm-gateway/internal/ferretserver" {
			continue
		}
		checked++
		for _, d := range strings.Fields(deps) {
			if strings.HasPrefix(d, "github.com/FerretDB/") {
				t.Errorf("%s depends on %s", pkg, d)
				break
			}
		}
	}
	if checked == 0 {
		t.Fatal("go list named no package")
	}
}
