package envelope

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// envelopeWith is a request body whose payload is the JSON text payload.
func envelopeWith(payload string) []byte {
	return []byte(`{"header":{"eventName":"agile-process-teams:add-incident:v5","ownerId":"acme"},"payload":` + payload + `}`)
}

// nested is payload {"a": [[...[]...]]} with n arrays, so the body nests
// n+2 deep (the envelope and the payload object are the first two levels).
func nested(n int) string {
	return `{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
}

func jsonArray(n int, elem string) string {
	return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
}

func jsonObject(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%05d":0`, i)
	}
	b.WriteString("}")
	return b.String()
}

// Each limit: a body just within it passes, one just over it fails with a
// MalformedEnvelope error that names the limit and the JSON path.
func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name    string
		payload string
		want    string // "" = accepted; else the exact errMsg
	}{
		{"depth 32", nested(30), ""},
		{"depth 33", nested(31), "$.payload.a" + strings.Repeat("[0]", 30) + ": objects and arrays nested 33 deep, at most 32 allowed"},
		{"depth far beyond the decoder's own limit", nested(20000), "$.payload.a" + strings.Repeat("[0]", 30) + ": objects and arrays nested 33 deep, at most 32 allowed"},
		{"string of 65536 bytes", `{"s":"` + long(65536) + `"}`, ""},
		{"string of 65537 bytes", `{"s":"` + long(65537) + `"}`, "$.payload.s: string is 65537 bytes long, at most 65536 allowed"},
		{"string counted as sent, escapes included", `{"s":"` + long(65530) + `\u00e9"}`, ""},
		{"string with an escape one byte over", `{"s":"` + long(65531) + `\u00e9"}`, "$.payload.s: string is 65537 bytes long, at most 65536 allowed"},
		{"key of 65536 bytes", `{"` + long(65536) + `":1}`, ""},
		{"key of 65537 bytes", `{"` + long(65537) + `":1}`, `$.payload["` + long(64) + `..."]: key is 65537 bytes long, at most 65536 allowed`},
		{"array of 10000 elements", `{"referenceIdentifiers":` + jsonArray(10000, "{}") + `}`, ""},
		{"array of 10001 elements", `{"referenceIdentifiers":` + jsonArray(10001, "{}") + `}`,
			"$.payload.referenceIdentifiers: array has 10001 elements, at most 10000 allowed"},
		{"array of 20000 elements is counted to its end, deeper violations after the 10000th ignored", `{"referenceIdentifiers":` + strings.TrimSuffix(jsonArray(10001, "0"), "]") + "," + strings.TrimPrefix(jsonArray(9999, nested(40)), "[") + `}`,
			"$.payload.referenceIdentifiers: array has 20000 elements, at most 10000 allowed"},
		{"object of 10000 members", jsonObject(10000), ""},
		{"object of 10001 members", jsonObject(10001), "$.payload: object has 10001 members, at most 10000 allowed"},
		{"number of 64 bytes", `{"n":1` + strings.Repeat("0", 63) + `}`, ""},
		{"number of 65 bytes", `{"n":1` + strings.Repeat("0", 64) + `}`, "$.payload.n: number is 65 bytes long, at most 64 allowed"},
		{"largest float", `{"n":-1.7976931348623157e308}`, ""},
		{"number too large", `{"n":[1,1e999999]}`,
			"$.payload.n[1]: number 1e999999 is too large; numbers must fit a 64-bit float (at most about 1.8e308 in magnitude)"},
		{"number just too large", `{"n":1.8e308}`,
			"$.payload.n: number 1.8e308 is too large; numbers must fit a 64-bit float (at most about 1.8e308 in magnitude)"},
		{"smallest float", `{"n":5e-324}`, ""},
		{"number too close to zero", `{"n":-1e-999999}`,
			"$.payload.n: number -1e-999999 is too close to zero; a non-zero number must fit a 64-bit float (at least about 4.9e-324 in magnitude)"},
		{"zero with a huge exponent is zero", `{"n":0.0e999999,"m":-0E-999999}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseRequest(envelopeWith(tc.payload))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if req.Header.EventName == "" || req.Payload == nil {
					t.Fatalf("accepted but not decoded: %+v", req)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Kind != KindMalformedEnvelope || e.Kind.Status() != 400 {
				t.Fatalf("error %v (%T), want a 400 MalformedEnvelope", err, err)
			}
			if e.Message != tc.want {
				t.Fatalf("errMsg\n got  %.300s\n want %.300s", e.Message, tc.want)
			}
			if req == nil {
				t.Fatal("no Request returned with the error")
			}
		})
	}
}

func TestExplicitLimits(t *testing.T) {
	t.Parallel()
	l := Limits{MaxDepth: 4, MaxStringLen: 8, MaxArrayLen: 3, MaxKeys: 3, MaxNumberLen: 5}
	cases := []struct {
		name, body, want string
	}{
		{"within every limit", `{"header":{"a":"12345678"},"payload":{"b":[1,2,{"c":12345}],"d":null}}`, ""},
		{"depth", `{"header":{},"payload":{"b":[1,2,{"c":[]}]}}`, "$.payload.b[2].c: objects and arrays nested 5 deep, at most 4 allowed"},
		{"string value", `{"header":{"a":"123456789"},"payload":{}}`, "$.header.a: string is 9 bytes long, at most 8 allowed"},
		{"string in an array", `{"header":{},"payload":{"b":["x","123456789"]}}`, "$.payload.b[1]: string is 9 bytes long, at most 8 allowed"},
		{"key", `{"header":{"a-b-c-d-e":1},"payload":{}}`, `$.header["a-b-c-d-e"]: key is 9 bytes long, at most 8 allowed`},
		{"array", `{"header":{},"payload":{"b":[[1,2,3],[1,2,3,4]]}}`, "$.payload.b[1]: array has 4 elements, at most 3 allowed"},
		{"object", `{"header":{},"payload":{"b":[{"w":1,"x":2,"y":3,"z":4}]}}`, "$.payload.b[0]: object has 4 members, at most 3 allowed"},
		{"envelope", `{"header":{},"payload":{},"extra":1,"more":2}`, "$: object has 4 members, at most 3 allowed"},
		{"number", `{"header":{},"payload":{"n":-12345}}`, "$.payload.n: number is 6 bytes long, at most 5 allowed"},
		{"top-level string", `"123456789"`, "$: string is 9 bytes long, at most 8 allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequestLimits([]byte(tc.body), l)
			wantMalformed(t, err, tc.want)
		})
	}
	// Unset fields take the default.
	if _, err := ParseRequestLimits(envelopeWith(nested(31)), Limits{MaxStringLen: 100}); err == nil || !strings.Contains(err.Error(), "at most 32 allowed") {
		t.Fatalf("zero MaxDepth is not the default 32: %v", err)
	}
}

// A key may appear once per object; the decoder would keep the last one
// silently, where another reader might take the first.
func TestDuplicateKeys(t *testing.T) {
	t.Parallel()
	many := func(dup string) string { // 40 keys: past the linear comparison
		var b strings.Builder
		for i := range 40 {
			b.WriteString(`"key` + strconv.Itoa(i) + `":1,`)
		}
		return "{" + b.String() + `"` + dup + `":2}`
	}
	cases := []struct{ name, body, want string }{
		{"in the header", `{"header":{"ownerId":"acme","dataspace":"default","ownerId":"other-co"},"payload":{}}`,
			"$.header.ownerId: the key appears twice in one object; each key may appear only once"},
		{"spelled with an escape", `{"header":{"ownerId":"acme","\u006fwnerId":"other-co"},"payload":{}}`,
			"$.header.ownerId: the key appears twice in one object; each key may appear only once"},
		{"at the top", `{"header":{},"payload":{},"header":{}}`,
			"$.header: the key appears twice in one object; each key may appear only once"},
		{"deep in the payload", `{"header":{},"payload":{"a":[{"b":1},{"b":1,"c":2,"b":3}]}}`,
			"$.payload.a[1].b: the key appears twice in one object; each key may appear only once"},
		{"in a large object", `{"header":{},"payload":` + many("key7") + `}`,
			"$.payload.key7: the key appears twice in one object; each key may appear only once"},
		{"in a large object, escaped", `{"header":{},"payload":` + many(`\u006bey39`) + `}`,
			"$.payload.key39: the key appears twice in one object; each key may appear only once"},
		{"same key in different objects", `{"header":{"a":{"a":1},"b":{"a":1}},"payload":{"a":[{"a":1},{"a":1}]}}`, ""},
		{"large object without duplicates", `{"header":{},"payload":` + many("key40") + `}`, ""},
		{"keys that differ only in case", `{"header":{"ownerId":"acme","ownerID":"x"},"payload":{}}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequest([]byte(tc.body))
			wantMalformed(t, err, tc.want)
		})
	}
}

