package jsonvalue

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestCopyAndPlainGiveTheKeptForm(t *testing.T) {
	t.Parallel()
	in := func() map[string]any {
		return map[string]any{
			"int": json.Number("9223372036854775807"), "float": json.Number("1.5"), "whole float": json.Number("1.0"),
			"huge": json.Number("1e999"), "text": "x", "yes": true, "none": nil,
			"list":   []any{json.Number("1"), map[string]any{"n": json.Number("2")}},
			"stored": bson.A{json.Number("3"), bson.A{"nested"}},
			"empty":  map[string]any(nil),
		}
	}
	want := map[string]any{
		"int": int64(9223372036854775807), "float": 1.5, "whole float": float64(1),
		"huge": "1e999", "text": "x", "yes": true, "none": nil,
		"list":   []any{int64(1), map[string]any{"n": int64(2)}},
		"stored": []any{int64(3), []any{"nested"}},
		"empty":  map[string]any{},
	}
	if got := Copy(in()); !reflect.DeepEqual(got, want) {
		t.Errorf("Copy: %#v", got)
	}
	if got := Plain(in()); !reflect.DeepEqual(got, want) {
		t.Errorf("Plain: %#v", got)
	}
}

func TestCopySharesNothingAndPlainReuses(t *testing.T) {
	t.Parallel()
	inner := map[string]any{"a": int64(1)}
	list := []any{inner}
	orig := map[string]any{"inner": inner, "list": list}

	c := Copy(orig).(map[string]any)
	c["inner"].(map[string]any)["a"] = int64(2)
	c["list"].([]any)[0] = "changed"
	if inner["a"] != int64(1) || list[0] == "changed" {
		t.Fatalf("changing the copy changed the original: %v %v", inner, list)
	}

	p := Plain(orig).(map[string]any)
	p["inner"].(map[string]any)["a"] = int64(3)
	if inner["a"] != int64(3) {
		t.Fatal("Plain made a copy of a map already in the kept form")
	}
}

// marshalled is v as an encoding/json Encoder writes it with HTML escaping
// off.
func marshalled(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestAppendJSONWritesWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	values := []any{
		map[string]any{"b": int64(2), "a": "x", "c": []any{true, false, nil, 1.5, 1e21, 1e-7, int64(-9223372036854775808)}},
		map[string]any{"quote\"key": "a \"quoted\" \\ back\\slash", "ctl": "tab\there\nnew\u0001\u001f", "html": "<a href='x'>&</a>"},
		map[string]any{"unicode": "caf\u00e9 \u2028 \u2029 \U0001F600", "invalid": "\xff\xfe", "empty": "", "emptyObj": map[string]any{}, "emptyList": []any{}},
		map[string]any{"nilMap": map[string]any(nil), "nilList": []any(nil), "typed": []string{"a", "b"}, "int": 7, "number": json.Number("12.50"),
			"whole": json.Number("-120"), "zero": json.Number("0"), "exp": json.Number("1e5"), "leading": json.Number("-0")},
		map[string]any{"nested": map[string]any{"z": map[string]any{"y": []any{map[string]any{"x": "deep"}}}}},
		"top-level string", int64(42), 3.25, nil, true,
	}
	for _, v := range values {
		got, err := AppendJSON(nil, v)
		if err != nil {
			t.Fatalf("AppendJSON(%#v): %v", v, err)
		}
		if want := marshalled(t, v); string(got) != want {
			t.Errorf("AppendJSON(%#v)\n got %s\nwant %s", v, got, want)
		}
		checkMarshalled(t, v)
	}
	if _, err := AppendJSON(nil, map[string]any{"nan": math.NaN()}); err == nil {
		t.Error("AppendJSON encoded NaN, which JSON cannot hold")
	}
}

