package ferretimport_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/ferretimport"
)

// fixture unpacks testdata/ferretdb-era.tar.gz (the data directory of a
// FerretDB-era gateway, see testdata/README.md) into a directory of the
// test's own and returns it.
func fixture(t *testing.T) string {
	t.Helper()
	return filepath.Join(gatewaytest.Unpack(t, "testdata/ferretdb-era.tar.gz"), "data")
}

type expectation struct {
	Companies    []store.Company           `json:"companies"`
	Networks     []store.Network           `json:"networks"`
	Clients      []store.Client            `json:"clients"`
	Sequences    []store.Sequence          `json:"sequences"`
	Users        []store.User              `json:"users"`
	OAuthClients []store.OAuthClient       `json:"oauthClients"`
	Tokens       []store.Token             `json:"tokens"`
	Idempotency  []store.IdempotencyRecord `json:"idempotency"`
	Incidents    []struct {
		ID          string          `json:"id"`
		Step        string          `json:"step"`
		ProcessType string          `json:"processType"`
		Dataspace   string          `json:"dataspace"`
		OwnerID     string          `json:"ownerId"`
		NetworkID   string          `json:"networkId"`
		PartnerID   string          `json:"partnerId"`
		Inline      bool            `json:"inline"`
		Record      json.RawMessage `json:"record"`
		Comments    []struct {
			Comment json.RawMessage `json:"comment"`
			AddedIn int64           `json:"addedIn"`
			Index   int             `json:"index"`
		} `json:"comments"`
		Activities json.RawMessage `json:"activities"`
	} `json:"incidents"`
	Facts map[string]string `json:"facts"`
}

