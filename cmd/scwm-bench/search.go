package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"time"
)

var searchScenario = &scenario{
	name: "search",
	help: "a store of --incidents incidents (imported): the latency of the first page of searches by one client, one at a time",
	flags: func(fs *flag.FlagSet) {
		fs.IntVar(&searchFlags.incidents, "incidents", 1000000, "incidents in the store")
		fs.IntVar(&searchFlags.repeats, "repeats", 50, "times each search is sent; the median and the p99 count")
	},
	run: runSearch,
}

var searchFlags struct {
	incidents, repeats int
}

// searchEvent is the event the scenario sends.
const searchEvent = "agile-process-teams:search-process:v1"

// benchSearch is one search the scenario measures.
type benchSearch struct {
	name    string
	payload map[string]any
	// some says the search finds objects (its answer is checked for one).
	some bool
}

func runSearch(h *harness) (*scenarioReport, error) {
	n := searchFlags.incidents
	if n < 100 || searchFlags.repeats < 1 {
		return nil, fmt.Errorf("--incidents must be at least 100 and --repeats at least 1")
	}
	base := time.Now().Add(-24 * time.Hour)
	// genIncidents writes at base + i/16 ms, "Bench incident <client>-<i>: no EPCIS data for 1 package".
	searches := []benchSearch{
		{"newest first, no filter", map[string]any{}, true},
		{"a state", map[string]any{"currentBaseState": "New"}, true},
		{"a common word", map[string]any{"q": "epcis"}, true},
		{"a rare word", map[string]any{"q": strconv.Itoa(n / 2)}, true},
		{"a word that is nowhere", map[string]any{"q": "zebra"}, false},
		{"a business id", map[string]any{"aptBusinessObjectId": "INC-" + strconv.Itoa(n/3)}, true},
		{"updated in the last second of the fill", map[string]any{"updatedAfter": json.Number(strconv.FormatInt(base.UnixMilli()+int64(n/16)-1000, 10))}, true},
		{"oldest first", map[string]any{"order": "asc"}, true},
	}
	rep := &scenarioReport{Params: []string{
		fmt.Sprintf("a store of %d incidents of one company (imported), searched by its API key through POST /api/events, one request at a time", n),
		fmt.Sprintf("each search %d times, first page of 25; latency is the client's, request sent to answer read", searchFlags.repeats),
	}}
	results := make([][]time.Duration, len(searches))
	bin := h.bins[0]
	if len(h.bins) > 1 {
		rep.Notes = append(rep.Notes, "search measures the first binary only: an earlier gateway has no search")
	}
	mode, note := fillMode(h.ctx, modeImport, bin)
	rep.Notes = append(rep.Notes, joinNotes(note)...)
	if mode != modeImport {
		return nil, fmt.Errorf("%s cannot import: search needs a store filled by import", bin.Label)
	}
	g, err := h.newGateway(bin, "search", false)
	if err != nil {
		return nil, err
	}
	h.progress("%s: generating and importing %d incidents", bin.Label, n)
	took, _, err := importStream(h.ctx, bin, g.dataDir, h.importArgs, h.tmp, h.env, func(w *ndjsonWriter) error {
		return genIncidents(w, n, h.clients, base)
	})
	if err != nil {
		return nil, err
	}
	rep.row("import", fmt.Sprintf("%.1f s", took.Seconds()))
	if _, err := g.start(h.ctx); err != nil {
		return nil, err
	}
	defer g.stop()
	hc := newHTTPClient(1)
	defer hc.CloseIdleConnections()
	c := newCaller(g.access(), 0, hc)
	for round := 0; round < searchFlags.repeats; round++ {
		for i, s := range searches {
			a, err := c.send(h.ctx, searchEvent, s.payload, "")
			if err != nil {
				return nil, err
			}
			if !a.ok() {
				return nil, fmt.Errorf("search %q: %v", s.name, a)
			}
			var page struct{ Items []json.RawMessage }
			if err := json.Unmarshal(a.payload, &page); err != nil {
				return nil, fmt.Errorf("search %q: %v", s.name, err)
			}
			if s.some != (len(page.Items) > 0) {
				return nil, fmt.Errorf("search %q found %d objects", s.name, len(page.Items))
			}
			results[i] = append(results[i], a.latency)
		}
	}
	worst := newVerdict(fmt.Sprintf("first page over %d incidents, p99 of the slowest search", n), "<=", 50, "ms", 1)
	var slowest time.Duration
	for i, s := range searches {
		p99 := quantile(results[i], 0.99)
		rep.row(s.name, fmt.Sprintf("median %s, p99 %s", msOf(median(results[i])), msOf(p99)))
		slowest = max(slowest, p99)
	}
	worst.set(0, float64(slowest.Microseconds())/1000)
	rep.Verdicts = append(rep.Verdicts, worst)
	return rep, nil
}
