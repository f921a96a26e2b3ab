package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// Store is what the deliverer reads and writes: the subscriptions, their
// deliveries and the change feed they follow.
type Store interface {
	ListWebhooks(ctx context.Context, dataspace, companyID string) ([]store.Webhook, error)
	FindWebhook(ctx context.Context, id string) (*store.Webhook, error)
	SetWebhookDisabled(ctx context.Context, id string, at int64, reason string) error
	LeaseWebhook(ctx context.Context, id, owner string, now, until int64) (bool, error)
	RecordDeliveries(ctx context.Context, b store.DeliveryBatch) error
	ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error)
	PruneDeliveries(ctx context.Context, before int64) (int64, error)
	ListFeed(ctx context.Context, q store.FeedQuery) ([]store.FeedEntry, error)
}

// Config configures a Deliverer; zero fields take the defaults below.
type Config struct {
	Store  Store
	Client *Client
	// Networks lists the networks a company is in, and SharedKinds the
	// kinds a network's members see of each other: a subscription follows
	// its company's change feed (store.FeedQuery).
	Networks    func(company string) []string
	SharedKinds []string
	// Visible reports whether a subscription's company may still see an
	// object when its delivery is due: a delivery of an object it may no
	// longer see is dropped, never sent.
	Visible func(ctx context.Context, w *store.Webhook, objectID string) (bool, error)
	// Owner names this gateway in the subscriptions' leases (a new name
	// for each process when empty). Processes that cannot run at once,
	// such as the successive gateways of an embedded store, may share a
	// name, so that a restart does not wait for its predecessor's lease.
	Owner string
	// Now is the clock of leases, attempts and retries.
	Now func() time.Time
	// Lease is how long a subscription's lease lasts; it is renewed when
	// half of it is left.
	Lease time.Duration
	// Poll is how often each subscription is looked at without a Nudge:
	// changes committed by other gateways, and subscriptions made by them.
	Poll time.Duration
	// RetryBase is the delay before a delivery's second attempt, doubled
	// for each further one up to RetryMax, each delay drawn by Jitter.
	RetryBase, RetryMax time.Duration
	// RetryWindow is how long a delivery is retried from its first
	// attempt; one that has not succeeded by then fails, and its
	// subscription is disabled with the reason.
	RetryWindow time.Duration
	// Jitter draws the delay actually waited for a nominal delay.
	Jitter func(time.Duration) time.Duration
	// Window bounds a subscription's pending deliveries: the feed is read
	// further only while fewer are pending (the rest wait in the feed).
	Window int
	// Coalesce is the least time between the starts of two rounds of one
	// subscription: changes committed meanwhile are delivered and recorded
	// together, which costs the store one write for many under a load.
	Coalesce time.Duration
	// Parallel bounds the attempts of one subscription in flight at once
	// (to different objects), and MaxInFlight those of all subscriptions
	// together: deliveries take a bounded share of the machine, so that
	// under a load the machine cannot serve and deliver at once, the API
	// keeps its pace and deliveries fall behind (in the feed) instead.
	Parallel    int
	MaxInFlight int
	// Retention is how long finished deliveries stay in the log.
	Retention time.Duration
	// Observe, when set, is told of every attempt made, and Recorded of
	// every batch once it is recorded (for metrics and tests).
	Observe  func(store.Delivery, store.DeliveryAttempt)
	Recorded func(store.DeliveryBatch)
	Log      zerolog.Logger
}

// Defaults of Config's zero fields.
const (
	DefaultLease       = 30 * time.Second
	DefaultPoll        = time.Second
	DefaultRetryBase   = 5 * time.Second
	DefaultRetryMax    = time.Hour
	DefaultRetryWindow = 72 * time.Hour
	DefaultWindow      = 100
	DefaultParallel    = 8
	DefaultMaxInFlight = 8
	DefaultRetention   = 7 * 24 * time.Hour
	DefaultCoalesce    = 25 * time.Millisecond
)

// halfJitter waits between half the nominal delay and all of it, so that
// the retries of many deliveries spread out.
func halfJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// Deliverer delivers every subscription's changes: each subscription is a
// position in the change feed, which is written in the transaction of the
// change it records, so a committed change is one its subscriptions will
// deliver. A delivery is recorded, and the position moved past it, only
// after its first attempt: a gateway that stops in between sends it again
// after a restart, with the same id.
type Deliverer struct {
	cfg   Config
	mu    sync.Mutex
	subs  map[string]*subscription
	nudge chan struct{}
	// relist asks the next pass to list the subscriptions again.
	relist atomic.Bool
	// gen counts the times the subscriptions may have changed elsewhere
	// (Resubscribe, polls): a subscription's loop reads its row again
	// when it moved.
	gen atomic.Uint64
	// slots holds a token per attempt in flight (MaxInFlight).
	slots chan struct{}
}