func loadExpectation(t *testing.T) *expectation {
	t.Helper()
	raw, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expectation
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// decodeKept decodes JSON with numbers as the gateway keeps them.
func decodeKept(t *testing.T, raw []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
}

func readAll(t *testing.T, dir string) []store.Record {
	t.Helper()
	var out []store.Record
	err := ferretimport.Read(context.Background(), dir, "", func(r store.Record) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var kindOrder = []string{store.KindCompany, store.KindNetwork, store.KindClient, store.KindSequence, store.KindUser,
	store.KindOAuthClient, store.KindToken, store.KindIncident, store.KindComment, store.KindActivity, store.KindIdempotency}

// byKind splits records by kind, checking that the kinds come in the order
// of the Kind constants.
func byKind(t *testing.T, recs []store.Record) map[string][]store.Record {
	t.Helper()
	out := map[string][]store.Record{}
	last := -1
	for _, r := range recs {
		k := slices.Index(kindOrder, r.Kind)
		if k < 0 {
			t.Fatalf("unknown kind %q", r.Kind)
		}
		if k < last {
			t.Fatalf("a %s record after a %s record", r.Kind, kindOrder[last])
		}
		last = k
		out[r.Kind] = append(out[r.Kind], r)
	}
	return out
}

// sameJSON compares records as JSON, the form they are exported in, in
// any order.
func sameJSON[T any](t *testing.T, what string, got []store.Record, want []T) {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var g, w []string
	for _, r := range got {
		g = append(g, enc(r.Value))
	}
	for _, v := range want {
		w = append(w, enc(v))
	}
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, strings.Join(g, "\n     "), strings.Join(w, "\n     "))
	}
}

func TestReadFixture(t *testing.T) {
	t.Parallel()
	exp := loadExpectation(t)
	recs := readAll(t, fixture(t))
	kinds := byKind(t, recs)

	sameJSON(t, "companies", kinds[store.KindCompany], exp.Companies)
	sameJSON(t, "networks", kinds[store.KindNetwork], exp.Networks)
	sameJSON(t, "clients", kinds[store.KindClient], exp.Clients)
	sameJSON(t, "users", kinds[store.KindUser], exp.Users)
	sameJSON(t, "oauth clients", kinds[store.KindOAuthClient], exp.OAuthClients)
	sameJSON(t, "tokens", kinds[store.KindToken], exp.Tokens)
	sameJSON(t, "idempotency records", kinds[store.KindIdempotency], exp.Idempotency)
	var seqs []store.Sequence
	for _, s := range exp.Sequences {
		if s.Key != `["clients-revision"]` {
			seqs = append(seqs, s)
		}
	}
	if len(seqs) == len(exp.Sequences) {
		t.Error("the fixture has no clients-revision counter to drop")
	}
	sameJSON(t, "sequences (without the clients-revision counter)", kinds[store.KindSequence], seqs)

	t.Run("clients", func(t *testing.T) {
		clients := map[string]*store.Client{}
		for _, r := range kinds[store.KindClient] {
			c := r.Value.(*store.Client)
			clients[c.APIKey] = c
		}
		minted, grandchild, cli := clients[exp.Facts["mintedKey"]], clients[exp.Facts["mintedByMintedKey"]], clients[exp.Facts["cliClientKey"]]
		if minted == nil || grandchild == nil || cli == nil {
			t.Fatalf("minted %v, minted by it %v, made by the CLI %v", minted, grandchild, cli)
		}
		if minted.MintedBy != "acme-key" || minted.LicensePlate == "" || minted.Active() || minted.CompanyID != "acme" {
			t.Errorf("the client acme-key minted, revoked by the CLI: %+v", minted)
		}
		if grandchild.MintedBy != minted.APIKey || grandchild.Active() {
			t.Errorf("the client the minted one minted, revoked with it: %+v", grandchild)
		}
		if !cli.Active() || cli.MintedBy != "" || cli.CompanyID != "other-co" || cli.UserID != "ops" || cli.CreatedAt == 0 {
			t.Errorf("the client made by the CLI: %+v", cli)
		}
		for _, key := range []string{"acme-key", "supplier-key", "other-key"} {
			if c := clients[key]; c == nil || !c.Active() || !strings.HasPrefix(c.SecretHash, "sha256:") {
				t.Errorf("seeded client %s: %+v", key, c)
			}
		}
	})

	t.Run("users and OAuth", func(t *testing.T) {
		users := map[string]*store.User{}
		for _, r := range kinds[store.KindUser] {
			u := r.Value.(*store.User)
			users[u.Username] = u
		}
		ann, tim := users[exp.Facts["disabledUser"]], users["tim@acme.com"]
		if ann == nil || !ann.Disabled || ann.DisabledAt.IsZero() || ann.DisabledAt.Location() != time.UTC || ann.Name != "Ann" {
			t.Errorf("the user disabled by the CLI: %+v", ann)
		}
		if tim == nil || tim.Disabled || tim.DisabledAt != (time.Time{}) || !strings.HasPrefix(tim.PasswordHash, "$2") {
			t.Errorf("the seeded user: %+v", tim)
		}
		for _, r := range kinds[store.KindOAuthClient] {
			o := r.Value.(*store.OAuthClient)
			if o.Revoked != (o.ClientID == exp.Facts["revokedOAuthClient"]) {
				t.Errorf("OAuth client %+v", o)
			}
		}
		var revoked, access int
		for _, r := range kinds[store.KindToken] {
			tok := r.Value.(*store.Token)
			if tok.Revoked {
				revoked++
			}
			if tok.Kind == store.AccessToken {
				access++
			}
			if tok.ClientID != "acme-app" || tok.Username != "tim@acme.com" || !tok.ExpiresAt.After(tok.IssuedAt) {
				t.Errorf("token %+v", tok)
			}
		}
		// A password grant and a refresh (which spends the first refresh
		// token), then the new access token revoked.
		if len(kinds[store.KindToken]) != 4 || access != 2 || revoked != 2 {
			t.Errorf("%d tokens, %d access, %d revoked; want 4, 2, 2", len(kinds[store.KindToken]), access, revoked)
		}
	})

	t.Run("idempotency", func(t *testing.T) {
		recs := kinds[store.KindIdempotency]
		if len(recs) != 1 {
			t.Fatalf("%d idempotency records, want 1", len(recs))
		}
		r := recs[0].Value.(*store.IdempotencyRecord)
		if r.Key != store.IdempotencyKeyID("acme", "acme-key", "alice", exp.Facts["idempotencyKey"]) ||
			r.LicensePlate != exp.Facts["idempotencyPlate"] || r.State != store.IdempotencyDone || r.Status != 200 ||
			len(r.Body) == 0 || !r.ExpiresAt.After(r.CreatedAt) || r.CreatedAt.Location() != time.UTC {
			t.Errorf("idempotency record %+v", r)
		}
	})

	t.Run("incidents", func(t *testing.T) {
		incidents := map[string]*store.Incident{}
		comments := map[string][]*store.Comment{}
		history := map[string][]*store.Activity{}
		for _, r := range kinds[store.KindIncident] {
			inc := r.Value.(*store.Incident)
			if incidents[inc.ID] != nil {
				t.Errorf("incident %s twice", inc.ID)
			}
			if inc.Comments != nil || inc.Activities != nil {
				t.Errorf("incident %s carries comments or history", inc.ID)
			}
			incidents[inc.ID] = inc
		}
		for _, r := range kinds[store.KindComment] {
			comments[r.IncidentID] = append(comments[r.IncidentID], r.Value.(*store.Comment))
		}
		for _, r := range kinds[store.KindActivity] {
			history[r.IncidentID] = append(history[r.IncidentID], r.Value.(*store.Activity))
		}
		if len(incidents) != len(exp.Incidents) {
			t.Errorf("%d incidents, want %d", len(incidents), len(exp.Incidents))
		}
		for _, e := range exp.Incidents {
			t.Run(e.Step, func(t *testing.T) {
				inc := incidents[e.ID]
				if inc == nil {
					t.Fatalf("incident %s is missing", e.ID)
				}
				var rec struct {
					ID                  string         `json:"id"`
					ObjectType          string         `json:"objectType"`
					SchemaVersion       int            `json:"schemaVersion"`
					DataVersion         int64          `json:"dataVersion"`
					OwnerID             string         `json:"ownerId"`
					CreatedByUserID     string         `json:"createdByUserId"`
					LastUpdatedByUserID string         `json:"lastUpdatedByUserId"`
					CreationDateTime    int64          `json:"creationDateTime"`
					LastUpdatedDateTime int64          `json:"lastUpdatedDateTime"`
					CurrentBaseState    string         `json:"currentBaseState"`
					Data                map[string]any `json:"data"`
				}
				decodeKept(t, e.Record, &rec)
				rec.Data = jsonvalue.Plain(rec.Data).(map[string]any)
				number, _ := rec.Data["aptBusinessObjectIntegerIdentifier"].(int64)
				want := store.Incident{ID: e.ID, Dataspace: e.Dataspace, OwnerID: e.OwnerID, NetworkID: e.NetworkID,
					ProcessType: e.ProcessType, SchemaVersion: rec.SchemaVersion, DataVersion: rec.DataVersion,
					CreatedByUserID: rec.CreatedByUserID, LastUpdatedBy: rec.LastUpdatedByUserID,
					CreatedAt: rec.CreationDateTime, LastUpdatedAt: rec.LastUpdatedDateTime,
					CurrentBaseState: rec.CurrentBaseState, Number: number, PartnerID: e.PartnerID, Data: rec.Data}
				if rec.ObjectType != "agile-process-teams:"+e.ProcessType || rec.OwnerID != e.OwnerID || number == 0 {
					t.Errorf("the expectation's record is %s", e.Record)
				}
				if !reflect.DeepEqual(*inc, want) {
					g, _ := json.Marshal(inc)
					w, _ := json.Marshal(want)
					t.Errorf("incident:\n got %s\nwant %s", g, w)
				}

				var wantComments []*store.Comment
				for _, c := range e.Comments {
					var wc store.Comment
					decodeKept(t, c.Comment, &wc)
					for i, a := range wc.Attachments {
						wc.Attachments[i] = jsonvalue.Plain(a).(map[string]any)
					}
					wc.Position = store.CommentPosition(c.AddedIn, c.Index)
					wantComments = append(wantComments, &wc)
				}
				if !reflect.DeepEqual(comments[e.ID], wantComments) {
					g, _ := json.Marshal(comments[e.ID])
					w, _ := json.Marshal(wantComments)
					t.Errorf("comments, in order:\n got %s\nwant %s", g, w)
				}

				var wantHistory []*store.Activity
				decodeKept(t, e.Activities, &wantHistory)
				for _, a := range wantHistory {
					if a.Detail != nil {
						a.Detail = jsonvalue.Plain(a.Detail).(map[string]any)
					}
				}
				if int64(len(wantHistory)) != rec.DataVersion {
					t.Errorf("the expectation has %d history entries at dataVersion %d", len(wantHistory), rec.DataVersion)
				}
				if !reflect.DeepEqual(history[e.ID], wantHistory) {
					g, _ := json.Marshal(history[e.ID])
					w, _ := json.Marshal(wantHistory)
					t.Errorf("history:\n got %s\nwant %s", g, w)
				}
			})
		}

		// What the steps did, stated without the expectation file.
		var life, inline *store.Incident
		for _, e := range exp.Incidents {
			switch e.Step {
			case "life":
				life = incidents[e.ID]
			case "inline":
				inline = incidents[e.ID]
			}
		}
		if life == nil || inline == nil {
			t.Fatal("the fixture lacks the life or inline incident")
		}
		var events []string
		for _, a := range history[life.ID] {
			events = append(events, strings.TrimPrefix(a.EventName, "agile-process-teams:"))
		}
		wantEvents := []string{"add-incident:v5", "edit-incident:v5", "add-comment-for-incident:v1", "edit-comment-for-incident:v1",
			"toggle-user-follows-incident:v1", "close-incident:v1", "reopen-incident:v1", "add-comment-for-incident:v1"}
		if !slices.Equal(events, wantEvents) || life.DataVersion != 8 {
			t.Errorf("life: dataVersion %d, history %v", life.DataVersion, events)
		}
		var texts []string
		for _, c := range comments[life.ID] {
			texts = append(texts, c.CommentText)
		}
		wantTexts := []string{"Opened from the warehouse report", "Pallets counted again: 48 (edited)", "Internal: ask the carrier", "Reopened: two more pallets found"}
		if !slices.Equal(texts, wantTexts) {
			t.Errorf("life: comments %q, want %q", texts, wantTexts)
		}
		// The inline incident's values keep their BSON types.
		d := inline.Data
		typed := map[string]any{"wholeDouble": 3.0, "ratio": 2.5, "small": int64(7), "big": int64(1) << 53,
			"aptBusinessObjectIntegerIdentifier": int64(900), "dateSubmitted": nil, "isSubmittedToPartner": false,
			"list": []any{int64(1), "two", 3.25, nil, true}, "nested": map[string]any{"deep": map[string]any{"deeper": []any{}}}}
		for k, v := range typed {
			if got, ok := d[k]; !ok || !reflect.DeepEqual(got, v) {
				t.Errorf("inline data %s: %#v, want %#v", k, got, v)
			}
		}
		if inline.SchemaVersion != 5 || inline.Number != 900 || inline.DataVersion != 2 {
			t.Errorf("inline incident %+v", inline)
		}
		detail := history[inline.ID][1].Detail
		if !reflect.DeepEqual(detail, map[string]any{"note": "kept", "weight": 1.5, "count": int64(2)}) {
			t.Errorf("inline history detail %#v", detail)
		}
	})

	t.Run("records survive the export format", func(t *testing.T) {
		for _, r := range recs {
			line, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			back, err := store.DecodeRecord(line)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			again, _ := json.Marshal(back)
			if string(again) != string(line) {
				t.Errorf("record changed through the export format:\n%s\n%s", line, again)
			}
		}
	})
}

// snapshot is every file in dir with a hash of its contents and its
// modification time: a read must leave it as it is.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = fmt.Sprintf("%x %s %s", sum, info.ModTime(), info.Mode())
	}
	return out
}

