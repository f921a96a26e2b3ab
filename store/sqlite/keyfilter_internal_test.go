package sqlite

import (
	"fmt"
	"testing"
)

// The key filter never says "absent" for a key it was given, says it for
// most keys it was not, and says "may hold" for everything until it is
// ready and once it is over its size.
func TestTheKeyFilterHasNoFalseNegatives(t *testing.T) {
	t.Parallel()
	f := newKeyFilter(0)
	if !f.mayHold("anything") {
		t.Fatal("a filter that is not ready said a key is absent")
	}
	f.ready = true
	for i := range 50_000 {
		f.add(fmt.Sprint("key-", i))
	}
	for i := range 50_000 {
		if !f.mayHold(fmt.Sprint("key-", i)) {
			t.Fatalf("key-%d was added and is said to be absent", i)
		}
	}
	held := 0
	for i := range 10_000 {
		if f.mayHold(fmt.Sprint("other-", i)) {
			held++
		}
	}
	if held > 100 {
		t.Fatalf("%d of 10000 keys never added may be held: the filter filters nothing", held)
	}
	for i := 0; f.count <= f.limit; i++ {
		f.add(fmt.Sprint("more-", i))
	}
	if !f.mayHold("never-added") {
		t.Fatal("a filter over its size said a key is absent")
	}
}
