package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// Reset empties every table of the layout: a table added to the schema
// and not to resetTables would keep its rows through a reset.
func TestResetEmptiesEveryTable(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	rows, err := s.reads.QueryContext(t.Context(), "SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		// SQLite's own tables and the full-text index (emptied by its
		// delete-all command) are not the layout's.
		fullText := name == "incident_text" || strings.HasPrefix(name, "incident_text_") && name != "incident_text_pending"
		if !strings.HasPrefix(name, "sqlite_") && !fullText {
			tables = append(tables, name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(tables)
	want := slices.Sorted(slices.Values(resetTables))
	if !slices.Equal(tables, want) {
		t.Errorf("the layout's tables are %v; Reset empties %v", tables, want)
	}
	if err := s.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
}
