package handlers

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/webhook"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Bounds of webhook subscriptions.
const (
	// MaxWebhooksPerCompany caps a company's subscriptions in a dataspace.
	MaxWebhooksPerCompany = 20
	// maxWebhookURL bounds an endpoint's URL, in bytes.
	maxWebhookURL = 2048
	// maxWebhookFilters bounds the kinds and the events one subscription
	// names.
	maxWebhookFilters = 100
	// defaultDeliveryPage and maxDeliveryPage bound a page of a
	// subscription's delivery log.
	defaultDeliveryPage = 50
	maxDeliveryPage     = 200
)

// WebhookView is a subscription as its company sees it; Secret is set
// only in the answer that created it.
type WebhookView struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Kinds          []string `json:"kinds"`
	Events         []string `json:"events"`
	CreatedAt      string   `json:"createdAt"`
	Enabled        bool     `json:"enabled"`
	DisabledAt     string   `json:"disabledAt,omitempty"`
	DisabledReason string   `json:"disabledReason,omitempty"`
	Secret         string   `json:"secret,omitempty"`
}

func viewOf(w *store.Webhook) *WebhookView {
	v := &WebhookView{ID: w.ID, URL: w.URL, Kinds: w.Kinds, Events: w.Events, CreatedAt: msTime(w.CreatedAt), Enabled: w.DisabledAt == 0,
		DisabledReason: w.DisabledReason}
	if w.DisabledAt != 0 {
		v.DisabledAt = msTime(w.DisabledAt)
	}
	return v
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

// WebhookRequest is what a company asks for when it subscribes: the
// endpoint, the kinds (processType names) and event names it wants (none:
// all), and where in the change feed to start (a cursor of the feed; ""
// is its current end, so the subscription delivers the changes committed
// from now on).
type WebhookRequest struct {
	URL    string   `json:"url"`
	Kinds  []string `json:"kinds"`
	Events []string `json:"events"`
	After  string   `json:"after"`
}

// CreateWebhook subscribes the caller's company in a dataspace to the
// changes it may see. The answer holds the subscription's secret, the
// only time it is shown.
func (g *Gateway) CreateWebhook(ctx context.Context, caller Caller, dataspace string, req WebhookRequest) (*WebhookView, error) {
	var problems []string
	if err := g.checkEndpoint(req.URL); err != nil {
		problems = append(problems, "$.url: "+err.Error())
	}
	kinds, kp := checkWebhookKinds(req.Kinds)
	events, ep := g.checkWebhookEvents(req.Events)
	problems = append(append(problems, kp...), ep...)
	cursor, err := decodeFeedCursor(req.After)
	if err != nil {
		problems = append(problems, "$.after: "+err.Error())
	}
	if len(problems) > 0 {
		return nil, envelope.Errorf(envelope.KindSchemaValidation, "%s", strings.Join(problems, "; "))
	}
	existing, err := g.store.ListWebhooks(ctx, dataspace, caller.CompanyID)
	if err != nil {
		return nil, err
	}
	if len(existing) >= MaxWebhooksPerCompany {
		return nil, envelope.Errorf(envelope.KindRateLimitExceeded,
			"company %q has %d webhook subscriptions, the most it may have; delete one first", caller.CompanyID, len(existing))
	}
	if req.After == "" {
		if cursor, err = g.store.FeedHead(ctx); err != nil {
			return nil, err
		}
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, err
	}
	w := &store.Webhook{ID: "wh_" + uuid.NewString(), Dataspace: dataspace, CompanyID: caller.CompanyID, URL: req.URL, Secret: secret,
		Kinds: kinds, Events: events, CreatedAt: g.now().UnixMilli(), Cursor: cursor}
	if err := g.store.InsertWebhook(ctx, w); err != nil {
		return nil, err
	}
	g.hooks.Resubscribe()
	v := viewOf(w)
	v.Secret = secret
	return v, nil
}

// checkEndpoint refuses a URL deliveries could not be sent to: not
// absolute, not https (unless the deployment allows http), with
// credentials in it, or naming an address the deployment does not allow
// (a host name is checked again, against what it resolves to, at every
// delivery).
func (g *Gateway) checkEndpoint(text string) error {
	client := g.cfg.Webhooks.Client
	u, err := url.Parse(text)
	switch {
	case text == "":
		return errors.New("is required: the https:// URL deliveries are posted to")
	case len(text) > maxWebhookURL:
		return errors.New("is longer than the longest URL taken")
	case err != nil || u.Host == "" || u.Opaque != "":
		return errors.New("is not an absolute URL")
	case u.User != nil:
		return errors.New("carries credentials; deliveries are authenticated by their signature")
	case u.Fragment != "":
		return errors.New("has a fragment, which is never sent")
	case u.Scheme == "https":
	case u.Scheme == "http" && client.AllowHTTP:
	default:
		return errors.New("is not https:// (this gateway sends deliveries to https:// endpoints only)")
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && webhook.Internal(ip) && !client.AllowPrivate {
		return errors.New("is a loopback, private, link-local or metadata address, which this gateway does not deliver to")
	}
	if strings.EqualFold(u.Hostname(), "localhost") && !client.AllowPrivate {
		return errors.New("is localhost, which this gateway does not deliver to")
	}
	return nil
}

// checkWebhookKinds reads the kinds of a subscription, each a processType
// name of the catalogue (in its own spelling).
func checkWebhookKinds(names []string) ([]string, []string) {
	if len(names) > maxWebhookFilters {
		return nil, []string{"$.kinds: names more kinds than there are"}
	}
	out, problems := []string{}, []string(nil)
	for _, n := range names {
		k, ok := lookupKind(n)
		if !ok {
			problems = append(problems, "$.kinds: "+quote(n)+" is no kind of the catalogue; they are "+kindNames())
			continue
		}
		out = appendNew(out, k.Name)
	}
	return out, problems
}

// checkWebhookEvents reads the event names of a subscription, each an
// event of the catalogue that changes something.
func (g *Gateway) checkWebhookEvents(names []string) ([]string, []string) {
	if len(names) > maxWebhookFilters {
		return nil, []string{"$.events: names too many events"}
	}
	out, problems := []string{}, []string(nil)
	for _, n := range names {
		name, err := envelope.ParseEventName(n)
		if err != nil {
			problems = append(problems, "$.events: "+quote(n)+" is not an event name (app:action:vN)")
			continue
		}
		ev, lerr := g.registry.Lookup(name)
		if lerr != nil || ev.ReadOnly {
			problems = append(problems, "$.events: "+quote(n)+" is no event of the catalogue that changes an object")
			continue
		}
		out = appendNew(out, ev.Name.String())
	}
	return out, problems
}

// kindNames lists the kinds' processType names.
func kindNames() string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

func appendNew(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// ListWebhooks lists the caller's company's subscriptions in a dataspace.
func (g *Gateway) ListWebhooks(ctx context.Context, caller Caller, dataspace string) ([]*WebhookView, error) {
	list, err := g.store.ListWebhooks(ctx, dataspace, caller.CompanyID)
	if err != nil {
		return nil, err
	}
	out := make([]*WebhookView, len(list))
	for i := range list {
		out[i] = viewOf(&list[i])
	}
	return out, nil
}

// ownWebhook loads a subscription of the caller's company; any other is
// the same not-found, so that ids leak nothing.
func (g *Gateway) ownWebhook(ctx context.Context, caller Caller, dataspace, id string) (*store.Webhook, error) {
	w, err := g.store.FindWebhook(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (w.CompanyID != caller.CompanyID || w.Dataspace != dataspace)) {
		return nil, envelope.Errorf(envelope.KindObjectNotFound, "company %q has no webhook subscription %s", caller.CompanyID, quote(id))
	}
	return w, err
}

// DeleteWebhook ends a subscription of the caller's company and forgets
// its deliveries.
func (g *Gateway) DeleteWebhook(ctx context.Context, caller Caller, dataspace, id string) error {
	if _, err := g.ownWebhook(ctx, caller, dataspace, id); err != nil {
		return err
	}
	if err := g.store.DeleteWebhook(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	g.hooks.Resubscribe()
	return nil
}

// EnableWebhook enables a subscription again after it was disabled (its
// pending deliveries and the changes since go out; a failed delivery is
// redelivered on request).
func (g *Gateway) EnableWebhook(ctx context.Context, caller Caller, dataspace, id string) (*WebhookView, error) {
	w, err := g.ownWebhook(ctx, caller, dataspace, id)
	if err != nil {
		return nil, err
	}
	if err := g.store.SetWebhookDisabled(ctx, id, 0, ""); err != nil {
		return nil, err
	}
	g.hooks.Resubscribe()
	w.DisabledAt, w.DisabledReason = 0, ""
	return viewOf(w), nil
}

// DeliveryPage is a page of a subscription's delivery log, newest first,
// with the cursor of the next (older) page, or none.
type DeliveryPage struct {
	Deliveries []store.Delivery `json:"deliveries"`
	Next       *string          `json:"next"`
}

// WebhookDeliveries lists a page of a subscription's delivery log,
// before a cursor of an earlier page ("" for the newest).
func (g *Gateway) WebhookDeliveries(ctx context.Context, caller Caller, dataspace, id, before string, limit int) (*DeliveryPage, error) {
	if _, err := g.ownWebhook(ctx, caller, dataspace, id); err != nil {
		return nil, err
	}
	seq, err := decodeFeedCursor(before)
	if err != nil {
		return nil, envelope.Errorf(envelope.KindSchemaValidation, "$.cursor: %v", err)
	}
	if limit <= 0 {
		limit = defaultDeliveryPage
	}
	limit = min(limit, maxDeliveryPage)
	list, err := g.store.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: id, Before: seq, Limit: limit})
	if err != nil {
		return nil, err
	}
	page := &DeliveryPage{Deliveries: list}
	if page.Deliveries == nil {
		page.Deliveries = []store.Delivery{}
	}
	if len(list) == limit && list[len(list)-1].Seq > 1 {
		next := encodeFeedCursor(list[len(list)-1].Seq)
		page.Next = &next
	}
	return page, nil
}

// Redeliver sends a delivery of a subscription again, with its id, as
// soon as the deliverer gets to it (after earlier pending deliveries of
// its object).
func (g *Gateway) Redeliver(ctx context.Context, caller Caller, dataspace, id, deliveryID string) (*store.Delivery, error) {
	if _, err := g.ownWebhook(ctx, caller, dataspace, id); err != nil {
		return nil, err
	}
	now := g.now().UnixMilli()
	err := g.store.RedeliverDelivery(ctx, id, deliveryID, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, envelope.Errorf(envelope.KindObjectNotFound, "webhook subscription %s has no delivery %s", quote(id), quote(deliveryID))
	}
	if err != nil {
		return nil, err
	}
	// The answer is the delivery as this call left it: the deliverer may
	// take it up at any moment from now on.
	dl, err := g.store.FindDelivery(ctx, id, deliveryID)
	if err != nil {
		return nil, err
	}
	dl.State, dl.NextAttemptAt = store.DeliveryPending, now
	g.hooks.Resubscribe()
	return dl, nil
}

// webhookVisible is the deliverer's check that a subscription's company
// may still see an object when its delivery is due: as its owner, its
// partner, or a member of its network for a kind shared with it.
func (g *Gateway) webhookVisible(ctx context.Context, w *store.Webhook, objectID string) (bool, error) {
	inc, err := g.store.FindIncident(ctx, w.Dataspace, objectID, 0)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	k, ok := lookupKind(inc.ProcessType)
	if !ok {
		return false, nil
	}
	call := &Call{Caller: Caller{CompanyID: w.CompanyID}, OwnerID: w.CompanyID, Dataspace: w.Dataspace}
	return g.roleOf(inc, call, k) != roleNone, nil
}

// Webhooks is the gateway's deliverer of webhook subscriptions.
func (g *Gateway) Webhooks() *webhook.Deliverer { return g.hooks }
