package handlers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The part of docs/lifecycle.md between these markers is generated from
// the kinds table.
const (
	kindsDocBegin = "<!-- generated from handlers/kinds.go: begin -->\n"
	kindsDocEnd   = "<!-- generated from handlers/kinds.go: end -->\n"
)

// renderKinds writes every kind's states, transitions, number, partner
// rule and children as docs/lifecycle.md shows them.
func renderKinds() []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("| kind (processType) | number | states | edit `newBaseState` | close / reopen | shared with | children |\n|---|---|---|---|---|---|---|\n")
	for _, k := range kinds {
		st := []string{k.States.Initial}
		st = append(st, k.States.Edit...)
		if k.States.Closed != "" {
			st = append(st, k.States.Closed)
		}
		if k.States.Removed != "" {
			st = append(st, k.States.Removed)
		}
		edit := "none"
		if len(k.States.Edit) > 0 {
			edit = "`" + strings.Join(k.States.Edit, "`, `") + "`"
		}
		closing := "none"
		if k.States.Closed != "" {
			closing = fmt.Sprintf("close records `%s`; reopen goes to `%s`", k.Conclusion, k.States.Reopened)
		}
		shared := "its company only"
		switch {
		case k.Partner == partnerBySubmission:
			shared = "its partner, once submitted"
		case k.Partner == partnerByVisibility:
			shared = "its partner, while `isVisible` is true"
		case k.SharedWithNetwork:
			shared = "every member of its network (read; change when `isTemplateModifiableByMember`)"
		}
		if k.PartnerCloses {
			shared += "; the partner may close it"
		}
		family := "none"
		switch {
		case k.Child != "":
			family = fmt.Sprintf("`%s` (copied by `%s`)", k.Child, k.CopyChildren)
		case k.Parent != "":
			family = fmt.Sprintf("belongs to a `%s` (`%s`)", k.Parent, k.ParentField)
		}
		w("| %s (`%s`) | `%s<n>` | %s | %s | %s | %s | %s |\n", k.Label, k.Name, k.Number, strings.Join(dedupe(st), ", "), edit, closing, shared, family)
	}
	return b.Bytes()
}

func dedupe(xs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// TestLifecycleKindsDoc keeps docs/lifecycle.md's table of kinds in step
// with the kinds table (go test ./handlers -update rewrites it).
func TestLifecycleKindsDoc(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "docs", "lifecycle.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	begin, end := strings.Index(text, kindsDocBegin), strings.Index(text, kindsDocEnd)
	if begin < 0 || end < begin {
		t.Fatalf("docs/lifecycle.md lacks the generated block's markers %q and %q", kindsDocBegin, kindsDocEnd)
	}
	got := text[:begin+len(kindsDocBegin)] + string(renderKinds()) + text[end:]
	if *UpdateDocs {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != text {
		t.Fatalf("docs/lifecycle.md's table of kinds is out of date with handlers/kinds.go; run: go test ./handlers -update")
	}
}