func TestReadAndDetectLeaveTheFilesAsTheyAre(t *testing.T) {
	t.Parallel()
	dir := fixture(t)
	// Nothing may be created beside the database either (an -shm or -wal
	// file): a directory without write permission refuses that, except
	// to root, for whom the snapshots taken during the read check it.
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	before := snapshot(t, dir)
	if ok, err := ferretimport.Detect(dir); err != nil || !ok {
		t.Fatalf("Detect = %v, %v", ok, err)
	}
	n := 0
	err := ferretimport.Read(context.Background(), dir, "", func(r store.Record) error {
		if n++; n == 1 || r.Kind == store.KindIdempotency {
			if during := snapshot(t, dir); !reflect.DeepEqual(before, during) {
				t.Errorf("the data directory changed during the read (record %d): %v -> %v", n, before, during)
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("Read = %v after %d records", err, n)
	}
	if after := snapshot(t, dir); !reflect.DeepEqual(before, after) {
		t.Errorf("the data directory changed: %v -> %v", before, after)
	}
}

// sjsonCompany is a company as FerretDB stores it.
func sjsonCompany(id, name string) string {
	b, _ := json.Marshal(map[string]any{"$s": map[string]any{"p": map[string]any{"_id": map[string]string{"t": "string"},
		"name": map[string]string{"t": "string"}}, "$k": []string{"_id", "name"}}, "_id": id, "name": name})
	return string(b)
}

func companyTable(t *testing.T, db *sql.DB) string {
	t.Helper()
	var table string
	if err := db.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = 'companies'`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	return table
}

// A gateway killed before SQLite checkpointed leaves committed
// transactions in the -wal file: they are read, and the files left as
// they are.
func TestReadRecoversTheWriteAheadLog(t *testing.T) {
	t.Parallel()
	src := fixture(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(src, "scwm.sqlite")+"?_pragma=journal_mode(wal)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`INSERT INTO "`+companyTable(t, db)+`" (_ferretdb_sjson) VALUES (?)`, sjsonCompany("late-co", "Late Co")); err != nil {
		t.Fatal(err)
	}
	// The files as a kill would leave them: the transaction in the log
	// only.
	crashed := t.TempDir()
	for _, name := range []string{"scwm.sqlite", "scwm.sqlite-wal"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := os.Stat(filepath.Join(crashed, "scwm.sqlite-wal")); err != nil || st.Size() == 0 {
		t.Fatalf("no log to recover: %v %v", st, err)
	}
	before := snapshot(t, crashed)
	if ok, err := ferretimport.Detect(crashed); err != nil || !ok {
		t.Fatalf("Detect = %v, %v", ok, err)
	}
	found := false
	for _, r := range readAll(t, crashed) {
		if c, ok := r.Value.(*store.Company); ok && c.ID == "late-co" && c.Name == "Late Co" {
			found = true
		}
	}
	if !found {
		t.Error("the company committed in the log was not read")
	}
	if after := snapshot(t, crashed); !reflect.DeepEqual(before, after) {
		t.Errorf("the data directory changed: %v -> %v", before, after)
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	other := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(other, "scwm.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE records (id TEXT PRIMARY KEY, value TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	emptyFile := t.TempDir()
	if err := os.WriteFile(filepath.Join(emptyFile, "scwm.sqlite"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	text := t.TempDir()
	if err := os.WriteFile(filepath.Join(text, "notes.sqlite"), []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	renamed := fixture(t)
	if err := os.Rename(filepath.Join(renamed, "scwm.sqlite"), filepath.Join(renamed, "prod.sqlite")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		dir  string
		want bool
	}{
		{"the fixture", fixture(t), true},
		{"another database name", renamed, true},
		{"an empty directory", t.TempDir(), false},
		{"a missing directory", filepath.Join(t.TempDir(), "missing"), false},
		{"an SQLite file of something else", other, false},
		{"an empty .sqlite file", emptyFile, false},
		{"a .sqlite file of text", text, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := ferretimport.Detect(c.dir)
			if err != nil || got != c.want {
				t.Errorf("Detect = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

// readErr reads dir and returns the error, failing on success.
func readErr(t *testing.T, dir, database string) error {
	t.Helper()
	err := ferretimport.Read(context.Background(), dir, database, func(store.Record) error { return nil })
	if err == nil {
		t.Fatal("Read succeeded")
	}
	return err
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

func TestReadRefusesWhatIsNotAnIntactDatabase(t *testing.T) {
	t.Parallel()
	t.Run("truncated", func(t *testing.T) {
		t.Parallel()
		dir := fixture(t)
		file := filepath.Join(dir, "scwm.sqlite")
		st, _ := os.Stat(file)
		if err := os.Truncate(file, st.Size()/2); err != nil {
			t.Fatal(err)
		}
		wantErr(t, readErr(t, dir, ""), "scwm.sqlite is truncated")
	})
	t.Run("pages overwritten", func(t *testing.T) {
		t.Parallel()
		dir := fixture(t)
		file := filepath.Join(dir, "scwm.sqlite")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i := 4096; i < len(b)*3/4; i++ { // every page but the first and the last quarter
			b[i] = byte(i * 7)
		}
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		wantErr(t, readErr(t, dir, ""), "read the FerretDB-era database", "scwm.sqlite")
	})
	t.Run("not SQLite", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "scwm.sqlite"), []byte(strings.Repeat("garbage ", 100)), 0o600); err != nil {
			t.Fatal(err)
		}
		wantErr(t, readErr(t, dir, ""), "is not an SQLite database")
	})
	t.Run("SQLite of something else", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		db, err := sql.Open("sqlite", filepath.Join(dir, "scwm.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		wantErr(t, readErr(t, dir, ""), "is not a FerretDB database")
	})
	t.Run("another database name", func(t *testing.T) {
		t.Parallel()
		wantErr(t, readErr(t, fixture(t), "prod"), `no FerretDB database "prod"`, "it holds scwm")
	})
	t.Run("empty directory", func(t *testing.T) {
		t.Parallel()
		wantErr(t, readErr(t, t.TempDir(), ""), "scwm.sqlite")
	})
}

// change applies SQL to a copy of the fixture and reads it back.
func readChanged(t *testing.T, collection, set string, args ...any) error {
	t.Helper()
	dir := fixture(t)
	db, err := sql.Open("sqlite", filepath.Join(dir, "scwm.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	var table string
	if err := db.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = ?`, collection).Scan(&table); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(strings.ReplaceAll(set, "$table", `"`+table+`"`), args...); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return readErr(t, dir, "")
}

func TestReadRefusesDocumentsItCannotDecode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		collection string
		set        string
		args       []any
		want       []string
	}{
		{"a field of another type", "clients",
			`UPDATE $table SET _ferretdb_sjson = json_set(_ferretdb_sjson, '$.createdAt', 'soon', '$."$s".p.createdAt.t', 'string') WHERE _ferretdb_sjson->>'$._id' = 'acme-key'`, nil,
			[]string{"collection clients", `document "acme-key"`, `field "createdAt" is a string, want an integer`}},
		{"a schema that does not fit", "companies",
			`UPDATE $table SET _ferretdb_sjson = ? WHERE _ferretdb_sjson->>'$._id' = 'acme'`, []any{`{"$s":{"p":{"_id":{"t":"long"}},"$k":["_id"]},"_id":"acme"}`},
			[]string{"collection companies", "_id: not a valid long"}},
		{"no schema", "networks",
			`UPDATE $table SET _ferretdb_sjson = '{"_id":"net-1"}' WHERE _ferretdb_sjson->>'$._id' = 'net-1'`, nil,
			[]string{"collection networks", "no $s schema"}},
		{"a version's text cut off", "incident_versions",
			`UPDATE $table SET _ferretdb_sjson = json_set(_ferretdb_sjson, '$.json', substr(_ferretdb_sjson->>'$.json', 1, 50)) WHERE _ferretdb_sjson->>'$.dataVersion' = 1 AND _ferretdb_sjson->>'$.json' IS NOT NULL`, nil,
			[]string{"collection incident_versions", "its json"}},
		{"a version missing", "incident_versions",
			`DELETE FROM $table WHERE _ferretdb_sjson->>'$._id' LIKE '%/2' AND _ferretdb_sjson->>'$.json' IS NOT NULL`, nil,
			[]string{"versions numbered 1 to", "without a gap"}},
		{"a version under another _id", "incident_versions",
			`UPDATE $table SET _ferretdb_sjson = json_set(_ferretdb_sjson, '$._id', '00-elsewhere') WHERE rowid = (SELECT min(rowid) FROM $table WHERE _ferretdb_sjson->>'$.json' IS NOT NULL)`, nil,
			[]string{`version "00-elsewhere"`, "<incident id>/<dataVersion>"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			wantErr(t, readChanged(t, c.collection, c.set, c.args...), c.want...)
		})
	}
}

