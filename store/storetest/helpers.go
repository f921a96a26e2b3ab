package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// must stops the case if err is not nil.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr reports an error unless err is target (errors.Is).
func wantErr(t *testing.T, err, target error, what string) bool {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
		return false
	}
	return true
}

// wantSomeErr reports an error if err is nil.
func wantSomeErr(t *testing.T, err error, what string) bool {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want one", what)
		return false
	}
	return true
}

// equal reports how got differs from want, field by field, and whether
// they are equal. See diff for what counts as equal.
func equal(t *testing.T, what string, got, want any) bool {
	t.Helper()
	d := diff(got, want)
	if len(d) == 0 {
		return true
	}
	t.Errorf("%s differs:\n\t%s", what, strings.Join(d, "\n\t"))
	return false
}

// diff lists how got differs from want, one line per difference, each
// naming the path of the value that differs. Times are compared with
// Equal (the store may give another location), an empty slice or map
// equals a nil one, and values held in interfaces (incident data) must
// have the same type: int64(3) is not float64(3).
func diff(got, want any) []string {
	var out []string
	diffValue(&out, "", reflect.ValueOf(got), reflect.ValueOf(want))
	return out
}

// maxDiffs bounds the lines diff gives.
const maxDiffs = 20

var timeType = reflect.TypeFor[time.Time]()

func diffValue(out *[]string, path string, g, w reflect.Value) {
	if len(*out) >= maxDiffs {
		return
	}
	if !g.IsValid() || !w.IsValid() {
		if g.IsValid() != w.IsValid() {
			addDiff(out, path, g, w)
		}
		return
	}
	if g.Type() != w.Type() {
		addDiff(out, path, g, w)
		return
	}
	if g.Type() == timeType {
		if !g.Interface().(time.Time).Equal(w.Interface().(time.Time)) {
			addDiff(out, path, g, w)
		}
		return
	}
	switch g.Kind() {
	case reflect.Pointer, reflect.Interface:
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				addDiff(out, path, g, w)
			}
			return
		}
		diffValue(out, path, g.Elem(), w.Elem())
	case reflect.Struct:
		for i := range g.NumField() {
			f := g.Type().Field(i)
			if f.IsExported() {
				diffValue(out, path+"."+f.Name, g.Field(i), w.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if g.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(g.Bytes(), w.Bytes()) {
				addDiff(out, path, g, w)
			}
			return
		}
		if g.Len() != w.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d elements, want %d: got %s, want %s",
				pathName(path), g.Len(), w.Len(), show(g), show(w)))
			return
		}
		for i := range g.Len() {
			diffValue(out, fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i))
		}
	case reflect.Map:
		keys := map[string]reflect.Value{}
		for _, k := range g.MapKeys() {
			keys[fmt.Sprint(k.Interface())] = k
		}
		for _, k := range w.MapKeys() {
			keys[fmt.Sprint(k.Interface())] = k
		}
		names := make([]string, 0, len(keys))
		for name := range keys {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			k := keys[name]
			gv, wv := g.MapIndex(k), w.MapIndex(k)
			p := fmt.Sprintf("%s[%q]", path, name)
			switch {
			case !gv.IsValid():
				*out = append(*out, fmt.Sprintf("%s: missing, want %s", pathName(p), show(wv)))
			case !wv.IsValid():
				*out = append(*out, fmt.Sprintf("%s: got %s, want no such key", pathName(p), show(gv)))
			default:
				diffValue(out, p, gv, wv)
			}
			if len(*out) >= maxDiffs {
				return
			}
		}
	default:
		if !g.Equal(w) {
			addDiff(out, path, g, w)
		}
	}
}

func addDiff(out *[]string, path string, g, w reflect.Value) {
	*out = append(*out, fmt.Sprintf("%s: got %s, want %s", pathName(path), show(g), show(w)))
}

func pathName(path string) string {
	if path == "" {
		return "value"
	}
	return strings.TrimPrefix(path, ".")
}

// show prints a value with its type where the type matters (numbers in
// incident data).
func show(v reflect.Value) string {
	for v.IsValid() && v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch {
	case !v.IsValid():
		return "nothing"
	case v.Type() == timeType:
		return v.Interface().(time.Time).Format(time.RFC3339Nano)
	case v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer:
		if v.IsNil() {
			return "nil"
		}
		return show(v.Elem())
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		return fmt.Sprintf("%q", v.Bytes())
	case v.Kind() == reflect.String:
		return fmt.Sprintf("%q", v.String())
	case v.Kind() >= reflect.Bool && v.Kind() <= reflect.Complex128:
		return fmt.Sprintf("%s(%v)", v.Type(), v.Interface())
	}
	return fmt.Sprintf("%+v", v.Interface())
}

// msBetween reports an error unless before <= got <= after: a time the
// store took from its clock, in epoch milliseconds.
func msBetween(t *testing.T, what string, got, before, after int64) {
	t.Helper()
	if got < before || got > after {
		t.Errorf("%s = %d, want the time of the call, between %d and %d", what, got, before, after)
	}
}

// timeBetween is msBetween for a time.Time, allowing the store to keep
// milliseconds only (rounded or truncated).
func timeBetween(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.Before(before.Truncate(time.Millisecond)) || got.After(after.Add(time.Millisecond)) {
		t.Errorf("%s = %s, want the time of the call, between %s and %s", what,
			got.Format(time.RFC3339Nano), before.Format(time.RFC3339Nano), after.Format(time.RFC3339Nano))
	}
}

// at is a fixed time with millisecond precision, which every store keeps.
func at(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// base is the epoch millisecond the fixtures' times start from.
const base = 1_700_000_000_000

// race runs f(0)..f(n-1) in n goroutines that start together, and waits
// for them.
func race(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

// describeErrs summarizes the errors of a race, for a failure message.
func describeErrs(errs []error) string {
	counts := map[string]int{}
	for _, err := range errs {
		msg := "nil"
		if err != nil {
			msg = err.Error()
		}
		counts[msg]++
	}
	var lines []string
	for msg, n := range counts {
		lines = append(lines, fmt.Sprintf("%d× %s", n, msg))
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}
