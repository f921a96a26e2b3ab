package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// decodeAnswer is the reference readAnswer must agree with: encoding/json's
// reading of the same fields, where a field of another kind than a string
// reads as empty (the load reports the answer's errCode as it is then).
func decodeAnswer(body []byte) (answerFields, bool) {
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil || env == nil {
		return answerFields{}, false
	}
	var f answerFields
	if h, ok := env["header"].(map[string]any); ok {
		f.errCode, _ = h["errCode"].(string)
		f.exception, _ = h["exceptionName"].(string)
		f.warnings = h["warnings"] != nil
	}
	if p, ok := env["payload"].(map[string]any); ok {
		f.id, _ = p["id"].(string)
	}
	return f, true
}

// randomValue is a random JSON value: what a record or a header field may
// hold.
func randomValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(8); {
	case n == 0 || depth > 3:
		return []any{"a\"b\\c\u00e9\n", nil, true, 1.5, json.Number("-12e3")}[r.IntN(5)]
	case n < 3:
		out := []any{}
		for range r.IntN(4) {
			out = append(out, randomValue(r, depth+1))
		}
		return out
	case n < 5:
		out := map[string]any{}
		for i := range r.IntN(4) {
			out[fmt.Sprintf("k%d\"\\", i)] = randomValue(r, depth+1)
		}
		return out
	default:
		return strings.Repeat("x\u2028\t", r.IntN(3))
	}
}

func TestReadAnswerAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	bodies := []string{
		`{"header":{"headerVersion":1,"errCode":"200_OK","licensePlate":"abc"},"payload":{"id":"u-1","x":[1,{"id":"not this"}]}}`,
		`{"payload":{"data":{"id":"nested"},"id":"u-2"},"header":{"errCode":"200_OK","warnings":["$.x: unknown field"]}}`,
		`{"header":{"errCode":"400_BAD_REQUEST","exceptionName":"SchemaValidationException","warnings":null},"payload":null}`,
		` { "header" : { "errCode" : "200_\u004fK" } , "payload" : { "id" : "a\"b" } } `,
		`{"header":{"errCode":5,"exceptionName":{"a":1}},"payload":"text"}`,
		`{"header":null,"payload":[]}`,
		`{}`,
	}
	r := rand.New(rand.NewPCG(7, 9))
	for range 500 {
		env := map[string]any{
			"header":  map[string]any{"errCode": randomValue(r, 2), "exceptionName": randomValue(r, 2), "warnings": randomValue(r, 2), "other": randomValue(r, 0)},
			"payload": map[string]any{"id": randomValue(r, 2), "data": randomValue(r, 0)},
			"extra":   randomValue(r, 0),
		}
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	for _, body := range bodies {
		want, wantOK := decodeAnswer([]byte(body))
		got, ok := readAnswer([]byte(body))
		if ok != wantOK || got != want {
			t.Fatalf("readAnswer(%s) = %+v, %v; encoding/json reads %+v, %v", body, got, ok, want, wantOK)
		}
		// A cut answer (a connection that closed early) is never read
		// as an envelope.
		for n := range len(body) - 1 {
			if strings.TrimSpace(body[n:]) == "" {
				break
			}
			if _, ok := readAnswer([]byte(body[:n])); ok {
				t.Fatalf("the first %d bytes of %s read as an envelope", n, body)
			}
		}
	}
}

func TestReadAnswerRefusesWhatIsNotOneObject(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		``, `null`, `[]`, `"x"`, `{"header":{}} {}`, `{"header":{"errCode":"200_OK"},}`, `{"header" {}}`,
		`{"header":{"errCode":"200_OK"}`, `{"a":[1,2}`, `{"a":}`, `{,}`, `{"a":1 "b":2}`,
		`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	} {
		if f, ok := readAnswer([]byte(body)); ok {
			t.Errorf("readAnswer(%.60q) = %+v, true; want not an envelope", body, f)
		}
	}
}
