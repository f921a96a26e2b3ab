package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"
)

// newLogger builds the process logger: human-readable console output when w
// is a terminal (or format is "console"), one JSON object per line otherwise.
// Every line carries its time to the nanosecond (see timestampHook);
// durations are in milliseconds with a fraction, zerolog's default. It sets
// none of zerolog's package-level settings, which every logger of the
// process shares.
func newLogger(w io.Writer, format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || lvl == zerolog.NoLevel {
		return zerolog.Logger{}, fmt.Errorf("--log-level %q must be debug, info, warn or error", level)
	}
	if format == "console" || format == "auto" && isTerminal(w) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(lvl).Hook(timestampHook{now: time.Now}), nil
}

// timestampHook adds the time of each log line in RFC 3339 with
// nanoseconds. zerolog's own Timestamp formats with the package-level
// TimeFieldFormat (seconds by default); the hook keeps the format to this
// logger.
type timestampHook struct{ now func() time.Time }

func (h timestampHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(zerolog.TimestampFieldName, h.now().Format(time.RFC3339Nano))
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// buildVersion is set with -ldflags "-X main.buildVersion=v1.2.3" by release
// builds; otherwise the module's version or VCS revision is used.
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}
