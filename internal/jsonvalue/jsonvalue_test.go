package jsonvalue

import (
	"encoding/json"
	"reflect"
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
