package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// Concurrent callers never get the same number: the sequence is one atomic
// findOneAndUpdate.
func TestNextSequenceIsAtomicAndPerCompany(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	const n = 40
	got := make([]int64, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v, err := s.NextSequence(ctx, "default", "acme", "incident")
			if err != nil {
				errs <- err
			}
			got[i] = v
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	for i, v := range got {
		if v != int64(i+1) {
			t.Fatalf("numbers handed out: %v", got)
		}
	}
	for _, other := range [][2]string{{"default", "other"}, {"staging", "acme"}} {
		if v, err := s.NextSequence(ctx, other[0], other[1], "incident"); err != nil || v != 1 {
			t.Fatalf("%v starts at %d (%v), want 1", other, v, err)
		}
	}
}

func TestClientsAndSeed(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	seed := &Seed{
		Companies: []Company{{ID: "acme", Name: "Acme"}},
		Networks:  []Network{{ID: "net-1", Members: []string{"acme"}}},
		Clients:   []SeedClient{{APIKey: "k", APISecret: "0123456789abcdef", CompanyID: "acme", UserID: "u"}},
	}
	for i := 0; i < 2; i++ { // applying twice changes nothing
		if err := s.ApplySeed(ctx, seed); err != nil {
			t.Fatal(err)
		}
	}
	clients, err := s.Clients(ctx)
	if err != nil || len(clients) != 1 || clients[0].SecretHash == seed.Clients[0].APISecret || !clients[0].Active() {
		t.Fatalf("clients after seeding twice: %+v, %v", clients, err)
	}
	if err := s.RevokeClient(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplySeed(ctx, seed); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.FindClient(ctx, "k"); c.Active() {
		t.Fatal("re-applying the seed brought a revoked client back")
	}
	if err := s.RevokeClient(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking a missing client: %v", err)
	}
	if err := s.InsertClient(ctx, Client{APIKey: "k"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("inserting a taken apiKey: %v", err)
	}
}

// nextOf is the version after cur with change applied to it, as the
// domain plans one: a copy, one version higher, with its history entry.
func nextOf(cur *Incident, plate string, change func(next *Incident)) (*Incident, Activity) {
	next := *cur
	next.Data = map[string]any{}
	for k, v := range cur.Data {
		next.Data[k] = v
	}
	next.Activities = nil
	next.DataVersion++
	if change != nil {
		change(&next)
	}
	return &next, Activity{LicensePlate: plate, DataVersion: next.DataVersion}
}

// bump writes the version after the latest one, changed by change.
func bump(t *testing.T, s *Store, id, plate string, change func(next *Incident)) *Incident {
	t.Helper()
	ctx := context.Background()
	cur, err := s.FindIncident(ctx, "default", id, WithComments)
	if err != nil {
		t.Fatal(err)
	}
	next, activity := nextOf(cur, plate, change)
	if err := s.WriteVersion(ctx, next, activity); err != nil {
		t.Fatalf("write version %d of %s: %v", next.DataVersion, id, err)
	}
	return next
}

// Of many writers of one version, exactly one wins and the others get
// ErrConflict; what is stored is the winner's version. This is the store's
// whole part in changes: the domain plans again on a conflict.
func TestOneWriterWinsEachVersion(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	inc := &Incident{ID: "i1", Dataspace: "default", OwnerID: "acme", DataVersion: 1, Data: map[string]any{}, Activities: []Activity{{LicensePlate: "add"}}}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	conflicts := 0
	for i := 0; i < n; i++ {
		wg.Go(func() {
			field := "f" + string(rune('A'+i))
			next, activity := nextOf(inc, field, func(next *Incident) { next.Data[field] = int64(i) })
			err := s.WriteVersion(ctx, next, activity)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, field)
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 || conflicts != n-1 {
		t.Fatalf("%d writers of version 2 won and %d got ErrConflict; want 1 and %d", len(won), conflicts, n-1)
	}
	got, err := s.FindIncident(ctx, "default", "i1", WithActivities)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Data[won[0]]; got.DataVersion != 2 || len(got.Data) != 1 || !ok || len(got.Activities) != 2 || got.Activities[1].LicensePlate != won[0] {
		t.Fatalf("after the race: dataVersion %d, data %v, history %+v; the winner was %s", got.DataVersion, got.Data, got.Activities, won[0])
	}
	if err := s.WriteVersion(ctx, &Incident{ID: "i1", Dataspace: "default", DataVersion: 1}, Activity{}); err == nil {
		t.Fatal("a change wrote version 1")
	}
}

// What the cache holds after changes is what the store holds.
func TestCacheFollowsChanges(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	inc := &Incident{ID: "c1", Dataspace: "default", OwnerID: "acme", DataVersion: 1, CurrentBaseState: "New",
		Data:       map[string]any{"a": map[string]any{"b": int64(1)}, "followerId": []any{}, "n": nil},
		Activities: []Activity{{LicensePlate: "add"}}}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	changes := []func(next *Incident){
		func(next *Incident) {
			next.Data["a"] = map[string]any{"b": int64(1), "c": "x"}
			next.Data["new"] = map[string]any{"deep": []any{int64(1), "two"}}
			next.CurrentBaseState = "UnderInvestigation"
		},
		func(next *Incident) { next.Data["followerId"] = []any{"alice"} },
		func(next *Incident) {
			next.Data["followerId"] = []any{"alice", "bob"}
			next.Data["n"] = map[string]any{"k": 2.5}
		},
		func(next *Incident) {
			next.Data["followerId"] = []any{"bob"}
			next.PartnerID, next.Data["a"] = "p", "flat"
		},
	}
	for i, change := range changes {
		bump(t, s, "c1", fmt.Sprint("c-", i), func(next *Incident) {
			next.LastUpdatedBy, next.LastUpdatedAt = "u", int64(100+i)
			change(next)
		})
	}
	cached, err := s.FindIncident(ctx, "default", "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	cache := s.cache
	s.cache = nil
	stored, err := s.FindIncident(ctx, "default", "c1", 0)
	s.cache = cache
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(cached)
	b, _ := json.Marshal(stored)
	if string(a) != string(b) {
		t.Fatalf("cache and store differ:\ncache %s\nstore %s", a, b)
	}
}

// Every change is a version of its own: after n changes the latest version
// is n+1 however many versions the lookup has to probe (the cache dropped,
// as after a restart), and the history holds one entry per version, in
// order.
func TestVersionsAndHistory(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	for _, n := range []int{0, 1, 2, 3, 6, 7, 8, 16, 33} {
		id := fmt.Sprintf("v%d", n)
		inc := &Incident{ID: id, Dataspace: "default", OwnerID: "acme", DataVersion: 1, Data: map[string]any{},
			Activities: []Activity{{LicensePlate: id + "-add", DataVersion: 1}}}
		if err := s.InsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= n; i++ {
			next := bump(t, s, id, fmt.Sprintf("%s-%d", id, i), func(next *Incident) { next.Data["step"] = int64(i) })
			if next.DataVersion != int64(i+1) {
				t.Fatalf("%s change %d: version %d", id, i, next.DataVersion)
			}
		}
		s.cache = newIncidentCache(incidentCacheSize)
		got, err := s.FindIncident(ctx, "default", id, WithActivities)
		if err != nil {
			t.Fatal(err)
		}
		if got.DataVersion != int64(n+1) || (n > 0 && got.Data["step"] != int64(n)) {
			t.Fatalf("%s: latest is version %d with step %v, want %d and %d", id, got.DataVersion, got.Data["step"], n+1, n)
		}
		if len(got.Activities) != n+1 {
			t.Fatalf("%s: %d history entries, want %d", id, len(got.Activities), n+1)
		}
		for i, a := range got.Activities {
			want := fmt.Sprintf("%s-%d", id, i)
			if i == 0 {
				want = id + "-add"
			}
			if a.DataVersion != int64(i+1) || a.LicensePlate != want {
				t.Fatalf("%s: history entry %d is version %d plate %s, want %d %s", id, i, a.DataVersion, a.LicensePlate, i+1, want)
			}
		}
	}
	if _, err := s.FindIncident(ctx, "default", "missing", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing incident: %v, want ErrNotFound", err)
	}
	if _, err := s.FindIncident(ctx, "other", "v3", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("incident of another dataspace: %v, want ErrNotFound", err)
	}
}

// A version written by someone else (another gateway on the same MongoDB;
// here inserted behind the store's back) makes a version planned from the
// old one a conflict, even with the cache still holding the old one; planned
// again from the latest, it is written: no version is ever written twice.
func TestVersionWrittenMeanwhile(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	inc := &Incident{ID: "w1", Dataspace: "default", OwnerID: "acme", DataVersion: 1, Data: map[string]any{"x": "one"},
		Activities: []Activity{{LicensePlate: "add", DataVersion: 1}}}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	other := versionDoc{Key: versionKey("w1", 2), Incident: *inc, Activity: Activity{LicensePlate: "elsewhere", DataVersion: 2}}
	other.DataVersion, other.Data = 2, map[string]any{"x": "two"}
	other.Activities = nil
	if _, err := s.versions.InsertOne(ctx, &other); err != nil {
		t.Fatal(err)
	}
	stale, activity := nextOf(inc, "planned-from-1", func(next *Incident) { next.Data["y"] = "stale" })
	if err := s.WriteVersion(ctx, stale, activity); !errors.Is(err, ErrConflict) {
		t.Fatalf("a version planned from version 1: %v, want ErrConflict", err)
	}
	if v := bump(t, s, "w1", "free", func(next *Incident) { next.Data["y"] = "free" }).DataVersion; v != 3 {
		t.Fatalf("planned again from the latest: version %d, want 3", v)
	}
	got, err := s.FindIncident(ctx, "default", "w1", WithActivities)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["x"] != "two" || got.Data["y"] != "free" || len(got.Activities) != 3 || got.Activities[1].LicensePlate != "elsewhere" {
		t.Fatalf("after the retried change: data %v, history %+v", got.Data, got.Activities)
	}
}

// On FerretDB a version is stored compact (its lookup fields and its JSON
// text); a version in MongoDB's form, as data copied from MongoDB would be,
// reads the same.
func TestBothStoredFormsRead(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	inc := &Incident{ID: "f1", Dataspace: "default", OwnerID: "acme", DataVersion: 1, CurrentBaseState: "New",
		Data:       map[string]any{"n": int64(7), "f": 2.5, "list": []any{"a", map[string]any{"b": true}}},
		Comments:   []Comment{{ID: "c1", CommentText: "hi", Attachments: []map[string]any{{"size": int64(3)}}}},
		Activities: []Activity{{LicensePlate: "plate-1", Detail: map[string]any{"k": int64(1)}}}}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	var raw bson.M
	if err := s.versions.FindOne(ctx, bson.M{"_id": "f1/1"}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["json"].(string); !ok || raw["data"] != nil || raw["licensePlate"] != "plate-1" || raw["ownerId"] != "acme" {
		t.Fatalf("stored on FerretDB as %v, want the compact form", raw)
	}
	// The same version in MongoDB's form, under another id.
	doc := newVersionDoc(inc, inc.Activities[0])
	doc.Key, doc.ID = versionKey("f2", 1), "f2"
	if _, err := s.versions.InsertOne(ctx, doc); err != nil {
		t.Fatal(err)
	}
	s.cache = nil
	var got [2]string
	for i, id := range []string{"f1", "f2"} {
		inc, err := s.FindIncident(ctx, "default", id, WithComments|WithActivities)
		if err != nil {
			t.Fatal(err)
		}
		inc.ID = ""
		b, _ := json.Marshal(struct {
			*Incident
			A []Activity
		}{inc, inc.Activities})
		got[i] = string(b)
	}
	if got[0] != got[1] || !strings.Contains(got[0], `"n":7`) || !strings.Contains(got[0], `"size":3`) {
		t.Fatalf("the two forms read differently:\ncompact %s\nmongodb %s", got[0], got[1])
	}
	effect, err := s.FindEffect(ctx, "default", "plate-1")
	if err != nil || effect.Incident == nil || effect.Activity.Detail["k"] != int64(1) {
		t.Fatalf("FindEffect: %+v, %v", effect, err)
	}
}

// Under a steady stream of writes the write-ahead log does not grow with
// what is written: the background checkpoints (checkpointer) let SQLite
// start it over. Without the checkpoint in the write turn it grew as large
// as the database.
func TestWALStaysSmallUnderSteadyWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	text := strings.Repeat("a line of text that fills pages quickly. ", 80) // about 3 KiB a document
	var maxWAL, n int64
	// About 48 MiB of documents, or what 3 s allow.
	for start := time.Now(); time.Since(start) < 3*time.Second && n < 16000; {
		docs := make([]any, 50)
		for i := range docs {
			n++
			docs[i] = &compactVersion{Key: fmt.Sprint("w", n), JSON: text}
		}
		done := s.writeTurn() // as the group commit writes
		_, err := s.versions.InsertMany(context.Background(), docs)
		done()
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(filepath.Join(dir, "scwm.sqlite-wal")); err == nil {
			maxWAL = max(maxWAL, fi.Size())
		}
	}
	db, err := os.Stat(filepath.Join(dir, "scwm.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d documents: database %d MiB, largest WAL %d MiB", n, db.Size()>>20, maxWAL>>20)
	if db.Size() < 20<<20 {
		t.Skipf("only %d MiB written in 3 s: too little to tell", db.Size()>>20)
	}
	if maxWAL > db.Size()/2 {
		t.Fatalf("the WAL grew to %d MiB for a database of %d MiB", maxWAL>>20, db.Size()>>20)
	}
}

// The code paths a MongoDB deployment takes (latest version by a sorted
// find, history by one find, no cache, no per-document locks, documents in
// MongoDB's form), run against the embedded store's wire protocol: there is
// no MongoDB server here, but the queries and their decoding are the same.
func TestMongoDBPathsAgainstTheWireProtocol(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	s.ferret, s.cache, s.locks = false, nil, newDocLocks(false)
	ctx := context.Background()
	inc := &Incident{ID: "m1", Dataspace: "default", OwnerID: "acme", DataVersion: 1, CurrentBaseState: "New",
		Data: map[string]any{"n": int64(1)}, Activities: []Activity{{LicensePlate: "m-add"}}}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	var raw bson.M
	if err := s.versions.FindOne(ctx, bson.M{"_id": "m1/1"}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if raw["json"] != nil || raw["data"] == nil {
		t.Fatalf("stored as %v, want MongoDB's form", raw)
	}
	for i := 1; i <= 10; i++ {
		bump(t, s, "m1", fmt.Sprint("m-", i), func(next *Incident) { next.Data["n"] = int64(i + 1) })
	}
	got, err := s.FindIncident(ctx, "default", "m1", WithActivities)
	if err != nil {
		t.Fatal(err)
	}
	if got.DataVersion != 11 || got.Data["n"] != int64(11) || len(got.Activities) != 11 ||
		got.Activities[0].LicensePlate != "m-add" || got.Activities[10].LicensePlate != "m-10" {
		t.Fatalf("latest %d, n %v, %d history entries", got.DataVersion, got.Data["n"], len(got.Activities))
	}
	if err := s.WriteVersion(ctx, &Incident{ID: "m1", Dataspace: "default", OwnerID: "acme", DataVersion: 4, Data: map[string]any{}},
		Activity{LicensePlate: "stale", DataVersion: 4}); !errors.Is(err, ErrConflict) {
		t.Fatalf("a version planned from an old one: %v", err)
	}
	effect, err := s.FindEffect(ctx, "default", "m-7")
	if err != nil || effect.Activity.DataVersion != 8 || effect.Incident.Data["n"] != int64(8) {
		t.Fatalf("FindEffect: %+v, %v", effect, err)
	}
	// acme's versions, as a query by company finds them in MongoDB's form:
	// those of m1 alone, 1 to 11.
	var listed []struct {
		ID          string `bson:"incidentId"`
		DataVersion int64  `bson:"dataVersion"`
	}
	cur, err := s.versions.Find(ctx, bson.M{"dataspace": "default", "ownerId": "acme"})
	if err != nil || cur.All(ctx, &listed) != nil || len(listed) != 11 {
		t.Fatalf("acme's versions: %+v, %v", listed, err)
	}
	for _, v := range listed {
		if v.ID != "m1" || v.DataVersion < 1 || v.DataVersion > 11 {
			t.Fatalf("acme's versions: %+v", listed)
		}
	}
	// Concurrent changes without any lock: the version _id alone keeps
	// each version written once.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			cur, err := s.FindIncident(ctx, "default", "m1", WithComments)
			if err != nil {
				t.Error(err)
				return
			}
			next, activity := nextOf(cur, fmt.Sprint("c-", i), func(next *Incident) { next.Data[fmt.Sprint("c", i)] = true })
			if err := s.WriteVersion(ctx, next, activity); err != nil && !errors.Is(err, ErrConflict) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err = s.FindIncident(ctx, "default", "m1", WithActivities)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for k := range got.Data {
		if strings.HasPrefix(k, "c") {
			changed++
		}
	}
	if int64(len(got.Activities)) != got.DataVersion || got.DataVersion != int64(11+changed) {
		t.Fatalf("after concurrent changes: version %d, %d history entries, %d changes kept", got.DataVersion, len(got.Activities), changed)
	}
}
