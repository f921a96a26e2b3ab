package limits

import (
	"fmt"
	"testing"
	"time"
)

// A full throttle map drops its least recently used entry, not everything:
// an address under watch stays under watch while others come and go.
func TestThrottleDropsTheOldestWhenFull(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	l := New(func() time.Time { return now }, Config{AuthFailures: 2, AuthWindow: time.Minute, MaxTracked: 4})
	l.AuthFailed("", "watched")
	l.AuthFailed("", "watched")
	for i := range 10 {
		l.AuthFailed("", "watched") // used again, so it stays
		l.AuthFailed("", fmt.Sprintf("passer-by-%d", i))
		if n := l.fails.len(); n > 4 {
			t.Fatalf("%d entries in a map of 4", n)
		}
	}
	if err := l.AuthAllowed("", "watched"); err == nil {
		t.Fatal("the map forgot the address it used most recently")
	}
	if _, ok := l.fails.peek("a\x00passer-by-0"); ok {
		t.Fatal("the oldest entry was kept")
	}
	if _, ok := l.fails.peek("a\x00passer-by-9"); !ok {
		t.Fatal("the newest entry was dropped")
	}
}
