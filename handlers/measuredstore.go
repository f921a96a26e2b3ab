package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/scwm-gateway/scwm-gateway/internal/metrics"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// measuredStore is a Store whose every operation is timed and, when it
// fails for another reason than a missing record, a duplicate or a lost
// race, counted as an error, under the name of its method.
type measuredStore struct {
	Store
	m *metrics.Metrics
}

// observe records an operation that started at start and ended with err.
func (s measuredStore) observe(op string, start time.Time, err error) {
	failed := err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrDuplicate) && !errors.Is(err, store.ErrConflict)
	s.m.StoreOperation(op, time.Since(start), failed)
}

func (s measuredStore) Ready(ctx context.Context) error {
	start := time.Now()
	err := s.Store.Ready(ctx)
	s.observe("Ready", start, err)
	return err
}

func (s measuredStore) Clients(ctx context.Context) ([]store.Client, error) {
	start := time.Now()
	v, err := s.Store.Clients(ctx)
	s.observe("Clients", start, err)
	return v, err
}

func (s measuredStore) FindClient(ctx context.Context, apiKey string) (*store.Client, error) {
	start := time.Now()
	v, err := s.Store.FindClient(ctx, apiKey)
	s.observe("FindClient", start, err)
	return v, err
}

func (s measuredStore) Networks(ctx context.Context) ([]store.Network, error) {
	start := time.Now()
	v, err := s.Store.Networks(ctx)
	s.observe("Networks", start, err)
	return v, err
}

func (s measuredStore) Companies(ctx context.Context) ([]store.Company, error) {
	start := time.Now()
	v, err := s.Store.Companies(ctx)
	s.observe("Companies", start, err)
	return v, err
}

func (s measuredStore) InsertClient(ctx context.Context, c store.Client) error {
	start := time.Now()
	err := s.Store.InsertClient(ctx, c)
	s.observe("InsertClient", start, err)
	return err
}

func (s measuredStore) ClientsRevision(ctx context.Context) (int64, error) {
	start := time.Now()
	v, err := s.Store.ClientsRevision(ctx)
	s.observe("ClientsRevision", start, err)
	return v, err
}

func (s measuredStore) NextSequence(ctx context.Context, dataspace, ownerID, name string) (int64, error) {
	start := time.Now()
	v, err := s.Store.NextSequence(ctx, dataspace, ownerID, name)
	s.observe("NextSequence", start, err)
	return v, err
}

func (s measuredStore) InsertIncident(ctx context.Context, inc *store.Incident) error {
	start := time.Now()
	err := s.Store.InsertIncident(ctx, inc)
	s.observe("InsertIncident", start, err)
	return err
}

func (s measuredStore) FindIncident(ctx context.Context, dataspace, id string, with store.Include) (*store.Incident, error) {
	start := time.Now()
	v, err := s.Store.FindIncident(ctx, dataspace, id, with)
	s.observe("FindIncident", start, err)
	return v, err
}

func (s measuredStore) FindComment(ctx context.Context, incidentID, commentID string) (*store.Comment, error) {
	start := time.Now()
	v, err := s.Store.FindComment(ctx, incidentID, commentID)
	s.observe("FindComment", start, err)
	return v, err
}

func (s measuredStore) FindCommentByID(ctx context.Context, commentID string) (string, *store.Comment, error) {
	start := time.Now()
	a, b, err := s.Store.FindCommentByID(ctx, commentID)
	s.observe("FindCommentByID", start, err)
	return a, b, err
}

func (s measuredStore) FindChildren(ctx context.Context, dataspace, parentID string) ([]*store.Incident, error) {
	start := time.Now()
	v, err := s.Store.FindChildren(ctx, dataspace, parentID)
	s.observe("FindChildren", start, err)
	return v, err
}

func (s measuredStore) SearchIncidents(ctx context.Context, q store.SearchQuery) ([]*store.Incident, error) {
	start := time.Now()
	v, err := s.Store.SearchIncidents(ctx, q)
	s.observe("SearchIncidents", start, err)
	return v, err
}

func (s measuredStore) ListFeed(ctx context.Context, q store.FeedQuery) ([]store.FeedEntry, error) {
	start := time.Now()
	v, err := s.Store.ListFeed(ctx, q)
	s.observe("ListFeed", start, err)
	return v, err
}

func (s measuredStore) FeedHead(ctx context.Context) (int64, error) {
	start := time.Now()
	v, err := s.Store.FeedHead(ctx)
	s.observe("FeedHead", start, err)
	return v, err
}

func (s measuredStore) InsertWebhook(ctx context.Context, w *store.Webhook) error {
	start := time.Now()
	err := s.Store.InsertWebhook(ctx, w)
	s.observe("InsertWebhook", start, err)
	return err
}

func (s measuredStore) FindWebhook(ctx context.Context, id string) (*store.Webhook, error) {
	start := time.Now()
	v, err := s.Store.FindWebhook(ctx, id)
	s.observe("FindWebhook", start, err)
	return v, err
}

func (s measuredStore) ListWebhooks(ctx context.Context, dataspace, companyID string) ([]store.Webhook, error) {
	start := time.Now()
	v, err := s.Store.ListWebhooks(ctx, dataspace, companyID)
	s.observe("ListWebhooks", start, err)
	return v, err
}

func (s measuredStore) DeleteWebhook(ctx context.Context, id string) error {
	start := time.Now()
	err := s.Store.DeleteWebhook(ctx, id)
	s.observe("DeleteWebhook", start, err)
	return err
}

