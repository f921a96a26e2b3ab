package httpapi

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzRESTBody: no REST incident body panics the REST surface's reading
// and checking of it; each is either refused with a REST error naming what
// is wrong, or turned into incident data of known fields only; and the
// canonical form a retry is matched by is a fixed point.
//
//	go test ./handlers -run '^$' -fuzz '^FuzzRESTBody$' -fuzztime 60s
func FuzzRESTBody(f *testing.F) {
	for _, seed := range []string{
		`{"subject": "Test Subject", "requesterEmail": "tim@acme.example"}`,
		`{"impact": "onDepartment", "urgency": "HIGH", "priority": "URGENT", "tags": ["rest"], "subject": "s", "description": "d", "category": 5,
		  "fieldValueDetails": {"1": {"type": 1, "stringValue": "Open"}}, "requesterEmail": "tim@acme.example", "requesterName": "Tim"}`,
		`{"subject": "s", "dataVersion": 1.0}`,
		`{"customFieldValueDetails": {"$where": {"type": 1}}, "fieldValueDetails": {}}`,
		`{"subject": "\ud800", "requesterEmail": "not an address"}`,
		`[1, 2]`, `{"subject": "a"} {"subject": "b"}`, `{"tags": [1e999]}`,
	} {
		f.Add([]byte(seed))
	}
	known := map[string]bool{}
	for _, field := range restFields {
		known[field.dataKey] = true
	}
	known["businessPriority"] = true
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, creating := range []bool{true, false} {
			body, err := restBody(nil, raw)
			if err != nil {
				var re *restError
				if !errors.As(err, &re) || re.status != 400 || re.description == "" {
					t.Fatalf("body %q refused without a REST 400: %v", raw, err)
				}
				continue
			}
			data, version, err := restInput(body, creating)
			if err != nil {
				var re *restError
				if !errors.As(err, &re) || re.status != 400 || len(re.problems) == 0 {
					t.Fatalf("body %q refused without naming a field: %v", raw, err)
				}
				continue
			}
			if version < 0 {
				t.Fatalf("body %q: dataVersion %d", raw, version)
			}
			for k := range data {
				if !known[k] {
					t.Fatalf("body %q set the unknown data field %q", raw, k)
				}
			}
		}
		once := canonicalBody(raw)
		if twice := canonicalBody(once); !bytes.Equal(once, twice) {
			t.Fatalf("the canonical form of %q is not stable: %q then %q", raw, once, twice)
		}
	})
}
