// Package journal is the gateway's request journal: a bounded, in-memory
// record of its recent requests, looked up by license plate, so that a
// caller (and the web page) can see what happened to a request: its event,
// caller, status, exceptionName, latency and, where the deployment keeps
// them, its request and response bodies with every secret removed.
//
// The journal holds at most MaxEntries entries and MaxBytes bytes of bodies,
// and forgets an entry once it is older than Retention: whichever bound is
// reached first evicts the oldest entries. A process keeps its own journal;
// it is not shared between gateways and does not survive a restart.
package journal

import (
	"sync"
	"time"
)

// Entry is one request as the journal keeps it.
type Entry struct {
	// LicensePlate is the request's license plate, the key it is found by.
	LicensePlate string
	// Time is when the request arrived.
	Time time.Time
	// Surface is the API that served it: events, rest, graphql, oauth,
	// webhooks, ...
	Surface string
	// Method and Path are the HTTP method and the request's path.
	Method, Path string
	// Event is the eventName the request named (the route for surfaces
	// without events).
	Event string
	// APIKey, CompanyID and UserID are the caller, when it authenticated.
	APIKey, CompanyID, UserID string
	// Status is the HTTP status of the answer; Exception its exceptionName
	// (or the REST error code) when it is an error.
	Status    int
	Exception string
	// Latency is the time from arrival to the answer.
	Latency time.Duration
	// Request and Response are the bodies with secrets removed, cut to
	// Config.MaxBodyBytes; nil when the deployment keeps no bodies.
	Request, Response []byte
	// Truncated says a body was cut.
	Truncated bool
}

// size is what an entry counts against Config.MaxBytes.
func (e *Entry) size() int { return len(e.Request) + len(e.Response) + entryOverhead }

// entryOverhead is what an entry costs besides its bodies, roughly, so that
// MaxBytes bounds entries without bodies too.
const entryOverhead = 256

// Config bounds a journal; zero fields take the defaults.
type Config struct {
	// MaxEntries is the most entries kept (DefaultMaxEntries).
	MaxEntries int
	// MaxBytes is the most bytes of entries kept, bodies included
	// (DefaultMaxBytes).
	MaxBytes int
	// MaxBodyBytes is where a body is cut (DefaultMaxBodyBytes).
	MaxBodyBytes int
	// Retention is how long an entry is kept (DefaultRetention).
	Retention time.Duration
	// NoBodies keeps no bodies at all, only what the request was and how
	// it was answered.
	NoBodies bool
	// Disabled keeps nothing: Record is a no-op.
	Disabled bool
	// Now is the clock retention is counted by (time.Now when nil).
	Now func() time.Time
}

// Defaults of Config's zero fields.
const (
	DefaultMaxEntries   = 10000
	DefaultMaxBytes     = 64 << 20
	DefaultMaxBodyBytes = 16 << 10
	DefaultRetention    = time.Hour
)

// Journal is the request journal; it is safe for concurrent use.
type Journal struct {
	cfg Config

	mu sync.Mutex
	// ring holds the entries oldest first from head, count of them; it
	// grows up to MaxEntries.
	ring        []Entry
	head, count int
	bytes       int
	// byPlate finds an entry's sequence number by its plate; seq[i%len]
	// tells whether the slot still holds that entry.
	byPlate map[string]uint64
	seqs    []uint64
	next    uint64
}

// New is a journal bounded by cfg.
func New(cfg Config) *Journal {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Journal{cfg: cfg, byPlate: make(map[string]uint64)}
}

// Config is the journal's configuration, its defaults applied.
func (j *Journal) Config() Config { return j.cfg }

// KeepsBodies tells whether Record keeps bodies, so that a caller can skip
// capturing them.
func (j *Journal) KeepsBodies() bool { return !j.cfg.Disabled && !j.cfg.NoBodies }

// Record keeps e. Its bodies are taken as they are (see Clean): the caller
// has removed their secrets. An entry without a license plate is not kept.
func (j *Journal) Record(e Entry) {
	if j.cfg.Disabled || e.LicensePlate == "" {
		return
	}
	if j.cfg.NoBodies {
		e.Request, e.Response = nil, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.expire()
	for j.count > 0 && (j.count == j.cfg.MaxEntries || j.bytes+e.size() > j.cfg.MaxBytes) {
		j.dropOldest()
	}
	if j.count == len(j.ring) {
		j.grow()
	}
	slot := (j.head + j.count) % len(j.ring)
	j.next++
	j.ring[slot], j.seqs[slot] = e, j.next
	j.byPlate[e.LicensePlate] = j.next
	j.count++
	j.bytes += e.size()
}

// Find is the entry of plate, if the journal still holds it and the
// request was companyID's own (an unauthenticated request is nobody's).
func (j *Journal) Find(companyID, plate string) (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.expire()
	seq, ok := j.byPlate[plate]
	if !ok || companyID == "" {
		return Entry{}, false
	}
	slot := j.slotOf(seq)
	if slot < 0 || j.ring[slot].CompanyID != companyID {
		return Entry{}, false
	}
	return j.ring[slot], true
}

// List is companyID's newest entries, newest first, at most limit of them.
func (j *Journal) List(companyID string, limit int) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.expire()
	var out []Entry
	for i := j.count - 1; i >= 0 && len(out) < limit && companyID != ""; i-- {
		e := &j.ring[(j.head+i)%len(j.ring)]
		if e.CompanyID == companyID {
			out = append(out, *e)
		}
	}
	return out
}

// Len is the number of entries held.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.expire()
	return j.count
}

// Reset forgets every entry.
func (j *Journal) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.count > 0 {
		j.dropOldest()
	}
}

// slotOf is the ring slot holding the entry of sequence number seq, or -1.
func (j *Journal) slotOf(seq uint64) int {
	if j.count == 0 {
		return -1
	}
	oldest := j.seqs[j.head]
	if seq < oldest || seq >= oldest+uint64(j.count) {
		return -1
	}
	return (j.head + int(seq-oldest)) % len(j.ring)
}

// grow makes room for more entries, up to MaxEntries, keeping their order:
// a journal takes memory for the entries it holds, not for its bound.
func (j *Journal) grow() {
	n := min(max(2*len(j.ring), 64), j.cfg.MaxEntries)
	ring, seqs := make([]Entry, n), make([]uint64, n)
	for i := range j.count {
		ring[i], seqs[i] = j.ring[(j.head+i)%len(j.ring)], j.seqs[(j.head+i)%len(j.ring)]
	}
	j.ring, j.seqs, j.head = ring, seqs, 0
}

// expire drops the entries older than the retention.
func (j *Journal) expire() {
	cutoff := j.cfg.Now().Add(-j.cfg.Retention)
	for j.count > 0 && j.ring[j.head].Time.Before(cutoff) {
		j.dropOldest()
	}
}

// dropOldest forgets the oldest entry.
func (j *Journal) dropOldest() {
	e := &j.ring[j.head]
	if j.byPlate[e.LicensePlate] == j.seqs[j.head] {
		delete(j.byPlate, e.LicensePlate)
	}
	j.bytes -= e.size()
	*e = Entry{}
	j.head = (j.head + 1) % len(j.ring)
	j.count--
}
