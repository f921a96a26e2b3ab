package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scwm-gateway/scwm-gateway/store"
)

func TestVerdicts(t *testing.T) {
	t.Parallel()
	v := newVerdict("x", ">=", 2, "x", 3)
	v.set(0, 2)
	v.set(1, 1.99)
	v.set(2, ratio(1, 0))
	if p := v.pass(0); p == nil || !*p {
		t.Errorf("2 >= 2: %v", p)
	}
	if p := v.pass(1); p == nil || *p {
		t.Errorf("1.99 >= 2: %v", p)
	}
	if p := v.pass(2); p != nil || v.Missing[2] == "" {
		t.Errorf("a ratio to zero is a figure: %v %q", p, v.Missing[2])
	}
	if !meets("<=", 1.5, 1.5) || meets("<=", 1.51, 1.5) || meets("?", 1, 1) {
		t.Errorf("meets")
	}
	if !math.IsNaN(ratio(1, -1)) || ratio(3, 2) != 1.5 {
		t.Errorf("ratio")
	}
	if got := formatFigure(0.3, "x") + "|" + formatFigure(50, "ms") + "|" + formatFigure(0.5, "s"); got != "0.30x|50.0 ms|0.500 s" {
		t.Errorf("formatFigure: %q", got)
	}
}

func TestLeaseAndQuantiles(t *testing.T) {
	t.Parallel()
	if leaseOf(10*time.Second) != 16*time.Second || leaseOf(2*time.Second) != 4*time.Second {
		t.Errorf("lease of 10s: %v, of 2s: %v", leaseOf(10*time.Second), leaseOf(2*time.Second))
	}
	ds := []time.Duration{5, 1, 4, 2, 3}
	if median(ds) != 3 || median(ds[:4]) != 3 || median(nil) != 0 {
		t.Errorf("median: %v %v", median(ds), median(ds[:4]))
	}
	if quantile(ds, 0.99) != 5 || quantile(ds, 0.2) != 1 || quantile(ds, 0.5) != 3 {
		t.Errorf("quantile: %v %v %v", quantile(ds, 0.99), quantile(ds, 0.2), quantile(ds, 0.5))
	}
	if !slices.Equal(ds, []time.Duration{5, 1, 4, 2, 3}) {
		t.Errorf("median or quantile sorted its argument: %v", ds)
	}
	if mean(ds) != 3 || !slices.Equal(everyOther(ds, 1), []time.Duration{1, 2}) {
		t.Errorf("mean %v, everyOther %v", mean(ds), everyOther(ds, 1))
	}
	if ceilingFor("add-keyed") != "ceiling-add-only" || ceilingFor("read-only") != "ceiling-read-only" || ceilingFor("mix") != "" {
		t.Errorf("ceilingFor")
	}
}

// Generated incidents have UUIDv7 ids, as the gateway's own, that sort in
// the order they were made and never repeat; plates are distinct and of
// the gateway's length.
func TestGeneratedIDsAndPlates(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prev := ""
	plates := map[string]bool{}
	for i := range 50000 {
		id := genID(base, i)
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("genID(%d) = %q: %v, version %v, variant %v", i, id, err, u.Version(), u.Variant())
		}
		if id <= prev {
			t.Fatalf("genID(%d) = %q does not sort after %q", i, id, prev)
		}
		prev = id
		p := genPlate(base, i, 1)
		if len(p) != 16 || plates[p] {
			t.Fatalf("genPlate(%d) = %q: length %d, repeated %v", i, p, len(p), plates[p])
		}
		plates[p] = true
	}
	if genPlate(base, 7, 1) == genPlate(base, 7, 2) {
		t.Errorf("plates of two salts collide")
	}
}

// The streams the bench imports are read by the gateway's own decoder, with
// kinds in export order and the fields the store keeps.
func TestGeneratedStreamsDecode(t *testing.T) {
	t.Parallel()
	now := time.Now()
	order := []string{store.KindCompany, store.KindNetwork, store.KindClient, store.KindSequence, store.KindUser,
		store.KindOAuthClient, store.KindToken, store.KindIncident, store.KindComment, store.KindActivity, store.KindIdempotency}
	decode := func(gen func(w *ndjsonWriter) error) map[string][]store.Record {
		t.Helper()
		var buf bytes.Buffer
		w, err := newNDJSONWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := gen(w); err != nil {
			t.Fatal(err)
		}
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		if !sc.Scan() {
			t.Fatal("empty stream")
		}
		var h struct {
			Format  string `json:"format"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != "scwm-gateway-export" || h.Version != 1 {
			t.Fatalf("header %s: %v", sc.Text(), err)
		}
		got := map[string][]store.Record{}
		last := -1
		for sc.Scan() {
			rec, err := store.DecodeRecord(sc.Bytes())
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			k := slices.Index(order, rec.Kind)
			if k < last {
				t.Fatalf("kind %s after %s", rec.Kind, order[last])
			}
			last = k
			got[rec.Kind] = append(got[rec.Kind], rec)
		}
		return got
	}

	got := decode(func(w *ndjsonWriter) error { return genIncidents(w, 40, 4, now) })
	if len(got[store.KindIncident]) != 40 || len(got[store.KindActivity]) != 40 || len(got[store.KindCompany]) != 2 {
		t.Fatalf("records: %d incidents, %d activities, %d companies", len(got[store.KindIncident]), len(got[store.KindActivity]), len(got[store.KindCompany]))
	}
	inc := got[store.KindIncident][39].Value.(*store.Incident)
	act := got[store.KindActivity][39]
	if inc.ID != genID(now, 39) || inc.Number != 40 || inc.DataVersion != 1 || inc.Data["aptBusinessObjectId"] != "INC-40" ||
		act.IncidentID != inc.ID || act.Value.(*store.Activity).DataVersion != 1 {
		t.Errorf("incident %+v, activity %+v", inc, act)
	}
	seq := got[store.KindSequence][0].Value.(*store.Sequence)
	if seq.Key != store.SequenceKey("default", seedOwner, "incident") || seq.Value != 40 {
		t.Errorf("sequence %+v", seq)
	}

	expires := now.Add(time.Minute)
	got = decode(func(w *ndjsonWriter) error { return genExpiring(w, 3, 4, now, expires) })
	if len(got[store.KindToken]) != 4 || len(got[store.KindIdempotency]) != 3 {
		t.Fatalf("%d tokens, %d keys", len(got[store.KindToken]), len(got[store.KindIdempotency]))
	}
	key := got[store.KindIdempotency][2].Value.(*store.IdempotencyRecord)
	if key.Key != store.IdempotencyKeyID(seedOwner, apiKeyOf(0), userID(0), "bench-expiring-2") || !key.ExpiresAt.Equal(expires) || len(key.Body) == 0 {
		t.Errorf("idempotency record %+v", key)
	}
	if tok := got[store.KindToken][1].Value.(*store.Token); tok.Kind != store.RefreshToken || !tok.ExpiresAt.Equal(expires) {
		t.Errorf("token %+v", tok)
	}
}
