package journal

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCleanRemovesEverySecret(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, body, contentType string
		want                    string
	}{
		{"minted credentials", `{"header":{"eventName":"authorization-manager:generate-apiKeyCredentials-response:v1"},"payload":{"apiKey":"k1","apiSecret":"s3cr3t"}}`, "application/json",
			`{"header":{"eventName":"authorization-manager:generate-apiKeyCredentials-response:v1"},"payload":{"apiKey":"k1","apiSecret":"[redacted]"}}`},
		{"nested secret object", `{"secret":{"a":[1,{"b":"s3cr3t"}]},"next":true}`, "application/json; charset=utf-8",
			`{"secret":"[redacted]","next":true}`},
		{"tokens", `{"access_token":"s3cr3t","refresh_token":"s3cr3t","token_type":"Bearer","expires_in":3600}`, "application/json",
			`{"access_token":"[redacted]","refresh_token":"[redacted]","token_type":"[redacted]","expires_in":3600}`},
		{"array of members", `[{"Password":"s3cr3t"},{"x":null,"y":-1.5e3}]`, "", `[{"Password":"[redacted]"},{"x":null,"y":-1.5e3}]`},
		{"password grant form", "grant_type=password&username=ann&password=s3cr3t&client_secret=s3cr3t", "application/x-www-form-urlencoded",
			"client_secret=%5Bredacted%5D&grant_type=password&password=%5Bredacted%5D&username=ann"},
		{"cut JSON", `{"ok":1,"apiSecret":"s3cr3t","more":"abc`, "application/json", `{"ok":1,"apiSecret":"[redacted]","more": (cut here)`},
		{"cut inside the secret", `{"ok":1,"apiSecret":{"v":"s3cr`, "application/json", `{"ok":1,"apiSecret":"[redacted]" (cut here)`},
		{"not JSON", `apiSecret=s3cr3t oops`, "application/json", "(not kept: a body that is not JSON may hold a secret)"},
		{"other type", `password: s3cr3t`, "text/plain", "(not kept: a text/plain body that may hold a secret)"},
		{"no secret at all", `{"aptBusinessObjectSummary":"<script>x</script>"}`, "application/json", `{"aptBusinessObjectSummary":"<script>x</script>"}`},
	} {
		got, _ := Clean([]byte(c.body), c.contentType, 1<<20)
		if string(got) != c.want {
			t.Errorf("%s: Clean = %s\nwant %s", c.name, got, c.want)
		}
		if strings.Contains(string(got), "s3cr") {
			t.Errorf("%s: a secret is kept: %s", c.name, got)
		}
	}
}

func TestCleanCutsAtACharacter(t *testing.T) {
	t.Parallel()
	got, truncated := Clean([]byte(`{"a":"ééééé"}`), "application/json", 9)
	if !truncated || string(got) != `{"a":"é` {
		t.Fatalf("Clean = %q, %v", got, truncated)
	}
}

func entry(plate, company string, at time.Time, body int) Entry {
	return Entry{LicensePlate: plate, CompanyID: company, Time: at, Request: make([]byte, body)}
}

func TestJournalFindsOnlyTheCompanysOwnRequests(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	j := New(Config{Now: func() time.Time { return now }})
	j.Record(entry("p1", "acme", now, 0))
	j.Record(entry("p2", "other", now, 0))
	j.Record(entry("p3", "", now, 0))
	if _, ok := j.Find("acme", "p1"); !ok {
		t.Fatal("acme's own request is not found")
	}
	for _, c := range []struct{ company, plate string }{{"acme", "p2"}, {"other", "p1"}, {"", "p3"}, {"acme", "p3"}, {"acme", "nope"}} {
		if _, ok := j.Find(c.company, c.plate); ok {
			t.Errorf("%s finds %s", c.company, c.plate)
		}
	}
	if got := j.List("acme", 10); len(got) != 1 || got[0].LicensePlate != "p1" {
		t.Errorf("List(acme) = %v", got)
	}
}

func TestJournalKeepsItsBounds(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	t.Run("entries", func(t *testing.T) {
		j := New(Config{MaxEntries: 100, Now: clock})
		for i := range 1000 {
			j.Record(entry(fmt.Sprint("p", i), "acme", now, 0))
		}
		if j.Len() != 100 {
			t.Fatalf("holds %d entries, bound 100", j.Len())
		}
		if _, ok := j.Find("acme", "p899"); ok {
			t.Error("an evicted entry is found")
		}
		got := j.List("acme", 3)
		if len(got) != 3 || got[0].LicensePlate != "p999" || got[2].LicensePlate != "p997" {
			t.Errorf("newest first: %v", got)
		}
		if e, ok := j.Find("acme", "p900"); !ok || e.LicensePlate != "p900" {
			t.Error("the oldest entry kept is not found")
		}
	})
	t.Run("bytes", func(t *testing.T) {
		j := New(Config{MaxBytes: 10 * (1000 + entryOverhead), Now: clock})
		for i := range 50 {
			j.Record(entry(fmt.Sprint("p", i), "acme", now, 1000))
		}
		if j.Len() != 10 {
			t.Fatalf("holds %d entries of 1000 bytes, bound 10", j.Len())
		}
	})
	t.Run("retention", func(t *testing.T) {
		at := now
		j := New(Config{Retention: time.Minute, Now: func() time.Time { return at }})
		j.Record(entry("old", "acme", at, 0))
		at = at.Add(30 * time.Second)
		j.Record(entry("new", "acme", at, 0))
		at = at.Add(31 * time.Second)
		if _, ok := j.Find("acme", "old"); ok {
			t.Error("an entry past the retention is found")
		}
		if _, ok := j.Find("acme", "new"); !ok {
			t.Error("an entry within the retention is gone")
		}
	})
	t.Run("no bodies", func(t *testing.T) {
		j := New(Config{NoBodies: true, Now: clock})
		j.Record(entry("p", "acme", now, 10))
		if e, _ := j.Find("acme", "p"); e.Request != nil {
			t.Error("a body is kept")
		}
	})
	t.Run("reset", func(t *testing.T) {
		j := New(Config{Now: clock})
		j.Record(entry("p", "acme", now, 10))
		j.Reset()
		if _, ok := j.Find("acme", "p"); ok || j.Len() != 0 {
			t.Error("an entry survives Reset")
		}
	})
}

// BenchmarkCleanWithoutSecrets is the journal's cost on the common answer:
// a read's JSON that names no secret, looked through and kept as it is.
func BenchmarkCleanWithoutSecrets(b *testing.B) {
	body := []byte(`{"header":{"headerVersion":1,"eventName":"agile-process-teams:read-incident-response:v4","ownerId":"acme","isErr":false,"errCode":"200_OK","licensePlate":"0Q92Duoy1sXodklP"},"payload":{"id":"01a24237-9cfd-73d6-8861-af4a3deab58c","objectType":"agile-process-teams:incident","data":{"aptBusinessObjectId":"INC-1","aptBusinessObjectSummary":"Temperature excursion in transit between the warehouse and the carrier's depot","followerId":[],"isSubmittedToPartner":false}}}`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Clean(body, "application/json", DefaultMaxBodyBytes)
	}
}
