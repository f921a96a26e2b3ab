package store

import (
	"container/list"
	"hash/maphash"
	"sync"
)

// incidentCache keeps recently used incidents (without comments and
// activities) in memory, in front of a FerretDB store. FerretDB v1.24
// decodes a whole stored document from JSON on every find, which costs more
// than everything else a read does; the cache takes reads off it.
//
// It is only coherent because one gateway process owns a FerretDB (the
// same assumption as docLocks) and every write of an incident passes
// through this store: a write drops the entry, and a read that fetched the
// document before a concurrent write may not put its stale copy back (the
// generation check). On MongoDB, shared by several instances, there is no
// cache.
type incidentCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*list.Element // id -> element of lru, value *cacheEntry
	lru     *list.List               // front: most recently used
	// gens counts writes, striped by id: a read may cache what it fetched
	// only if no write of an id of its stripe happened meanwhile.
	gens [1024]uint64
	seed maphash.Seed
}

type cacheEntry struct {
	id  string
	inc Incident
}

func newIncidentCache(max int) *incidentCache {
	return &incidentCache{max: max, entries: map[string]*list.Element{}, lru: list.New(), seed: maphash.MakeSeed()}
}

// get returns a copy of the cached incident, and the generation to hand to
// put after a miss.
func (c *incidentCache) get(id string) (Incident, bool, uint64) {
	if c == nil {
		return Incident{}, false, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[id]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cacheEntry).inc, true, 0
	}
	return Incident{}, false, c.gens[c.stripe(id)]
}

func (c *incidentCache) stripe(id string) uint64 {
	return maphash.String(c.seed, id) % uint64(len(c.gens))
}

// put caches inc, read when its stripe was at generation gen, unless a
// write happened since (then the copy may be stale).
func (c *incidentCache) put(inc *Incident, gen uint64) {
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

// store caches inc unconditionally (the caller knows it is current).
func (c *incidentCache) store(inc *Incident) {
	if el, ok := c.entries[inc.ID]; ok {
		el.Value.(*cacheEntry).inc = *inc
		c.lru.MoveToFront(el)
		return
	}
	c.entries[inc.ID] = c.lru.PushFront(&cacheEntry{id: inc.ID, inc: *inc})
	for c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).id)
	}
}

// added caches a newly inserted incident.
func (c *incidentCache) added(inc *Incident) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store(inc)
}

// changed drops an incident that is being written, and makes every read in
// flight unable to cache what it fetched.
func (c *incidentCache) changed(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[c.stripe(id)]++
	if el, ok := c.entries[id]; ok {
		c.lru.Remove(el)
		delete(c.entries, id)
	}
}
