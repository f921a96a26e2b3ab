package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

var expiryScenario = &scenario{
	name: "expiry",
	help: "a store holding --keys idempotency keys and --tokens OAuth tokens that have expired; the gateway's sweeper deletes them while writers measure their latency",
	flags: func(fs *flag.FlagSet) {
		fs.IntVar(&expiryFlags.keys, "keys", 100000, "expired idempotency keys in the store")
		fs.IntVar(&expiryFlags.tokens, "tokens", 100000, "expired OAuth tokens in the store")
		fs.IntVar(&expiryFlags.writers, "writers", 1, "clients adding incidents, one at a time each, while the sweep runs")
		fs.IntVar(&expiryFlags.chains, "token-chains", 16, "with an HTTP fill: OAuth clients' sessions refreshing tokens at once")
		fs.DurationVar(&expiryFlags.wait, "sweep-wait", 150*time.Second, "how long after the start to wait for the sweep's log lines")
	},
	run: runExpiry,
}

var expiryFlags struct {
	keys, tokens, writers, chains int
	wait                          time.Duration
}

// The gateway's sweeper: it runs every sweepInterval from the gateway's
// start (handlers.Gateway.Run) and logs at debug level what it deleted.
const (
	sweepInterval    = time.Minute
	sweptKeysMsg     = "idempotency keys expired"
	sweptTokenMsg    = "OAuth tokens expired"
	sweepKeysFailed  = "expiring idempotency keys failed"
	sweepTokenFailed = "expiring OAuth tokens failed"
)

// The time-to-live flags of the filling gateway, short so that what it
// writes has expired when the measured gateway sweeps.
var expiryFillFlags = []string{"--idempotency-ttl", "2s", "--access-token-ttl", "2s", "--refresh-token-ttl", "30s", "--token-rate-limit", "0"}

// write is one write of a writer: when it was sent and how long it took.
type write struct {
	at      time.Time
	latency time.Duration
	ok      bool
}

// sweepLine is a sweeper log line: when it was read and what it counted,
// or the error of a sweep that failed.
type sweepLine struct {
	msg     string
	at      time.Time
	expired int64
	err     string
}

// expiryResult is what expiry measured on one binary.
type expiryResult struct {
	mode          string
	fillTook      time.Duration
	keys, tokens  int
	sweeps        []sweepLine
	window        [2]time.Time
	windowAssumed bool
	writes        []write
	readyAt       time.Time
}

