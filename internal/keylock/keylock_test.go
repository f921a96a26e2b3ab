package keylock

import (
	"context"
	"errors"
	"testing"
)

func TestLockContextGivesUpWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	s := New(4)
	unlock := s.Lock("a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.LockContext(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a held lock was taken, or the wrong error: %v", err)
	}
	unlock()
	again, err := s.LockContext(context.Background(), "a")
	if err != nil {
		t.Fatalf("the released lock could not be taken: %v", err)
	}
	again()
}

func TestLockSerializesOneKey(t *testing.T) {
	t.Parallel()
	s := New(8)
	counter := 0
	done := make(chan struct{})
	for i := 0; i < 50; i++ {
		go func() {
			unlock := s.Lock("k")
			counter++
			unlock()
			done <- struct{}{}
		}()
	}
	for i := 0; i < 50; i++ {
		<-done
	}
	if counter != 50 {
		t.Fatalf("counter %d, want 50", counter)
	}
}