func TestInvalidUTF8IsRefused(t *testing.T) {
	t.Parallel()
	body := []byte("{\"header\":{},\n\"payload\":{\"s\":\"caf\xe9\"}}")
	_, err := ParseRequest(body)
	if err == nil || err.(*Error).Kind != KindMalformedEnvelope ||
		err.(*Error).Message != "$.payload.s: body is not valid UTF-8 at line 2, column 20; send JSON as UTF-8" {
		t.Fatalf("got %v", err)
	}
	// A key is named by its object; bytes outside strings by position.
	_, err = ParseRequest([]byte("{\"header\":{},\"payload\":{\"a\":{\"k\xff\":1}}}"))
	if err == nil || err.(*Error).Message != "$.payload.a (a key): body is not valid UTF-8 at line 1, column 32; send JSON as UTF-8" {
		t.Fatalf("bad key: got %v", err)
	}
	_, err = ParseRequest([]byte("{\"header\":{}, \xff \"payload\":{}}"))
	if err == nil || err.(*Error).Message != "body is not valid UTF-8 at line 1, column 15; send JSON as UTF-8" {
		t.Fatalf("bad byte between tokens: got %v", err)
	}
	// Escapes that decode to U+FFFD are valid JSON and kept as the decoder
	// reads them.
	req, err := ParseRequest([]byte(`{"header":{},"payload":{"s":"\ud800"}}`))
	if err != nil || req.Payload["s"] != "\uFFFD" {
		t.Fatalf("lone surrogate escape: %v, %q", err, req.Payload["s"])
	}
}

