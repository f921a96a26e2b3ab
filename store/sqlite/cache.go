package sqlite

import (
	"container/list"
	"hash/maphash"
	"sync"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// incidentCache keeps recently read and written incident records (without
// comments and history) in memory, bounded in bytes. A record is kept with
// its data's text and no decoded Data: a read sends the text as it is, a
// change decodes it, and text is memory the garbage collector does not
// scan, however much of it the cache holds, where decoded maps would be
// scanned at every collection.
//
// It is coherent because one process owns the data directory (the lock) and
// every write of an incident passes through this store: a write marks the
// incident changing before it is written and caches the new state once it
// is, and a read that fetched the row before a concurrent write may not put
// its copy back (the generation check).
type incidentCache struct {
	mu      sync.Mutex
	max     int64
	used    int64
	entries map[string]*list.Element // id -> element of lru, value *cacheEntry
	lru     *list.List               // front: most recently used
	// gens counts writes, striped by id: a read may cache what it fetched
	// only if no write of an id of its stripe began meanwhile.
	gens [1024]uint64
	seed maphash.Seed
}

type cacheEntry struct {
	inc  *store.Incident
	size int64
}

// entryOverhead is what an entry costs besides its data's text: the
// record's fields, the map and list entries.
const entryOverhead = 512

func newIncidentCache(maxBytes int64) *incidentCache {
	return &incidentCache{max: maxBytes, entries: map[string]*list.Element{}, lru: list.New(), seed: maphash.MakeSeed()}
}

// get returns the cached record (Data nil, its text in DataText); callers
// must not modify it.
func (c *incidentCache) get(id string) (*store.Incident, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[id]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cacheEntry).inc, true
	}
	return nil, false
}

// generation is the write count of id's stripe, to hand to putIfUnchanged
// after a read from the database.
func (c *incidentCache) generation(id string) uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gens[c.stripe(id)]
}

func (c *incidentCache) stripe(id string) uint64 {
	return maphash.String(c.seed, id) % uint64(len(c.gens))
}

// putIfUnchanged caches inc, read when its stripe was at generation gen,
// unless a write began since (then the copy may be stale).
func (c *incidentCache) putIfUnchanged(inc *store.Incident, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gens[c.stripe(inc.ID)] {
		return
	}
	c.store(inc)
}

// put caches inc, known to be the current state (just written).
func (c *incidentCache) put(inc *store.Incident) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store(inc)
}

func (c *incidentCache) store(inc *store.Incident) {
	size := int64(inc.DataTextBytes()) + entryOverhead
	if size > c.max/16 {
		// One incident may not take a large share of the cache.
		c.drop(inc.ID)
		return
	}
	if el, ok := c.entries[inc.ID]; ok {
		e := el.Value.(*cacheEntry)
		if e.inc.DataVersion > inc.DataVersion {
			// A later change was cached first.
			return
		}
		c.used += size - e.size
		e.inc, e.size = inc, size
		c.lru.MoveToFront(el)
	} else {
		c.entries[inc.ID] = c.lru.PushFront(&cacheEntry{inc: inc, size: size})
		c.used += size
	}
	for c.used > c.max {
		last := c.lru.Back()
		e := last.Value.(*cacheEntry)
		c.lru.Remove(last)
		delete(c.entries, e.inc.ID)
		c.used -= e.size
	}
}

// changing drops an incident that is about to be written, and makes every
// read in flight of its stripe unable to cache what it fetched.
func (c *incidentCache) changing(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[c.stripe(id)]++
	c.drop(id)
}

func (c *incidentCache) drop(id string) {
	if el, ok := c.entries[id]; ok {
		c.used -= el.Value.(*cacheEntry).size
		c.lru.Remove(el)
		delete(c.entries, id)
	}
}

// clear empties the cache (after an import).
func (c *incidentCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.gens {
		c.gens[i]++
	}
	c.entries = map[string]*list.Element{}
	c.lru.Init()
	c.used = 0
}

// CacheBytes is how much memory the cache accounts for, for tests of its bound.
func (s *Store) CacheBytes() int64 {
	if s.cache == nil {
		return 0
	}
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.used
}