// Random trees of the kept form encode as encoding/json encodes them.
func TestAppendJSONOnRandomTrees(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "B", "é", "\"", "\\", "\n", "<", "&", "\u2028", "\x00", " ", "z9", "\xff"}
	text := func() string {
		var sb strings.Builder
		for range rng.IntN(6) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	var tree func(depth int) any
	tree = func(depth int) any {
		switch k := rng.IntN(8); {
		case k == 0 && depth < 4:
			m := map[string]any{}
			for range rng.IntN(5) {
				m[text()] = tree(depth + 1)
			}
			return m
		case k == 1 && depth < 4:
			a := make([]any, rng.IntN(4))
			for i := range a {
				a[i] = tree(depth + 1)
			}
			return a
		case k == 2:
			return rng.Int64() - rng.Int64()
		case k == 3:
			return rng.NormFloat64() * 1e6
		case k == 4:
			return rng.IntN(2) == 0
		case k == 5:
			return nil
		case k == 6:
			return json.Number(strconv.FormatInt(rng.Int64()-rng.Int64(), 10))
		}
		return text()
	}
	decoded := 0
	for range 2000 {
		v := tree(0)
		got, err := AppendJSON(nil, v)
		if err != nil {
			t.Fatalf("AppendJSON(%#v): %v", v, err)
		}
		if want := marshalled(t, v); string(got) != want {
			t.Fatalf("AppendJSON(%#v)\n got %s\nwant %s", v, got, want)
		}
		checkMarshalled(t, v)
		checkDecode(t, got)
		if _, ok := DecodeKept(got); ok {
			decoded++
		}
	}
	// Escapes and bytes that are not UTF-8 are left to encoding/json; the
	// rest must be decoded here, or the fast path is never taken.
	if decoded < 500 {
		t.Errorf("DecodeKept decoded %d of 2000 texts itself", decoded)
	}
}

// checkDecode checks Decode and DecodeKept against encoding/json on text:
// what they decode is what encoding/json decodes (with UseNumber, and
// then in the kept form).
func checkDecode(t *testing.T, text []byte) {
	t.Helper()
	var want any
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	wantErr := dec.Decode(&want)
	if got, ok := Decode(text); ok {
		if wantErr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%s) = %#v; encoding/json gives %#v (%v)", text, got, want, wantErr)
		}
	}
	if got, ok := DecodeKept(text); ok {
		if wantErr != nil || !reflect.DeepEqual(got, Plain(want)) {
			t.Fatalf("DecodeKept(%s) = %#v; encoding/json gives %#v (%v)", text, got, Plain(want), wantErr)
		}
	}
}

// checkMarshalled checks AppendMarshalled against json.Marshal, and
// AppendEscapedText of v's text against json.Marshal copying that text.
func checkMarshalled(t *testing.T, v any) {
	t.Helper()
	text, _ := AppendJSON(nil, v)
	copied, err := json.Marshal(json.RawMessage(text))
	if err != nil {
		t.Fatalf("json.Marshal of the text of %#v: %v", v, err)
	}
	if got := AppendEscapedText(nil, text); string(got) != string(copied) {
		t.Fatalf("AppendEscapedText(%s)\n got %s\nwant %s", text, got, copied)
	}
	got, err := AppendMarshalled(nil, v)
	if err != nil {
		t.Fatalf("AppendMarshalled(%#v): %v", v, err)
	}
	if want, _ := json.Marshal(v); string(got) != string(want) {
		t.Fatalf("AppendMarshalled(%#v)\n got %s\nwant %s", v, got, want)
	}
}

// Text written before the separators were escaped (by other writers) gets
// them escaped as json.Marshal escapes them.
func TestAppendEscapedTextEscapesRawSeparators(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"{\"a\":\"x\u2028y\u2029z\"}", "[\"\u2028\",\"<&>\",\"\u2027\u202a\"]", "\"\xe2\x80\"", "{}"} {
		want, err := json.Marshal(json.RawMessage(text))
		if err != nil {
			want = []byte(text) // not valid JSON: left as it is
		}
		if got := AppendEscapedText(nil, []byte(text)); string(got) != string(want) {
			t.Errorf("AppendEscapedText(%q) = %q, want %q", text, got, want)
		}
	}
}