func TestReadRefusesLegacyIncidents(t *testing.T) {
	t.Parallel()
	dir := fixture(t)
	db, err := sql.Open("sqlite", filepath.Join(dir, "scwm.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE "incidents_0000" (_ferretdb_sjson TEXT NOT NULL) STRICT`,
		`INSERT INTO _ferretdb_collections (name, table_name, settings) VALUES ('incidents', 'incidents_0000', '{}')`,
		`INSERT INTO "incidents_0000" VALUES ('{"$s":{"p":{"_id":{"t":"string"}},"$k":["_id"]},"_id":"x"}')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	wantErr(t, readErr(t, dir, ""), "collection incidents holds 1 incidents")
}

func TestReadReturnsEmitsError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop here")
	for _, at := range []int{1, 30, 45} { // a company, within the incidents, later
		n := 0
		err := ferretimport.Read(context.Background(), fixture(t), "", func(store.Record) error {
			n++
			if n == at {
				return stop
			}
			return nil
		})
		if err != stop || n != at {
			t.Errorf("stopping at record %d: Read = %v after %d records", at, err, n)
		}
	}
}

func TestReadStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := ferretimport.Read(ctx, fixture(t), "", func(store.Record) error {
		n++
		if n == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read = %v after %d records, want context.Canceled", err, n)
	}
}

// A database the old gateway never opened has FerretDB's own _id index,
// on another expression, and one without either index is sorted by
// SQLite: both read the same records.
func TestReadWithoutTheOldGatewaysIndex(t *testing.T) {
	t.Parallel()
	want := readAll(t, fixture(t))
	for _, c := range []struct{ name, index string }{
		{"FerretDB's index", `CREATE UNIQUE INDEX "%s__id_" ON "%s" (_ferretdb_sjson->"_id")`},
		{"no index", ``},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := fixture(t)
			db, err := sql.Open("sqlite", filepath.Join(dir, "scwm.sqlite"))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.Query(`SELECT table_name FROM _ferretdb_collections`)
			if err != nil {
				t.Fatal(err)
			}
			var tables []string
			for rows.Next() {
				var table string
				_ = rows.Scan(&table)
				tables = append(tables, table)
			}
			rows.Close()
			for _, table := range tables {
				if _, err := db.Exec(fmt.Sprintf(`DROP INDEX "%s_scwm_id_lookup"`, table)); err != nil {
					t.Fatal(err)
				}
				if c.index != "" {
					if _, err := db.Exec(fmt.Sprintf(c.index, table, table)); err != nil {
						t.Fatal(err)
					}
				}
			}
			db.Close()
			got := readAll(t, dir)
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("other records, or in another order:\n got %s\nwant %s", g, w)
			}
		})
	}
}
