package handlers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/copy-groups.md is generated from the kinds' copy groups; this
// test fails when they disagree (go test ./handlers -update rewrites it).
func TestCopyGroupsDoc(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Copy groups\n\n")
	w("Generated from the copy groups of `handlers/copy.go` and the kinds of `handlers/kinds.go` by\n")
	w("`go test ./handlers -update`; a test fails when this file and the code disagree.\n\n")
	w("A copy event creates a new object of the same kind, in its initial state, with the payload's\n")
	w("`aptBusinessObjectSummary` (a template's: `templateName`) and, for each `copy*` flag that is `true`, the\n")
	w("fields of that group the source has.\n")
	w("A flag that is absent or `false` copies nothing. Fields the copy payload itself sends (other than the flags)\n")
	w("win over the source, and `isSubmittedToPartner: true` submits the copy as part of its creation.\n\n")
	w("Never copied: comments, the activity history, the `*Response` object and the response flags, the\n")
	w("conclusion, the submission, followers, `aptEscalationReportBox`, and fields no group names (unknown fields).\n")
	w("The new object's first history entry names its source (`detail.copiedFrom`) and the groups copied.\n")
	w("\n`copySubTasks` (tasks and task templates) copies each sub-task (sub-task template) that is not removed,\n")
	w("as a new one of the copy, in its initial state, with its fields but without its submission, response and\n")
	w("conclusion. The copy and its sub-tasks are made by one request under one license plate; its history entry\n")
	w("lists them in `detail.childIds`.\n")
	for _, k := range kinds {
		vs := k.Versions[verbCopy]
		if len(vs) == 0 {
			continue
		}
		names := make([]string, len(vs))
		for i, v := range vs {
			names[i] = fmt.Sprintf("`%s:v%d`", k.action(verbCopy), v)
		}
		w("\n## %s (%s)\n\n| flag | fields copied |\n|---|---|\n", k.Name, strings.Join(names, ", "))
		for _, cg := range k.CopyGroups {
			fields := cg.fields(k)
			w("| `%s` | `%s` |\n", cg.Flag, strings.Join(fields, "`, `"))
		}
		if k.Child != "" {
			w("| `%s` | every %s that is not removed |\n", k.CopyChildren, kindNamed(k.Child).Label)
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
