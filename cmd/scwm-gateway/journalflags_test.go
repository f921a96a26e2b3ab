package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// The journal's flags and their environment variables bound it, and a
// wrong value stops the start naming the flag.
func TestJournalFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SCWM_JOURNAL_RETENTION": "10m"}
	c, err := parseServe([]string{"--journal", "meta", "--journal-max-entries", "50", "--journal-max-bytes", "4096"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if j := c.journal; !j.NoBodies || j.Disabled || j.MaxEntries != 50 || j.MaxBytes != 4096 || j.Retention != 10*time.Minute {
		t.Errorf("the journal's configuration: %+v", j)
	}
	if c, err := parseServe([]string{"--journal", "off"}, func(string) string { return "" }, io.Discard); err != nil || !c.journal.Disabled {
		t.Errorf("--journal off: %+v %v", c, err)
	}
	if c, err := parseServe(nil, func(string) string { return "" }, io.Discard); err != nil || c.journal.NoBodies || c.journal.Disabled || c.journal.Retention != time.Hour {
		t.Errorf("the default journal: %+v %v", c.journal, err)
	}
	_, err = parseServe([]string{"--journal", "everything", "--journal-max-bytes", "-1"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--journal \"everything\"") || !strings.Contains(err.Error(), "--journal-max-bytes") {
		t.Errorf("wrong journal flags: %v", err)
	}
}
