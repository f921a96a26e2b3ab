package handlers

import (
	"context"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// Store is the persistence the gateway needs. Both stores implement it
// (store/sqlite and store/mongodb; store/storetest is their contract);
// tests that must show a fault the real store cannot produce may wrap it.
type Store interface {
	// Ready checks that the store answers and has room to write; it backs
	// /readyz.
	Ready(ctx context.Context) error

	// Clients and Networks load the directory that authentication and
	// authorization are decided from, without a round trip per request.
	Clients(ctx context.Context) ([]store.Client, error)
	FindClient(ctx context.Context, apiKey string) (*store.Client, error)
	Networks(ctx context.Context) ([]store.Network, error)
	// Companies lists the companies with their master data.
	Companies(ctx context.Context) ([]store.Company, error)
	InsertClient(ctx context.Context, c store.Client) error
	// ClientsRevision counts changes of the clients, so that the directory
	// reloads only when they changed.
	ClientsRevision(ctx context.Context) (int64, error)

	NextSequence(ctx context.Context, dataspace, ownerID, name string) (int64, error)
	InsertIncident(ctx context.Context, inc *store.Incident) error
	// FindIncident loads an incident; with selects store.WithComments and
	// store.WithActivities.
	FindIncident(ctx context.Context, dataspace, id string, with store.Include) (*store.Incident, error)
	// FindComment loads one comment of an incident.
	FindComment(ctx context.Context, incidentID, commentID string) (*store.Comment, error)
	// FindCommentByID finds a comment by its id alone, with the id of the
	// object it is on.
	FindCommentByID(ctx context.Context, commentID string) (string, *store.Comment, error)
	// FindChildren lists the objects whose ParentID is parentID, oldest
	// first.
	FindChildren(ctx context.Context, dataspace, parentID string) ([]*store.Incident, error)
	// SearchIncidents finds the objects a company may find that a query
	// selects, in its order (store.SearchQuery).
	SearchIncidents(ctx context.Context, q store.SearchQuery) ([]*store.Incident, error)
	// ListFeed lists the changes a company may see after a position of
	// the change feed, in commit order (store.FeedQuery).
	ListFeed(ctx context.Context, q store.FeedQuery) ([]store.FeedEntry, error)
	// FeedHead is the Seq of the latest change of the feed, 0 for none:
	// where a new subscription starts.
	FeedHead(ctx context.Context) (int64, error)
	// Webhook subscriptions and their deliveries (internal/webhook
	// delivers them; see store.Webhook and store.Delivery).
	InsertWebhook(ctx context.Context, w *store.Webhook) error
	FindWebhook(ctx context.Context, id string) (*store.Webhook, error)
	// ListWebhooks lists a company's subscriptions in a dataspace, oldest
	// first; with an empty dataspace, every subscription.
	ListWebhooks(ctx context.Context, dataspace, companyID string) ([]store.Webhook, error)
	// DeleteWebhook removes a subscription and its deliveries.
	DeleteWebhook(ctx context.Context, id string) error
	// SetWebhookDisabled disables a subscription (at, in milliseconds,
	// and why) or, with at 0, enables it.
	SetWebhookDisabled(ctx context.Context, id string, at int64, reason string) error
	// LeaseWebhook gives owner the right to deliver for a subscription
	// until a time, when the lease is free, run out by now or owner's
	// already, and reports whether owner holds it.
	LeaseWebhook(ctx context.Context, id, owner string, now, until int64) (bool, error)
	// RecordDeliveries writes deliveries and moves the cursor at once, or
	// answers store.ErrConflict when owner lost the lease or the cursor
	// moved.
	RecordDeliveries(ctx context.Context, b store.DeliveryBatch) error
	ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error)
	FindDelivery(ctx context.Context, webhookID, id string) (*store.Delivery, error)
	// RedeliverDelivery makes a delivery pending again, due at now.
	RedeliverDelivery(ctx context.Context, webhookID, id string, now int64) error
	// PruneDeliveries deletes finished deliveries of changes committed
	// before a time.
	PruneDeliveries(ctx context.Context, before int64) (int64, error)

	// WriteChange writes a change planned from the incident's latest
	// version, or answers store.ErrConflict when another change came
	// first.
	WriteChange(ctx context.Context, ch store.Change) error

	// Idempotency keys, see idempotency.go. A claim may stay in the
	// store's memory until the first write made under it (Dispatch marks
	// the handler's context with store.WithClaim) or its Finish: a
	// restart forgets only claims under which nothing was written.
	ClaimIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord) (*store.IdempotencyRecord, error)
	FindIdempotencyKey(ctx context.Context, key string) (*store.IdempotencyRecord, error)
	FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error
	ReleaseIdempotencyLease(ctx context.Context, key, plate string) error
	TakeOverIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord, leaseUntil time.Time) (bool, error)
	ExpireIdempotencyKeys(ctx context.Context, now time.Time) (int64, error)
	FindEffect(ctx context.Context, dataspace, plate string) (*store.Effect, error)

	// The REST compatibility surface, see oauth.go.
	FindUser(ctx context.Context, username string) (*store.User, error)
	// FindUserByID loads the user of a user id (store.User.ID), the id
	// objects name their users by, or store.ErrNotFound.
	FindUserByID(ctx context.Context, id string) (*store.User, error)
	FindOAuthClient(ctx context.Context, clientID string) (*store.OAuthClient, error)
	InsertToken(ctx context.Context, t store.Token) error
	FindToken(ctx context.Context, hash string) (*store.Token, error)
	RevokeToken(ctx context.Context, hash string) (bool, error)
	ExpireTokens(ctx context.Context, now time.Time) (int64, error)
}