func runExpiry(h *harness) (*scenarioReport, error) {
	if expiryFlags.writers < 1 || expiryFlags.chains < 1 || expiryFlags.chains >= h.clients {
		return nil, errors.New("--writers must be at least 1, and --token-chains at least 1 and fewer than --clients")
	}
	rep := &scenarioReport{Params: []string{
		fmt.Sprintf("%d idempotency keys and %d OAuth tokens that expire (%s fill: an import stream; for a FerretDB-era binary its store's records through embedded-store; or keyed adds and refresh grants through a gateway with %s, stopped after)", expiryFlags.keys, expiryFlags.tokens, h.fill, strings.Join(expiryFillFlags, " ")),
		fmt.Sprintf("then the gateway starts on that store with --log-level debug; its sweeper runs %v after the start and logs %q and %q (or that expiring them failed); %d writer(s) add incidents one at a time from the start until the sweep has logged both", sweepInterval, sweptKeysMsg, sweptTokenMsg, expiryFlags.writers),
		"the sweep's window runs from half a second before the expected tick to half a second after its last line; a write counts in it when it overlaps it",
	}}
	var results []*expiryResult
	for _, bin := range h.bins {
		mode, note := fillMode(h.ctx, h.fill, bin)
		if mode == modeHTTP && h.fill != modeHTTP && supportsCommand(h.ctx, bin.Path, "embedded-store") {
			// Keyed adds are slow on the FerretDB store: write its
			// records through its wire protocol instead.
			mode, note = modeWire, bin.Label+": no import command; the keys and tokens were written into its FerretDB store through embedded-store (MongoDB wire protocol), as the store's own records"
		}
		rep.Notes = append(rep.Notes, joinNotes(note)...)
		res, err := measureExpiry(h, bin, mode)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bin.Label, err)
		}
		results = append(results, res)
	}
	in := func(r *expiryResult) []time.Duration {
		var ds []time.Duration
		for _, w := range r.writes {
			if w.at.Before(r.window[1]) && w.at.Add(w.latency).After(r.window[0]) {
				ds = append(ds, w.latency)
			}
		}
		return ds
	}
	before := func(r *expiryResult) []time.Duration {
		var ds []time.Duration
		for _, w := range r.writes {
			if w.at.Add(w.latency).Before(r.window[0]) {
				ds = append(ds, w.latency)
			}
		}
		return ds
	}
	rep.row("fill", per(results, func(r *expiryResult) string {
		return fmt.Sprintf("%s: %d keys, %d tokens, %.1f s", r.mode, r.keys, r.tokens, r.fillTook.Seconds())
	})...)
	rep.row("sweeper lines (after the start: expired)", per(results, func(r *expiryResult) string {
		if len(r.sweeps) == 0 {
			return "none seen"
		}
		var parts []string
		for _, s := range r.sweeps {
			if s.err != "" || strings.HasSuffix(s.msg, "failed") {
				parts = append(parts, fmt.Sprintf("%.1f s: %s (%s)", s.at.Sub(r.readyAt).Seconds(), s.msg, truncate(s.err, 80)))
				continue
			}
			parts = append(parts, fmt.Sprintf("%.1f s: %d %s", s.at.Sub(r.readyAt).Seconds(), s.expired, strings.TrimSuffix(s.msg, " expired")))
		}
		return strings.Join(parts, "; ")
	})...)
	rep.row("sweep window (after the start)", per(results, func(r *expiryResult) string {
		s := fmt.Sprintf("%.1f-%.1f s", r.window[0].Sub(r.readyAt).Seconds(), r.window[1].Sub(r.readyAt).Seconds())
		if r.windowAssumed {
			s += " (assumed)"
		}
		return s
	})...)
	rep.row("sweep's length (tick to its last line)", per(results, func(r *expiryResult) string {
		if r.windowAssumed {
			return "-"
		}
		return fmt.Sprintf("%.2f s", (r.window[1].Sub(r.window[0]) - time.Second).Seconds())
	})...)
	rep.row("writes before the window: count, p99 / max", per(results, func(r *expiryResult) string {
		ds := before(r)
		if len(ds) == 0 {
			return "none"
		}
		return fmt.Sprintf("%d, %s / %s", len(ds), msOf(quantile(ds, 0.99)), msOf(slices.Max(ds)))
	})...)
	rep.row("writes in the window: count, p99 / max", per(results, func(r *expiryResult) string {
		ds := in(r)
		if len(ds) == 0 {
			return "none"
		}
		return fmt.Sprintf("%d, %s / %s", len(ds), msOf(quantile(ds, 0.99)), msOf(slices.Max(ds)))
	})...)
	rep.row("failed writes", per(results, func(r *expiryResult) string {
		n := 0
		for _, w := range r.writes {
			if !w.ok {
				n++
			}
		}
		return fmt.Sprint(n)
	})...)
	v := newVerdict("longest write during the sweep", "<=", 50, "ms", len(results))
	for i, r := range results {
		ds := in(r)
		if len(ds) == 0 {
			v.missing(i, "no write overlapped the sweep")
			continue
		}
		v.set(i, float64(slices.Max(ds).Microseconds())/1000)
		var swept int64
		for _, s := range r.sweeps {
			swept += s.expired
		}
		if want := int64(r.keys + r.tokens); swept < want {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the measured sweep deleted %d of the %d keys and tokens filled (with an HTTP fill, the filling gateway's own sweep may have deleted some; refresh tokens used by a grant stay until they expire)", h.bins[i].Label, swept, want))
		}
		if r.windowAssumed {
			rep.Notes = append(rep.Notes, h.bins[i].Label+": the sweeper's log lines were not seen; the window is the expected tick plus two seconds")
		}
	}
	rep.Verdicts = []*verdict{v}
	return rep, nil
}