// Broken JSON is reported by the decoder, with its line and column, even
// when the scan got far enough to count past a limit.
func TestBrokenJSONIsReportedAsBroken(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"unclosed over-long array":         `{"header":{},"payload":{"a":` + strings.TrimSuffix(jsonArray(10001, "0"), "]"),
		"unterminated long string":         `{"header":{},"payload":{"a":"` + strings.Repeat("x", 70000),
		"stray closer":                     `{"header":{},"payload":{}}}`,
		"too large, but not a JSON number": `{"header":{},"payload":{"a":01e999999}}`,
		"raw NUL in a string":              "{\"header\":{},\"payload\":{\"a\":\"x\x00y\"}}",
	}
	for name, body := range cases {
		_, err := ParseRequest([]byte(body))
		if err == nil || err.(*Error).Kind != KindMalformedEnvelope || !strings.HasPrefix(err.(*Error).Message, "body is not valid JSON: ") {
			t.Errorf("%s: got %v, want a JSON syntax error", name, err)
		}
	}
}

// BenchmarkParseRequestLargestSample parses the largest published sample;
// the limit checks should cost a small part of the decoding.
func BenchmarkParseRequestLargestSample(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "examples", "scwm-samples", "externalManufacturingIncident", "addExtMfgIncidentPayloadTemplate.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckLimits is the limit scan alone, on the same sample.
func BenchmarkCheckLimits(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "examples", "scwm-samples", "externalManufacturingIncident", "addExtMfgIncidentPayloadTemplate.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if checkUTF8(body, DefaultLimits) != nil || checkLimits(body, DefaultLimits) != nil {
			b.Fatal("the sample exceeds the default limits")
		}
	}
}

// wantMalformed checks a parse's outcome: accepted when want is empty,
// otherwise refused as a MalformedEnvelope with exactly the message want.
func wantMalformed(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case want == "":
	case err == nil:
		t.Fatalf("accepted, want %q", want)
	case err.(*Error).Kind != KindMalformedEnvelope || err.(*Error).Message != want:
		t.Fatalf("error %v, want MalformedEnvelope %q", err, want)
	}
}