// DecodeObject decodes what it decodes itself and what it leaves to
// encoding/json alike, in the kept form; null is an empty object, and text
// that is not an object is an error.
func TestDecodeObject(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]map[string]any{
		`{"a":1,"b":[1.5,"x"],"c":{"d":null}}`: {"a": int64(1), "b": []any{1.5, "x"}, "c": map[string]any{"d": nil}},
		`{"quote":"say \"hi\"","n":12}`:        {"quote": `say "hi"`, "n": int64(12)},
		`{"ctl":"a\u0001b","sep":"\u2028"}`:    {"ctl": "a\u0001b", "sep": "\u2028"},
		`null`:                                 {},
	} {
		got, err := DecodeObject(text)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeObject(%s) = %#v, %v; want %#v", text, got, err, want)
		}
	}
	for _, text := range []string{`[1,2]`, `"text"`, `{"a":`, `{"a":1} {}`, ``} {
		if got, err := DecodeObject(text); err == nil {
			t.Errorf("DecodeObject(%q) = %#v, no error", text, got)
		}
	}
}

// benchRecord is an incident's data as the gateway stores it after an add
// of the published sample: the shape AppendJSON encodes on every add.
const benchRecord = `{"aptBusinessObjectDescription":"Shipment quarantined due to T1 reflecting incomplete data|SO 3027209239|PO 5201019344|Transaminase enzyme, CDX-017 (ACS-4007466). EPCIS shows 48 pallets and receiving called out 50 received","aptBusinessObjectId":"INC-101","aptBusinessObjectIntegerIdentifier":101,"aptBusinessObjectSummary":"Bench incident 10-7: no EPCIS data for 1 package","businessPriority":"HIGH","currentlyAssignedCompanyUsers":["d5b2b867-fdeb-4b1c-a0d4-8aabf853c169","a4bc6e7f-6436-4499-b453-270cdd052271"],"currentlyAssignedPartnerUsers":["13fb0cc6-771c-447a-a1bb-02513a235b24","ee532337-89d2-4f5f-b024-bfa070139b73"],"dateSubmitted":null,"fkProcessNetworkId":"my-network","followerId":[],"impactedProducts":[{"impactedLots":"4","productDetailId":"ea92a360-55ac-15eb-bb95-8bd76e7bd001"}],"incidentCategory":"Aggregate Shipment Error","incidentConclusion":null,"isSubmittedToPartner":false,"referenceIdentifiers":[{"referenceTransactionType":"PO Number","value":"PO-0010-123"},{"referenceTransactionType":"PO Number","value":"PO-0010-345"}],"resolutionDueDate":1681640075000,"responsibleEntity":{"partnerId":"bench-partner","toIdType":"companyLocationMasterData"},"responsiblePartyAtCompany":"bench-user-0010","responsiblePartyAtPartner":"13fb0cc6-771c-447a-a1bb-02513a235b24"}`

// BenchmarkAppendJSONRecord encodes the record into a buffer grown from
// nil (fresh), as a caller without a buffer would, and into a pooled one
// copied out as a string (pooled), as the embedded store does.
func BenchmarkAppendJSONRecord(b *testing.B) {
	v, ok := Decode([]byte(benchRecord))
	if !ok {
		b.Fatal("the record does not decode")
	}
	if got, err := AppendJSON(nil, v); err != nil || string(got) != benchRecord {
		b.Fatalf("AppendJSON changed the record: %v\n%s", err, got)
	}
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = AppendJSON(nil, v)
		}
	})
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf := GetBuffer()
			buf.B, _ = AppendJSON(buf.B, v)
			_ = string(buf.B)
			buf.Release()
		}
	})
}