func (s measuredStore) SetWebhookDisabled(ctx context.Context, id string, at int64, reason string) error {
	start := time.Now()
	err := s.Store.SetWebhookDisabled(ctx, id, at, reason)
	s.observe("SetWebhookDisabled", start, err)
	return err
}

func (s measuredStore) LeaseWebhook(ctx context.Context, id, owner string, now, until int64) (bool, error) {
	start := time.Now()
	v, err := s.Store.LeaseWebhook(ctx, id, owner, now, until)
	s.observe("LeaseWebhook", start, err)
	return v, err
}

func (s measuredStore) RecordDeliveries(ctx context.Context, b store.DeliveryBatch) error {
	start := time.Now()
	err := s.Store.RecordDeliveries(ctx, b)
	s.observe("RecordDeliveries", start, err)
	return err
}

func (s measuredStore) ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error) {
	start := time.Now()
	v, err := s.Store.ListDeliveries(ctx, q)
	s.observe("ListDeliveries", start, err)
	return v, err
}

func (s measuredStore) FindDelivery(ctx context.Context, webhookID, id string) (*store.Delivery, error) {
	start := time.Now()
	v, err := s.Store.FindDelivery(ctx, webhookID, id)
	s.observe("FindDelivery", start, err)
	return v, err
}

func (s measuredStore) RedeliverDelivery(ctx context.Context, webhookID, id string, now int64) error {
	start := time.Now()
	err := s.Store.RedeliverDelivery(ctx, webhookID, id, now)
	s.observe("RedeliverDelivery", start, err)
	return err
}

func (s measuredStore) PruneDeliveries(ctx context.Context, before int64) (int64, error) {
	start := time.Now()
	v, err := s.Store.PruneDeliveries(ctx, before)
	s.observe("PruneDeliveries", start, err)
	return v, err
}

func (s measuredStore) WriteChange(ctx context.Context, ch store.Change) error {
	start := time.Now()
	err := s.Store.WriteChange(ctx, ch)
	s.observe("WriteChange", start, err)
	return err
}

func (s measuredStore) ClaimIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord) (*store.IdempotencyRecord, error) {
	start := time.Now()
	v, err := s.Store.ClaimIdempotencyKey(ctx, rec)
	s.observe("ClaimIdempotencyKey", start, err)
	return v, err
}

func (s measuredStore) FindIdempotencyKey(ctx context.Context, key string) (*store.IdempotencyRecord, error) {
	start := time.Now()
	v, err := s.Store.FindIdempotencyKey(ctx, key)
	s.observe("FindIdempotencyKey", start, err)
	return v, err
}

func (s measuredStore) FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error {
	start := time.Now()
	err := s.Store.FinishIdempotencyKey(ctx, key, plate, status, body)
	s.observe("FinishIdempotencyKey", start, err)
	return err
}

func (s measuredStore) ReleaseIdempotencyLease(ctx context.Context, key, plate string) error {
	start := time.Now()
	err := s.Store.ReleaseIdempotencyLease(ctx, key, plate)
	s.observe("ReleaseIdempotencyLease", start, err)
	return err
}

func (s measuredStore) TakeOverIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord, leaseUntil time.Time) (bool, error) {
	start := time.Now()
	v, err := s.Store.TakeOverIdempotencyKey(ctx, rec, leaseUntil)
	s.observe("TakeOverIdempotencyKey", start, err)
	return v, err
}

func (s measuredStore) ExpireIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	start := time.Now()
	v, err := s.Store.ExpireIdempotencyKeys(ctx, now)
	s.observe("ExpireIdempotencyKeys", start, err)
	return v, err
}

func (s measuredStore) FindEffect(ctx context.Context, dataspace, plate string) (*store.Effect, error) {
	start := time.Now()
	v, err := s.Store.FindEffect(ctx, dataspace, plate)
	s.observe("FindEffect", start, err)
	return v, err
}

func (s measuredStore) FindUser(ctx context.Context, username string) (*store.User, error) {
	start := time.Now()
	v, err := s.Store.FindUser(ctx, username)
	s.observe("FindUser", start, err)
	return v, err
}

func (s measuredStore) FindUserByID(ctx context.Context, id string) (*store.User, error) {
	start := time.Now()
	v, err := s.Store.FindUserByID(ctx, id)
	s.observe("FindUserByID", start, err)
	return v, err
}

func (s measuredStore) FindOAuthClient(ctx context.Context, clientID string) (*store.OAuthClient, error) {
	start := time.Now()
	v, err := s.Store.FindOAuthClient(ctx, clientID)
	s.observe("FindOAuthClient", start, err)
	return v, err
}

func (s measuredStore) InsertToken(ctx context.Context, t store.Token) error {
	start := time.Now()
	err := s.Store.InsertToken(ctx, t)
	s.observe("InsertToken", start, err)
	return err
}

func (s measuredStore) FindToken(ctx context.Context, hash string) (*store.Token, error) {
	start := time.Now()
	v, err := s.Store.FindToken(ctx, hash)
	s.observe("FindToken", start, err)
	return v, err
}

func (s measuredStore) RevokeToken(ctx context.Context, hash string) (bool, error) {
	start := time.Now()
	v, err := s.Store.RevokeToken(ctx, hash)
	s.observe("RevokeToken", start, err)
	return v, err
}

func (s measuredStore) ExpireTokens(ctx context.Context, now time.Time) (int64, error) {
	start := time.Now()
	v, err := s.Store.ExpireTokens(ctx, now)
	s.observe("ExpireTokens", start, err)
	return v, err
}