func measureExpiry(h *harness, bin binary, mode string) (*expiryResult, error) {
	ctx := h.ctx
	g, err := h.newGateway(bin, "expiry", true, expiryFillFlags...)
	if err != nil {
		return nil, err
	}
	defer g.stop()
	res := &expiryResult{mode: mode}
	started := time.Now()
	switch mode {
	case modeWire:
		// A first start lays out the store and applies the seed.
		if _, err := g.start(ctx); err != nil {
			return nil, err
		}
		if err := g.stop(); err != nil {
			return nil, err
		}
		started = time.Now()
		h.progress("%s: writing %d keys and %d tokens through embedded-store", bin.Label, expiryFlags.keys, expiryFlags.tokens)
		now := time.Now()
		if err := wireExpiring(ctx, bin, g.dataDir, h.env, expiryFlags.keys, expiryFlags.tokens, now, now.Add(5*time.Second)); err != nil {
			return nil, err
		}
		res.keys, res.tokens = expiryFlags.keys, expiryFlags.tokens
	case modeImport:
		h.progress("%s: generating and importing %d keys and %d tokens", bin.Label, expiryFlags.keys, expiryFlags.tokens)
		now := time.Now()
		if _, _, err := importStream(ctx, bin, g.dataDir, h.importArgs, h.tmp, h.env, func(w *ndjsonWriter) error {
			return genExpiring(w, expiryFlags.keys, expiryFlags.tokens, now, now.Add(5*time.Second))
		}); err != nil {
			return nil, err
		}
		res.keys, res.tokens = expiryFlags.keys, expiryFlags.tokens
	default:
		if _, err := g.start(ctx); err != nil {
			return nil, err
		}
		h.progress("%s: %d keyed adds and %d tokens through HTTP", bin.Label, expiryFlags.keys, expiryFlags.tokens)
		var wg sync.WaitGroup
		var keysErr, tokensErr error
		var tokens int
		wg.Add(2)
		go func() {
			defer wg.Done()
			var fr *fillResult
			fr, keysErr = fillAdds(ctx, g.access(), h.clients-expiryFlags.chains, expiryFlags.keys, 0, mix{add: 1, keyed: true}, h.progress)
			if fr != nil {
				res.keys = fr.added
			}
		}()
		go func() {
			defer wg.Done()
			tokens, tokensErr = fillTokens(ctx, "http://"+g.addr, expiryFlags.chains, expiryFlags.tokens)
		}()
		wg.Wait()
		res.tokens = tokens
		if err := errors.Join(keysErr, tokensErr); err != nil {
			return nil, err
		}
		if err := g.stop(); err != nil {
			return nil, err
		}
	}
	res.fillTook = time.Since(started)

	// The measured gateway: debug logs for the sweeper's lines.
	var mu sync.Mutex
	swept := make(chan struct{}, 1)
	g.flags = []string{"--log-level", "debug"}
	g.hook = func(line []byte) {
		for _, msg := range []string{sweptKeysMsg, sweptTokenMsg, sweepKeysFailed, sweepTokenFailed} {
			if !bytes.Contains(line, []byte(msg)) {
				continue
			}
			var e struct {
				Expired int64  `json:"expired"`
				Error   string `json:"error"`
			}
			_ = json.Unmarshal(line, &e)
			mu.Lock()
			res.sweeps = append(res.sweeps, sweepLine{msg: msg, at: time.Now(), expired: e.Expired, err: e.Error})
			n := len(res.sweeps)
			mu.Unlock()
			if msg == sweptTokenMsg || msg == sweepTokenFailed || n >= 2 || expiryFlags.tokens == 0 {
				select {
				case swept <- struct{}{}:
				default:
				}
			}
		}
	}
	h.progress("%s: starting the gateway on the expired store; its sweep runs about %v after the start", bin.Label, sweepInterval)
	if _, err := g.start(ctx); err != nil {
		return nil, err
	}
	res.readyAt = g.readyAt
	wctx, stopWriters := context.WithCancel(ctx)
	defer stopWriters()
	hc := newHTTPClient(expiryFlags.writers)
	defer hc.CloseIdleConnections()
	var wmu sync.Mutex
	var wg sync.WaitGroup
	for w := range expiryFlags.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newCaller(g.access(), w, hc)
			var mine []write
			for seq := 0; wctx.Err() == nil; seq++ {
				t0 := time.Now()
				a, err := c.send(wctx, addEvent, addBody(w, fmt.Sprintf("Expiry writer %d-%d", w, seq)), "")
				if wctx.Err() != nil {
					break
				}
				mine = append(mine, write{at: t0, latency: time.Since(t0), ok: err == nil && a.ok()})
			}
			wmu.Lock()
			res.writes = append(res.writes, mine...)
			wmu.Unlock()
		}()
	}
	timer := time.NewTimer(expiryFlags.wait)
	select {
	case <-swept:
		sleepUntil(ctx, time.Now().Add(time.Second)) // writes after the sweep, for the window's end
	case <-timer.C:
	case <-ctx.Done():
	}
	timer.Stop()
	stopWriters()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	tick := res.readyAt.Add(sweepInterval)
	if len(res.sweeps) == 0 {
		res.window = [2]time.Time{tick.Add(-500 * time.Millisecond), tick.Add(2 * time.Second)}
		res.windowAssumed = true
		return res, ctx.Err()
	}
	first, last := res.sweeps[0].at, res.sweeps[len(res.sweeps)-1].at
	if first.Before(tick) { // a sweeper of another interval: from the start
		tick = res.readyAt
	}
	res.window = [2]time.Time{tick.Add(-500 * time.Millisecond), last.Add(500 * time.Millisecond)}
	return res, ctx.Err()
}

