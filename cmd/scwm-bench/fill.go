package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fill modes: how a scenario puts its dataset into a store.
const (
	modeAuto   = "auto"   // import where the binary has the command, else http
	modeHTTP   = "http"   // through the gateway's API, as clients would
	modeImport = "import" // an export stream given to `scwm-gateway import`
	modeWire   = "wire"   // expiry only: a FerretDB-era store's records through embedded-store
)

// defaultImportArgs is how the bench calls the import command: {dir} is
// the data directory, {file} the stream's file. Without {file} the stream
// goes to the command's standard input.
const defaultImportArgs = "import --data-dir {dir}"

// fillMode is the mode a scenario uses for bin: what was asked, with auto
// and an import the binary lacks resolved to http (and a note saying so).
func fillMode(ctx context.Context, asked string, bin binary) (mode, note string) {
	has := supportsCommand(ctx, bin.Path, "import")
	switch {
	case asked == modeHTTP:
		return modeHTTP, ""
	case has:
		return modeImport, ""
	case asked == modeImport:
		return modeHTTP, bin.Label + ": the binary has no import command; filled through HTTP"
	}
	return modeHTTP, ""
}

// importStream runs the binary's import command on dataDir with the stream
// gen writes, and returns how long it took (generation included) and how
// many records it wrote.
func importStream(ctx context.Context, bin binary, dataDir, argsTemplate, tmp string, env []string,
	gen func(w *ndjsonWriter) error) (time.Duration, int64, error) {
	started := time.Now()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return 0, 0, err
	}
	useFile := strings.Contains(argsTemplate, "{file}")
	file := filepath.Join(tmp, "import-"+bin.Label+".ndjson")
	var args []string
	for _, a := range strings.Fields(argsTemplate) {
		args = append(args, strings.NewReplacer("{dir}", dataDir, "{file}", file).Replace(a))
	}
	var records int64
	generate := func(w io.Writer) error {
		nw, err := newNDJSONWriter(w)
		if err != nil {
			return err
		}
		if err := gen(nw); err != nil {
			return err
		}
		records = nw.n
		return nw.flush()
	}
	cmd := exec.CommandContext(ctx, bin.Path, args...)
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if useFile {
		f, err := os.Create(file)
		if err != nil {
			return 0, 0, err
		}
		defer os.Remove(file)
		err = generate(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, 0, fmt.Errorf("write the import stream: %w", err)
		}
		if err := cmd.Run(); err != nil {
			return 0, 0, fmt.Errorf("%s %s: %v\n%s", bin.Path, strings.Join(args, " "), err, tailOf(out.String(), 2000))
		}
		return time.Since(started), records, nil
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	genErr := generate(stdin)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return 0, 0, fmt.Errorf("%s %s: %v\n%s", bin.Path, strings.Join(args, " "), err, tailOf(out.String(), 2000))
	}
	if genErr != nil {
		return 0, 0, fmt.Errorf("write the import stream: %w", genErr)
	}
	return time.Since(started), records, nil
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// fillResult is what an HTTP fill did.
type fillResult struct {
	took   time.Duration
	added  int
	sample []string // ids of some of the incidents added, for reads
	errors int
}

// fillHTTP adds n incidents through the gateway with clients workers, as
// fast as it answers, and keeps the ids of up to keep of them (a uniform
// sample). It fails when more than one add in a hundred fails.
func fillHTTP(ctx context.Context, acc access, clients, n, keep int, progress func(string, ...any)) (*fillResult, error) {
	return fillAdds(ctx, acc, clients, n, keep, mix{add: 1}, progress)
}

// fillAdds is fillHTTP with the adds of m (keyed or not).
func fillAdds(ctx context.Context, acc access, clients, n, keep int, m mix, progress func(string, ...any)) (*fillResult, error) {
	started := time.Now()
	var next, done, failed atomic.Int64
	samples := make([][]string, clients)
	var firstErr atomic.Value
	stop := make(chan struct{})
	var reporter sync.WaitGroup
	reporter.Add(1)
	go func() {
		defer reporter.Done()
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				d := done.Load()
				progress("fill: %d of %d adds (%.0f/s)", d, n, float64(d)/time.Since(started).Seconds())
			}
		}
	}()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(c, acc)
			defer w.close()
			rng := mrand.New(mrand.NewPCG(uint64(c), 7))
			per := max(keep/clients, 1)
			seen := 0
			for ctx.Err() == nil && next.Add(1) <= int64(n) {
				o := w.step(ctx, m)
				for !o.ok && ctx.Err() == nil {
					if failed.Add(1) > int64(n/100+10) {
						firstErr.CompareAndSwap(nil, errors.New(o.errKey+": "+o.body))
						return
					}
					o = w.step(ctx, m)
				}
				if !o.ok {
					return
				}
				done.Add(1)
				seen++ // reservoir sampling of this worker's ids
				if len(samples[c]) < per {
					samples[c] = append(samples[c], o.body)
				} else if j := rng.IntN(seen); j < per {
					samples[c][j] = o.body
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	reporter.Wait()
	res := &fillResult{took: time.Since(started), added: int(done.Load()), errors: int(failed.Load())}
	for _, s := range samples {
		res.sample = append(res.sample, s...)
	}
	if err, _ := firstErr.Load().(error); err != nil {
		return res, fmt.Errorf("fill: too many failed adds (%d), the first: %v", failed.Load(), err)
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}