// New returns a deliverer; Run starts it.
func New(cfg Config) *Deliverer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(0, false, false)
	}
	if cfg.Networks == nil {
		cfg.Networks = func(string) []string { return nil }
	}
	if cfg.Visible == nil {
		cfg.Visible = func(context.Context, *store.Webhook, string) (bool, error) { return true, nil }
	}
	if cfg.Owner == "" {
		cfg.Owner = uuid.NewString()
	}
	cfg.Lease = orDefault(cfg.Lease, DefaultLease)
	cfg.Poll = orDefault(cfg.Poll, DefaultPoll)
	cfg.RetryBase = orDefault(cfg.RetryBase, DefaultRetryBase)
	cfg.RetryMax = orDefault(cfg.RetryMax, DefaultRetryMax)
	cfg.RetryWindow = orDefault(cfg.RetryWindow, DefaultRetryWindow)
	cfg.Retention = orDefault(cfg.Retention, DefaultRetention)
	cfg.Coalesce = orDefault(cfg.Coalesce, DefaultCoalesce)
	if cfg.Jitter == nil {
		cfg.Jitter = halfJitter
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	return &Deliverer{cfg: cfg, subs: map[string]*subscription{}, nudge: make(chan struct{}, 1), slots: make(chan struct{}, cfg.MaxInFlight)}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Backlog is the deliveries this gateway holds pending (attempted and due
// again, or waiting behind an earlier delivery of their object) as of each
// subscription's last round, and when the change of the oldest of them was
// committed (zero with none). Changes not yet read from the feed are not
// counted: a subscription reads at most Window of them ahead.
func (d *Deliverer) Backlog() (pending int, oldest time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var first int64
	for _, s := range d.subs {
		q := s.queued.Load()
		if q == nil || q.count == 0 {
			continue
		}
		pending += q.count
		if first == 0 || q.oldest < first {
			first = q.oldest
		}
	}
	if first != 0 {
		oldest = time.UnixMilli(first)
	}
	return pending, oldest
}

// Resubscribe says that a subscription was made, changed, deleted or
// redelivered: the subscriptions are listed again and look now. It never
// blocks.
func (d *Deliverer) Resubscribe() {
	d.relist.Store(true)
	d.gen.Add(1)
	d.Nudge()
}

// Nudge says that a change was committed: every subscription looks now
// instead of at its next poll. It never blocks.
func (d *Deliverer) Nudge() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: it keeps one loop per subscription, and
// prunes the delivery log.
func (d *Deliverer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	nextPrune := time.Time{}
	d.relist.Store(true)
	for {
		if d.relist.Swap(false) {
			d.refresh(ctx, &wg)
		}
		if now := d.cfg.Now(); !now.Before(nextPrune) {
			if _, err := d.cfg.Store.PruneDeliveries(ctx, now.Add(-d.cfg.Retention).UnixMilli()); err != nil && ctx.Err() == nil {
				d.cfg.Log.Warn().Err(err).Msg("pruning the webhook delivery log failed")
			}
			nextPrune = now.Add(time.Hour)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.nudge:
		case <-poll.C:
			d.relist.Store(true)
			d.gen.Add(1)
		}
		d.mu.Lock()
		for _, s := range d.subs {
			s.wake()
		}
		d.mu.Unlock()
	}
}

// refresh starts a loop for each subscription that has none and stops
// the loops of subscriptions that are gone.
func (d *Deliverer) refresh(ctx context.Context, wg *sync.WaitGroup) {
	list, err := d.cfg.Store.ListWebhooks(ctx, "", "")
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Log.Warn().Err(err).Msg("listing webhook subscriptions failed; keeping the known ones")
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := map[string]bool{}
	for _, w := range list {
		seen[w.ID] = true
		if _, ok := d.subs[w.ID]; ok {
			continue
		}
		sctx, cancel := context.WithCancel(ctx)
		s := &subscription{d: d, id: w.ID, cancel: cancel, wakeup: make(chan struct{}, 1)}
		d.subs[w.ID] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(sctx)
		}()
	}
	for id, s := range d.subs {
		if !seen[id] {
			s.cancel()
			delete(d.subs, id)
		}
	}
}

// subscription is the delivering loop of one subscription.
type subscription struct {
	d      *Deliverer
	id     string
	cancel context.CancelFunc
	wakeup chan struct{}
	// leaseUntil is when this gateway's lease ends, zero without one.
	leaseUntil time.Time
	// w is the subscription as last read or recorded (nil: read it), as
	// of the deliverer's generation gen.
	w   *store.Webhook
	gen uint64
	// pending are the subscription's pending deliveries after the last
	// round, in seq order, unless pendingUnknown.
	pending        []store.Delivery
	pendingUnknown bool
	// queued is what of pending Backlog reports, kept for readers outside
	// the loop.
	queued atomic.Pointer[queued]
}

// queued is a subscription's pending deliveries as of its last round: how
// many, and when the change of the oldest was committed (milliseconds).
type queued struct {
	count  int
	oldest int64
}

func (s *subscription) wake() {
	select {
	case s.wakeup <- struct{}{}:
	default:
	}
}

func (s *subscription) run(ctx context.Context) {
	var last time.Time
	for {
		if gap := s.d.cfg.Coalesce - time.Since(last); gap > 0 && !last.IsZero() {
			t := time.NewTimer(gap)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		last = time.Now()
		wait, err := s.round(ctx)
		if err != nil && ctx.Err() == nil {
			s.d.cfg.Log.Warn().Err(err).Str("webhook", s.id).Msg("webhook delivery round failed; retrying")
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-s.wakeup:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// round delivers what is due of the subscription and records it; it
// answers how long to wait before the next round without a wake-up (-1:
// until one).
func (s *subscription) round(ctx context.Context) (time.Duration, error) {
	cfg := &s.d.cfg
	now := cfg.Now()
	if !s.leaseUntil.After(now.Add(cfg.Lease / 2)) {
		until := now.Add(cfg.Lease)
		held, err := cfg.Store.LeaseWebhook(ctx, s.id, cfg.Owner, now.UnixMilli(), until.UnixMilli())
		if err != nil || !held {
			// Another gateway delivers (or the store did not answer):
			// look again at the next poll, from what the store holds.
			s.leaseUntil, s.w = time.Time{}, nil
			return -1, err
		}
		s.leaseUntil = until
	}
	// The subscription and its pending deliveries are read again only
	// when they may have changed elsewhere: after Resubscribe (an API
	// call of this gateway), at each poll (another gateway's), or when
	// this gateway's last record was refused.
	if gen := s.d.gen.Load(); s.w == nil || gen != s.gen {
		w, err := cfg.Store.FindWebhook(ctx, s.id)
		if err != nil {
			return -1, err
		}
		s.w, s.gen, s.pendingUnknown = w, gen, true
	}
	w := s.w
	if w.DisabledAt != 0 {
		return -1, nil
	}
	var pending []store.Delivery
	if s.pendingUnknown {
		var err error
		if pending, err = cfg.Store.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: w.ID, Pending: true, Limit: cfg.Window}); err != nil {
			return -1, err
		}
	} else {
		pending = s.pending
	}
	batch := store.DeliveryBatch{WebhookID: w.ID, Owner: cfg.Owner, From: w.Cursor, To: w.Cursor}
	var fresh []store.Delivery
	if room := cfg.Window - len(pending); room > 0 {
		entries, err := cfg.Store.ListFeed(ctx, store.FeedQuery{Dataspace: w.Dataspace, Company: w.CompanyID,
			Networks: cfg.Networks(w.CompanyID), SharedKinds: cfg.SharedKinds, After: w.Cursor, Limit: room})
		if err != nil {
			return -1, err
		}
		known := map[string]bool{}
		for _, dl := range pending {
			known[dl.ID] = true
		}
		for i := range entries {
			e := &entries[i]
			batch.To = e.Seq
			// A delivery recorded by a round whose cursor move did not
			// happen is pending already: it keeps its log.
			if dl := newDelivery(w.ID, e, now); w.Selects(e) && !known[dl.ID] {
				fresh = append(fresh, dl)
			}
		}
	}
	all := append(slices.Clip(pending), fresh...)
	changed := s.attempt(ctx, w, all, now)
	// Every fresh delivery is recorded, attempted or not (one waiting
	// behind an earlier delivery of its object is pending).
	final := map[string]store.Delivery{}
	for _, dl := range all {
		final[dl.ID] = dl
	}
	for _, dl := range changed {
		final[dl.ID] = dl
	}
	attempted := map[string]bool{}
	for _, dl := range changed {
		attempted[dl.ID] = true
	}
	for _, dl := range fresh {
		if !attempted[dl.ID] {
			changed = append(changed, dl)
		}
	}
	batch.Deliveries = changed
	if len(changed) > 0 || batch.To != batch.From {
		if err := cfg.Store.RecordDeliveries(ctx, batch); err != nil {
			s.w = nil // read the subscription again next round
			if errors.Is(err, store.ErrConflict) {
				s.leaseUntil = time.Time{} // another gateway took over, or the cursor moved
				return 0, nil
			}
			return -1, err
		}
		w.Cursor = batch.To
	}
	var still []store.Delivery
	for _, dl := range all {
		if f := final[dl.ID]; f.State == store.DeliveryPending {
			still = append(still, f)
		}
	}
	s.pending, s.pendingUnknown = still, len(pending) >= cfg.Window
	q := &queued{count: len(still)}
	for _, dl := range still {
		if q.oldest == 0 || dl.At < q.oldest {
			q.oldest = dl.At
		}
	}
	s.queued.Store(q)
	disabled, err := s.disableOnFailure(ctx, w, changed)
	if len(changed) > 0 || batch.To != batch.From {
		if cfg.Recorded != nil {
			cfg.Recorded(batch)
		}
	}
	if err != nil || disabled {
		return -1, err
	}
	if batch.To != batch.From {
		return 0, nil // the feed may hold more
	}
	return s.nextDue(), nil
}

// disableOnFailure disables the subscription when one of the deliveries
// just recorded failed for good, with the reason, and reports whether it
// did.
func (s *subscription) disableOnFailure(ctx context.Context, w *store.Webhook, changed []store.Delivery) (bool, error) {
	cfg := &s.d.cfg
	for _, dl := range changed {
		if dl.State != store.DeliveryFailed {
			continue
		}
		reason := fmt.Sprintf("the delivery %s failed for %s without success; the last attempt: %s",
			dl.ID, cfg.RetryWindow, describe(dl.Attempts[len(dl.Attempts)-1]))
		if err := cfg.Store.SetWebhookDisabled(ctx, w.ID, cfg.Now().UnixMilli(), reason); err != nil {
			return false, err
		}
		w.DisabledAt, w.DisabledReason = cfg.Now().UnixMilli(), reason
		cfg.Log.Warn().Str("webhook", w.ID).Str("reason", reason).Msg("webhook subscription disabled")
		return true, nil
	}
	return false, nil
}

// nextDue is the wait until the first of the subscription's objects with
// a pending delivery is due (the earliest pending delivery of each object
// is the one that waits; the others wait behind it), -1 for none.
func (s *subscription) nextDue() time.Duration {
	heads := map[string]bool{}
	due := int64(-1)
	for _, p := range s.pending { // in seq order
		if heads[p.ObjectID] {
			continue
		}
		heads[p.ObjectID] = true
		if due < 0 || p.NextAttemptAt < due {
			due = p.NextAttemptAt
		}
	}
	if due < 0 {
		return -1
	}
	return max(0, time.Duration(due-s.d.cfg.Now().UnixMilli())*time.Millisecond)
}

// newDelivery is the delivery of a feed entry to a subscription; its id
// is derived from both, so that a delivery made again after a restart
// carries the id of the first.
func newDelivery(webhookID string, e *store.FeedEntry, now time.Time) store.Delivery {
	return store.Delivery{ID: DeliveryID(webhookID, e.Seq), WebhookID: webhookID, Seq: e.Seq, ObjectID: e.ObjectID, Kind: e.Kind,
		DataVersion: e.DataVersion, EventName: e.EventName, LicensePlate: e.LicensePlate, At: e.At,
		State: store.DeliveryPending, NextAttemptAt: now.UnixMilli(), Attempts: []store.DeliveryAttempt{}}
}

// DeliveryID is the webhook-id of a subscription's delivery of the feed
// entry of seq. The ids of one subscription sort in feed order, so that a
// store keyed by them appends its deliveries rather than scattering them.
func DeliveryID(webhookID string, seq int64) string {
	return fmt.Sprintf("msg_%s_%016x", strings.TrimPrefix(webhookID, "wh_"), seq)
}

// attempt tries the deliveries that are due, in order per object: an
// object's deliveries go one after the other, each only once the one
// before it was delivered (or dropped); different objects go in parallel.
// It answers the deliveries it changed.
func (s *subscription) attempt(ctx context.Context, w *store.Webhook, all []store.Delivery, now time.Time) []store.Delivery {
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	var objects []string
	queues := map[string][]store.Delivery{}
	for _, dl := range all {
		if _, ok := queues[dl.ObjectID]; !ok {
			objects = append(objects, dl.ObjectID)
		}
		queues[dl.ObjectID] = append(queues[dl.ObjectID], dl)
	}
	key, err := ParseSecret(w.Secret)
	if err != nil {
		s.d.cfg.Log.Error().Err(err).Str("webhook", w.ID).Msg("the webhook's secret does not parse")
		return nil
	}
	var mu sync.Mutex
	var changed []store.Delivery
	sem := make(chan struct{}, s.d.cfg.Parallel)
	var wg sync.WaitGroup
	for _, obj := range objects {
		queue := queues[obj]
		if queue[0].NextAttemptAt > now.UnixMilli() {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, dl := range queue {
				if dl.NextAttemptAt > s.d.cfg.Now().UnixMilli() || ctx.Err() != nil {
					return
				}
				s.d.slots <- struct{}{}
				s.try(ctx, w, key, &dl)
				<-s.d.slots
				mu.Lock()
				changed = append(changed, dl)
				mu.Unlock()
				if dl.State == store.DeliveryPending || dl.State == store.DeliveryFailed {
					return // the rest of the object's deliveries wait for this one
				}
			}
		}()
	}
	wg.Wait()
	return changed
}

// try makes one attempt of a delivery and sets its outcome.
func (s *subscription) try(ctx context.Context, w *store.Webhook, key []byte, dl *store.Delivery) {
	cfg := &s.d.cfg
	now := cfg.Now()
	visible, err := cfg.Visible(ctx, w, dl.ObjectID)
	if err != nil {
		dl.NextAttemptAt = now.Add(cfg.RetryBase).UnixMilli() // the store did not answer: not an attempt
		return
	}
	if !visible {
		dl.State = store.DeliveryDropped
		dl.AddAttempt(store.DeliveryAttempt{At: now.UnixMilli(), Error: "not sent: the subscriber may no longer see the object"})
		return
	}
	body := Body(dl)
	res, err := cfg.Client.Deliver(ctx, w.URL, key, dl.ID, now, body)
	a := store.DeliveryAttempt{At: now.UnixMilli()}
	if err != nil {
		a.Error = err.Error()
	} else {
		a.Status, a.LatencyMs, a.Excerpt = res.Status, res.Latency.Milliseconds(), res.Excerpt
	}
	dl.AddAttempt(a)
	if cfg.Observe != nil {
		cfg.Observe(*dl, a)
	}
	switch {
	case err == nil && res.OK():
		dl.State = store.DeliveryDelivered
	case now.Sub(time.UnixMilli(dl.FirstAttemptAt)) >= cfg.RetryWindow:
		dl.State = store.DeliveryFailed
	default:
		delay := cfg.RetryBase << min(dl.AttemptCount-1, 30)
		if delay <= 0 || delay > cfg.RetryMax {
			delay = cfg.RetryMax
		}
		dl.NextAttemptAt = now.Add(cfg.Jitter(delay)).UnixMilli()
	}
}

// describe says what an attempt came to, for a disabled subscription's
// reason.
func describe(a store.DeliveryAttempt) string {
	if a.Error != "" {
		return a.Error
	}
	return "HTTP " + strconv.Itoa(a.Status)
}

// Payload is the JSON body of a delivery: its id (the webhook-id header's
// too), the event name of the change as type, when the change was
// committed, and which object it changed to which version, by which
// request. It carries no data of the object: a receiver reads the object
// with its own credentials, and sees what they allow.
type Payload struct {
	ID        string      `json:"id"`
	Type      string      `json:"type"`
	Timestamp string      `json:"timestamp"`
	Data      PayloadData `json:"data"`
}

// PayloadData is the change a delivery is about.
type PayloadData struct {
	ObjectID     string `json:"objectId"`
	Kind         string `json:"kind"`
	DataVersion  int64  `json:"dataVersion"`
	LicensePlate string `json:"licensePlate"`
	EventName    string `json:"eventName"`
}

// Body is the JSON body of a delivery.
func Body(dl *store.Delivery) []byte {
	b, _ := json.Marshal(Payload{ID: dl.ID, Type: dl.EventName, Timestamp: time.UnixMilli(dl.At).UTC().Format(time.RFC3339Nano),
		Data: PayloadData{ObjectID: dl.ObjectID, Kind: dl.Kind, DataVersion: dl.DataVersion, LicensePlate: dl.LicensePlate, EventName: dl.EventName}})
	return b
}
