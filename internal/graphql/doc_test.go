package graphql_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/graphql"
)

var updateDocs = flag.Bool("update", false, "rewrite the generated docs from the code")

// The part of docs/graphql.md between these markers is the schema the
// gateway builds.
const (
	schemaDocBegin = "<!-- generated from the payload schemas: begin -->\n"
	schemaDocEnd   = "<!-- generated from the payload schemas: end -->\n"
)

// TestSchemaDoc keeps docs/graphql.md's schema in step with the one the
// gateway serves (go test ./internal/graphql -update rewrites it).
func TestSchemaDoc(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	svc, err := graphql.New(h.Gateway, graphql.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "graphql.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	begin, end := strings.Index(text, schemaDocBegin), strings.Index(text, schemaDocEnd)
	if begin < 0 || end < begin {
		t.Fatalf("docs/graphql.md lacks the generated block's markers %q and %q", schemaDocBegin, schemaDocEnd)
	}
	got := text[:begin+len(schemaDocBegin)] + "```graphql\n" + svc.SDL() + "```\n" + text[end:]
	if *updateDocs {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != text {
		t.Fatalf("docs/graphql.md's schema is out of date; run: go test ./internal/graphql -update")
	}
}
