package store

// Webhook is a company's subscription to the changes it may see: an
// endpoint, the secret deliveries are signed with, which kinds and events
// it wants, and how far along the change feed its deliveries have been
// made (Cursor). A subscription is a position in the feed, so a change
// that is committed is one its subscriptions will deliver.
type Webhook struct {
	ID        string `json:"id"`
	Dataspace string `json:"dataspace"`
	CompanyID string `json:"companyId"`
	URL       string `json:"url"`
	// Secret signs the deliveries (internal/webhook's whsec_ text).
	Secret string `json:"-"`
	// Kinds and Events select the changes; empty selects all.
	Kinds  []string `json:"kinds"`
	Events []string `json:"events"`
	// CreatedAt is in milliseconds since the epoch.
	CreatedAt int64 `json:"createdAt"`
	// Cursor is the Seq of the last feed entry whose delivery, if it
	// selects one, has been recorded.
	Cursor int64 `json:"-"`
	// DisabledAt (milliseconds since the epoch) and DisabledReason say
	// when and why deliveries stopped; zero while enabled.
	DisabledAt     int64  `json:"disabledAt,omitempty"`
	DisabledReason string `json:"disabledReason,omitempty"`
	// LeaseOwner and LeaseUntil (milliseconds) name the gateway that
	// delivers for the subscription, so that gateways sharing a database
	// do not deliver the same changes at once.
	LeaseOwner string `json:"-"`
	LeaseUntil int64  `json:"-"`
}

// Selects reports whether the subscription wants the change e.
func (w *Webhook) Selects(e *FeedEntry) bool {
	return (len(w.Kinds) == 0 || contains(w.Kinds, e.Kind)) && (len(w.Events) == 0 || contains(w.Events, e.EventName))
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Delivery states.
const (
	// DeliveryPending is waiting for its next attempt (NextAttemptAt).
	DeliveryPending = "pending"
	// DeliveryDelivered was answered with a 2xx.
	DeliveryDelivered = "delivered"
	// DeliveryFailed was given up after the retry window.
	DeliveryFailed = "failed"
	// DeliveryDropped was not sent: the subscriber could no longer see
	// the object when it was due.
	DeliveryDropped = "dropped"
)

// MaxDeliveryAttempts is how many attempts a delivery's log keeps, the
// latest ones.
const MaxDeliveryAttempts = 20

// Delivery is one change delivered (or to be) to one subscription, with
// the log of its attempts. Its ID is the webhook-id receivers deduplicate
// on: the same for every attempt and redelivery.
type Delivery struct {
	ID          string `json:"id"`
	WebhookID   string `json:"webhookId"`
	Seq         int64  `json:"seq"`
	ObjectID    string `json:"objectId"`
	Kind        string `json:"kind"`
	DataVersion int64  `json:"dataVersion"`
	EventName   string `json:"eventName"`
	// LicensePlate is the changing request's.
	LicensePlate string `json:"licensePlate"`
	// At is when the change was committed (milliseconds since the epoch).
	At    int64  `json:"at"`
	State string `json:"state"`
	// FirstAttemptAt and NextAttemptAt are in milliseconds since the
	// epoch; NextAttemptAt matters while pending.
	FirstAttemptAt int64             `json:"firstAttemptAt,omitempty"`
	NextAttemptAt  int64             `json:"nextAttemptAt,omitempty"`
	AttemptCount   int               `json:"attemptCount"`
	Attempts       []DeliveryAttempt `json:"attempts"`
}

// DeliveryAttempt is one try of a delivery: when, what the receiver
// answered (Status 0 when it did not), how long it took, the start of its
// answer and what went wrong.
type DeliveryAttempt struct {
	At        int64  `json:"at"`
	Status    int    `json:"status"`
	LatencyMs int64  `json:"latencyMs"`
	Excerpt   string `json:"excerpt,omitempty"`
	Error     string `json:"error,omitempty"`
}

// AddAttempt logs an attempt, keeping the latest MaxDeliveryAttempts.
func (d *Delivery) AddAttempt(a DeliveryAttempt) {
	if d.FirstAttemptAt == 0 {
		d.FirstAttemptAt = a.At
	}
	d.AttemptCount++
	d.Attempts = append(d.Attempts, a)
	if len(d.Attempts) > MaxDeliveryAttempts {
		d.Attempts = append([]DeliveryAttempt(nil), d.Attempts[len(d.Attempts)-MaxDeliveryAttempts:]...)
	}
}

// DeliveryQuery selects deliveries of one subscription, newest (greatest
// Seq) first below Before (0: from the newest), or, with Pending, only
// those pending, oldest first.
type DeliveryQuery struct {
	WebhookID string
	Pending   bool
	Before    int64
	Limit     int
}

// DeliveryBatch is what a delivering gateway records at once: deliveries
// made or updated (by ID), and the subscription's cursor moved from From
// to To (equal when it does not move), under the lease of Owner.
type DeliveryBatch struct {
	WebhookID  string
	Owner      string
	From, To   int64
	Deliveries []Delivery
}