// fillTokens makes the gateway at base store about n OAuth tokens: each of
// chains sessions signs the seed's user in once (a password grant), then
// refreshes its tokens over and over; every grant stores an access and a
// refresh token. It returns how many tokens the grants stored.
func fillTokens(ctx context.Context, base string, chains, n int) (int, error) {
	hc := newHTTPClient(chains)
	defer hc.CloseIdleConnections()
	var stored atomic.Int64
	errs := make(chan error, chains)
	var wg sync.WaitGroup
	for range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refresh, err := grant(ctx, hc, base, url.Values{"grant_type": {"password"}, "username": {seedUsername}, "password": {seedPassword}})
			if err != nil {
				errs <- err
				return
			}
			stored.Add(2)
			for stored.Load() < int64(n) && ctx.Err() == nil {
				if refresh, err = grant(ctx, hc, base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}); err != nil {
					errs <- err
					return
				}
				stored.Add(2)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return int(stored.Load()), errors.Join(<-errs, ctx.Err())
}

// grant asks the token endpoint for tokens as the seed's OAuth client and
// returns the refresh token. A 503 (the password checks are all busy) is
// asked again.
func grant(ctx context.Context, hc *http.Client, base string, form url.Values) (string, error) {
	for try := 0; ; try++ {
		refresh, busy, err := grantOnce(ctx, hc, base, form)
		if !busy || try == 50 || ctx.Err() != nil {
			return refresh, err
		}
		sleepUntil(ctx, time.Now().Add(100*time.Millisecond))
	}
}

func grantOnce(ctx context.Context, hc *http.Client, base string, form url.Values) (string, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(seedOAuthClient, seedOAuthSecret)
	resp, err := hc.Do(req)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	var t struct {
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || resp.StatusCode != http.StatusOK || t.RefreshToken == "" {
		return "", resp.StatusCode == http.StatusServiceUnavailable,
			fmt.Errorf("token grant %s: HTTP %d %s %s (%v)", form.Get("grant_type"), resp.StatusCode, t.Error, t.Description, err)
	}
	return t.RefreshToken, false, nil
}

// wireExpiring writes keys idempotency records and tokens OAuth tokens,
// all expiring at expires, into the FerretDB store of a FerretDB-era
// binary: it serves dataDir with `embedded-store` and inserts them, as the
// store's own documents (the gateway's IdempotencyRecord and Token), into
// its database "scwm".
func wireExpiring(ctx context.Context, bin binary, dataDir string, env []string, keys, tokens int, now, expires time.Time) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	st, err := startChild(ctx, "embedded store", bin.Path, env, "embedded store listening", "embedded-store", "--addr", addr, "--data-dir", dataDir)
	if err != nil {
		return err
	}
	defer st.stop()
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr + "/").SetTimeout(5 * time.Minute))
	if err != nil {
		return err
	}
	defer client.Disconnect(context.Background())
	db := client.Database("scwm")
	insert := func(coll string, n int, doc func(i int) any) error {
		for from := 0; from < n; from += 1000 {
			var docs []any
			for i := from; i < min(from+1000, n); i++ {
				docs = append(docs, doc(i))
			}
			if _, err := db.Collection(coll).InsertMany(ctx, docs); err != nil {
				return fmt.Errorf("insert into %s: %w", coll, err)
			}
		}
		return nil
	}
	body := []byte(`{"header":{"errCode":"200_OK"},"payload":{"id":"00000000-0000-7000-8000-000000000000"}}`)
	err = insert("idempotency", keys, func(i int) any {
		return bson.D{{Key: "_id", Value: idempotencyKeyID(fmt.Sprintf("bench-expiring-%d", i))}, {Key: "requestHash", Value: hashHex(fmt.Sprint(i))},
			{Key: "licensePlate", Value: genPlate(now, i, 2)}, {Key: "dataspace", Value: "default"}, {Key: "state", Value: "done"},
			{Key: "status", Value: 200}, {Key: "body", Value: body}, {Key: "leaseUntil", Value: now.Add(-time.Minute)},
			{Key: "createdAt", Value: now.Add(-time.Minute)}, {Key: "expiresAt", Value: expires}}
	})
	if err != nil {
		return err
	}
	return insert("oauth_tokens", tokens, func(i int) any {
		kind := "access"
		if i%2 == 1 {
			kind = "refresh"
		}
		return bson.D{{Key: "_id", Value: hashHex(fmt.Sprintf("bench-token-%d", i))}, {Key: "kind", Value: kind},
			{Key: "clientId", Value: seedOAuthClient}, {Key: "username", Value: seedUsername}, {Key: "companyId", Value: seedOwner},
			{Key: "scope", Value: "incident"}, {Key: "issuedAt", Value: now.Add(-time.Minute)}, {Key: "expiresAt", Value: expires},
			{Key: "revoked", Value: false}}
	})
}
