package handlers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/copy-groups.md is generated from copyGroups and processTypes; this
// test fails when they disagree (go test ./handlers -update rewrites it).
func TestCopyGroupsDoc(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Copy groups\n\n")
	w("Generated from `copyGroups` in `handlers/copy.go` by `go test ./handlers -update`; a test fails when this\n")
	w("file and the code disagree.\n\n")
	w("A copy event creates a new incident of the same process type, in state `New`, with the payload's\n")
	w("`aptBusinessObjectSummary` and, for each `copy*` flag that is `true`, the fields of that group the source has.\n")
	w("A flag that is absent or `false` copies nothing. Fields the copy payload itself sends (other than the flags)\n")
	w("win over the source, and `isSubmittedToPartner: true` submits the copy as part of its creation.\n\n")
	w("Never copied: comments, the activity history, the `*Response` object and the response flags, the\n")
	w("conclusion, the submission, followers, `aptEscalationReportBox`, and fields no group names (unknown fields).\n")
	w("The new incident's first history entry names its source (`detail.copiedFrom`) and the groups copied.\n")
	for _, pt := range processTypes {
		w("\n## %s (`copy-%s:v%d`)\n\n| flag | fields copied |\n|---|---|\n", pt.Name, pt.Noun, pt.Copy)
		for _, cg := range copyGroups {
			fields := cg.fields(pt)
			w("| `%s` | `%s` |\n", cg.Flag, strings.Join(fields, "`, `"))
		}
	}
	path := filepath.Join("..", "docs", "copy-groups.md")
	if *UpdateDocs {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(want, b.Bytes()) {
		t.Fatalf("docs/copy-groups.md is out of date with handlers/copy.go; run: go test ./handlers -update (%v)", err)
	}
}
