package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// bufferedLog collects log lines and writes them out at least every
// flushEvery (and whenever its buffer fills), instead of one write system
// call per line: at thousands of requests a second the per-line writes cost
// a noticeable share of the CPU. The price is that a crash (kill -9) can
// lose the last flushEvery of log lines; it loses no event.
type bufferedLog struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

const flushEvery = 50 * time.Millisecond

func newBufferedLog(w io.Writer) *bufferedLog {
	b := &bufferedLog{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushLoop()
	return b
}

// Write adds whole lines (zerolog writes one line per call).
func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *bufferedLog) flushLoop() {
	defer close(b.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			b.Flush()
			return
		}
	}
}

// Flush writes out what is buffered.
func (b *bufferedLog) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.w.Flush()
}

// Close flushes and stops the flusher; later lines are written at once.
func (b *bufferedLog) Close() {
	close(b.stop)
	<-b.done
}
