package envelope

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestIdempotencyKeyRules(t *testing.T) {
	t.Parallel()
	inHeader := &Request{Header: RequestHeader{IdempotencyKey: "k1"}}
	none := &Request{}
	cases := []struct {
		req      *Request
		fromHTTP string
		want     string
		problem  string
	}{
		{none, "", "", ""},
		{none, "k1", "k1", ""},
		{inHeader, "", "k1", ""},
		{inHeader, "k1", "k1", ""},
		{inHeader, "k2", "", "differs from the Idempotency-Key HTTP header"},
		{none, "\xff\xfe", "", "not valid UTF-8"},
		{none, strings.Repeat("k", MaxIdempotencyKeyLen+1), "", "at most 255 allowed"},
	}
	for _, c := range cases {
		got, err := c.req.IdempotencyKey(c.fromHTTP)
		switch {
		case c.problem == "" && (err != nil || got != c.want):
			t.Errorf("key %q with header %q: %q, %v; want %q", c.fromHTTP, c.req.Header.IdempotencyKey, got, err, c.want)
		case c.problem != "":
			var e *Error
			if err == nil || !strings.Contains(err.Error(), c.problem) || !asError(err, &e) || e.Kind != KindHeaderValidation {
				t.Errorf("key %q with header %q: %v; want a HeaderValidation error saying %q", c.fromHTTP, c.req.Header.IdempotencyKey, err, c.problem)
			}
		}
	}
}

// A retry is told from another request by its hash: the same event, place
// and payload hash alike whatever the payload's key order; anything else
// differs.
func TestRequestHash(t *testing.T) {
	t.Parallel()
	base := func(payload map[string]any) *Request {
		return &Request{Header: RequestHeader{EventName: "a:b:v1", Dataspace: "default", ProcessNetworkID: "n", OwnerID: "o"}, Payload: payload}
	}
	a := base(map[string]any{"x": json.Number("1"), "y": "z"}).Hash()
	if b := base(map[string]any{"y": "z", "x": json.Number("1")}).Hash(); a != b {
		t.Fatal("the same payload hashed differently")
	}
	if c := base(map[string]any{"x": json.Number("1.0"), "y": "z"}).Hash(); a == c {
		t.Fatal("numbers written differently hashed alike")
	}
	other := base(map[string]any{"x": json.Number("1"), "y": "z"})
	other.Header.OwnerID = "p"
	if other.Hash() == a {
		t.Fatal("another owner hashed alike")
	}
}

func TestOwnCompanyAndSchemaValidation(t *testing.T) {
	t.Parallel()
	own := &Request{Event: EventName{App: "authorization-manager", Action: "generate-apiKeyCredentials", Version: 1}, Header: RequestHeader{OwnerID: OwnCompany}}
	if !own.ActsForOwnCompany() {
		t.Fatal("the zero UUID of an authorization-manager event is not the caller's own company")
	}
	apt := &Request{Event: EventName{App: "agile-process-teams", Action: "add-incident", Version: 5}, Header: RequestHeader{OwnerID: OwnCompany}}
	if apt.ActsForOwnCompany() {
		t.Fatal("the zero UUID means the own company in agile-process-teams events too")
	}
	e := SchemaValidation([]string{"$.a: missing", "$.b: not a string"})
	var msg struct {
		Problems []string `json:"validation-failed"`
	}
	if e.Kind != KindSchemaValidation || json.Unmarshal([]byte(e.Message), &msg) != nil || len(msg.Problems) != 2 {
		t.Fatalf("SchemaValidation: %+v", e)
	}
	if got, ok := e.ValidationProblems(); !ok || len(got) != 2 || got[1] != "$.b: not a string" {
		t.Fatalf("ValidationProblems: %q, %v", got, ok)
	}
	if _, ok := Errorf(KindHeaderValidation, "x").ValidationProblems(); ok {
		t.Fatal("a header error read as validation problems")
	}
}
