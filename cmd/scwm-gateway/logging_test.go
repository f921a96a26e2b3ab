package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// Building the gateway's logger changes none of zerolog's package-level
// settings (every logger in the process shares them, and commands run
// concurrently in one process), yet its lines carry their time to the
// nanosecond and durations in fractional milliseconds.
func TestLoggerKeepsItsFormatsToItself(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	log, err := newLogger(&out, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	if zerolog.TimeFieldFormat != time.RFC3339 || zerolog.DurationFieldUnit != time.Millisecond || zerolog.DurationFieldInteger {
		t.Errorf("newLogger changed zerolog's package-level formats: time %q, duration unit %v, integer %v",
			zerolog.TimeFieldFormat, zerolog.DurationFieldUnit, zerolog.DurationFieldInteger)
	}
	log.Info().Dur("latency", 1500*time.Microsecond).Msg("event")
	var line struct {
		Time    string  `json:"time"`
		Latency float64 `json:"latency"`
		Message string  `json:"message"`
	}
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("not a JSON line (%v): %s", err, out.String())
	}
	if _, err := time.Parse(time.RFC3339Nano, line.Time); err != nil || line.Latency != 1.5 || line.Message != "event" {
		t.Errorf("log line %s: time %q (%v), latency %v", out.String(), line.Time, err, line.Latency)
	}

	// The time's format, on a clock that has nanoseconds to show.
	out.Reset()
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	fixed := zerolog.New(&out).Hook(timestampHook{now: func() time.Time { return at }})
	fixed.Info().Msg("x")
	if err := json.Unmarshal(out.Bytes(), &line); err != nil || line.Time != "2026-01-02T03:04:05.123456789Z" {
		t.Errorf("timestamp %q (%v), want 2026-01-02T03:04:05.123456789Z", line.Time, err)
	}
}
