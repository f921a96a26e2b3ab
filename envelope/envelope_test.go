package envelope

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseEventName(t *testing.T) {
	t.Parallel()
	good := map[string]EventName{
		"agile-process-teams:add-incident:v5":                 {"agile-process-teams", "add-incident", 5},
		"authorization-manager:generate-apiKeyCredentials:v1": {"authorization-manager", "generate-apiKeyCredentials", 1},
		"agile-process-teams:read-directSupplierIncident:v12": {"agile-process-teams", "read-directSupplierIncident", 12},
	}
	for in, want := range good {
		got, err := ParseEventName(in)
		if err != nil || got != want {
			t.Errorf("%q: got %+v, %v", in, got, err)
		}
		if got.String() != in {
			t.Errorf("%q round-trips as %q", in, got.String())
		}
	}
	if got := good["agile-process-teams:add-incident:v5"].Response(); got != "agile-process-teams:add-incident-response:v5" {
		t.Errorf("Response() = %q", got)
	}
	for _, bad := range []string{"", "add-incident", "a:b", "a:b:c:d", "a:b:5", "a:b:v", "a:b:v0", "a:b:v01", "a:b:v-1",
		"a::v1", ":b:v1", "a b:c:v1", "a:b:v1x", "a:b:v9999999"} {
		if _, err := ParseEventName(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestParseRequestPositions(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"{":                               "line 1, column 2",
		"{\"header\": {}, \"payload\": }": "line 1, column 27",
		"{\n\n   x":                       "line 3, column 4",
		"{\"a\": 1}\n\n]":                 "line 3, column 1",
	}
	for body, want := range cases {
		_, err := ParseRequest([]byte(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v does not contain %q", body, err, want)
		}
		var e *Error
		if !asError(err, &e) || e.Kind != KindMalformedEnvelope {
			t.Errorf("%q: error %v is not MalformedEnvelope", body, err)
		}
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	*target = e
	return ok
}

func TestFailureEnvelopeShape(t *testing.T) {
	t.Parallel()
	req, err := ParseRequest([]byte(`{"header":{"eventName":"agile-process-teams:close-incident:v1","ownerId":"acme"},"payload":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp := Failure(req, "PLATE", Errorf(KindInvalidStateTransition, "closed"))
	raw, _ := json.Marshal(resp)
	want := `{"header":{"headerVersion":1,"eventName":"agile-process-teams:close-incident-response:v1","ownerId":"acme","isErr":true,"errCode":"409","licensePlate":"PLATE","errMsg":"closed","exceptionName":"InvalidStateTransitionException"},"payload":null}`
	if string(raw) != want {
		t.Fatalf("got  %s\nwant %s", raw, want)
	}
}

func TestLicensePlatesAreShortURLSafeUniqueAndOrdered(t *testing.T) {
	t.Parallel()
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		p := NewLicensePlate()
		if len(p) != LicensePlateLen || strings.Trim(p, plateAlphabet) != "" || strings.HasPrefix(p, "-") {
			t.Fatalf("plate %q is not %d URL-safe characters", p, LicensePlateLen)
		}
		if seen[p] {
			t.Fatalf("duplicate plate %q", p)
		}
		seen[p] = true
		if p[:8] < prev[:min(8, len(prev))] {
			t.Fatalf("plate %q sorts before the earlier %q", p, prev)
		}
		prev = p
	}
}

// A header written field by field is what json.Marshal writes of it, for
// headers with and without each field and with text that needs escapes.
func TestResponseHeaderIsWhatMarshalWrites(t *testing.T) {
	t.Parallel()
	texts := []string{"", "plain", "<b>&amp;</b>", "quote \" back \\ slash", "tab\tnew\nline\u0001", "caf\u00e9 \u2028 \U0001F600"}
	n := 0
	for _, event := range texts {
		for _, msg := range texts {
			for _, warnings := range [][]string{nil, {}, {"one"}, {"<a>", "b\n"}} {
				n++
				h := ResponseHeader{HeaderVersion: n, EventName: event, OwnerID: msg, IsErr: n%2 == 0, ErrCode: event + "x",
					LicensePlate: msg, ErrMsg: msg, ExceptionName: event, Warnings: warnings}
				want, err := json.Marshal(h)
				if err != nil {
					t.Fatal(err)
				}
				if got := h.appendJSON(nil); string(got) != string(want) {
					t.Fatalf("header %+v\n got %s\nwant %s", h, got, want)
				}
			}
		}
	}
}

// A response is what json.Marshal writes of it, whatever its payload.
func TestResponseMarshalIsJSONMarshal(t *testing.T) {
	t.Parallel()
	for _, payload := range []any{nil, map[string]any{"id": "x", "html": "<&>"}, []any{1, "a"}, "text", json.RawMessage(`{"a":1}`),
		struct {
			ID string `json:"id"`
		}{"y"}} {
		r := Success(nil, "plate", payload, []string{"w"})
		got, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := json.Marshal(r); string(got) != string(want) {
			t.Errorf("payload %#v:\n got %s\nwant %s", payload, got, want)
		}
	}
	failure := Failure(nil, "plate", Errorf(KindObjectNotFound, "no <such> incident"))
	got, _ := failure.Marshal()
	if want, _ := json.Marshal(failure); string(got) != string(want) {
		t.Errorf("failure:\n got %s\nwant %s", got, want)
	}
}
