package ui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Bounds of the webhooks pages.
const (
	// overviewDeliveries is how many of each subscription's latest
	// deliveries the overview shows; the subscription's own page has the
	// whole log, a page at a time.
	overviewDeliveries = 10
	// logPage is how many deliveries a subscription's page shows at once.
	logPage = 50
)

// hookData is a subscription on the webhooks pages with a page of its
// delivery log, newest first.
type hookData struct {
	Hook       *handlers.WebhookView
	Deliveries []store.Delivery
	// More is the address of the rest of the log, if there is more.
	More    string
	Problem *problem
}

// webhooksData is the data of the webhooks pages.
type webhooksData struct {
	// One is set on a subscription's own page.
	One   bool
	Hooks []hookData
	// Redelivered is the delivery a redeliver just made pending again.
	Redelivered string
	Problem     *problem
	// CSRF is the session's token, for the redeliver forms.
	CSRF string
}

// problemOf is the problem to show for an error of the gateway's webhook
// calls: the envelope error's kind and message, or a plain failure (the
// details go to the log only).
func (u *UI) problemOf(err error, what string) *problem {
	var ee *envelope.Error
	if errors.As(err, &ee) {
		return &problem{Status: ee.Kind.Status(), Message: ee.Message, Exception: ee.Kind.ExceptionName()}
	}
	log := u.gw.Config().Logger
	log.Error().Err(err).Str("reading", what).Msg("ui: a webhook call failed")
	return &problem{Status: http.StatusInternalServerError, Message: what + " could not be read"}
}

// webhooksPage lists the company's subscriptions, each with its latest
// deliveries, through the calls the REST routes make for the same caller
// (so the same company scoping).
func (u *UI) webhooksPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	d := webhooksData{CSRF: s.csrf}
	list, err := u.gw.ListWebhooks(ctx, s.caller, u.dataspace)
	if err != nil {
		d.Problem = u.problemOf(err, "the webhook subscriptions")
		u.render(w, s, d.Problem.Status, "webhooks", "Webhooks", d)
		return
	}
	for _, h := range list {
		hd := hookData{Hook: h}
		page, err := u.gw.WebhookDeliveries(ctx, s.caller, u.dataspace, h.ID, "", overviewDeliveries)
		if err != nil {
			hd.Problem = u.problemOf(err, "the delivery log")
		} else {
			hd.Deliveries = page.Deliveries
			if page.Next != nil {
				hd.More = hookLink(h.ID)
			}
		}
		d.Hooks = append(d.Hooks, hd)
	}
	u.render(w, s, http.StatusOK, "webhooks", "Webhooks", d)
}

// webhookPage is one subscription of the company with its delivery log,
// a page at a time; another company's is not found.
func (u *UI) webhookPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	id := r.PathValue("id")
	q := r.URL.Query()
	d := webhooksData{One: true, CSRF: s.csrf, Redelivered: trimmed(q.Get("redelivered"))}
	page, err := u.gw.WebhookDeliveries(ctx, s.caller, u.dataspace, id, trimmed(q.Get("cursor")), logPage)
	if err != nil {
		p := u.problemOf(err, "the delivery log")
		u.render(w, s, p.Status, "error", http.StatusText(p.Status), p)
		return
	}
	list, err := u.gw.ListWebhooks(ctx, s.caller, u.dataspace)
	if err != nil {
		p := u.problemOf(err, "the webhook subscriptions")
		u.render(w, s, p.Status, "error", http.StatusText(p.Status), p)
		return
	}
	hd := hookData{Deliveries: page.Deliveries}
	for _, h := range list {
		if h.ID == id {
			hd.Hook = h
		}
	}
	if hd.Hook == nil { // deleted between the two calls
		u.fail(w, r, s, http.StatusNotFound, "There is no such webhook subscription.")
		return
	}
	if page.Next != nil {
		hd.More = hookLink(id) + "?" + url.Values{"cursor": {*page.Next}}.Encode()
	}
	d.Hooks = []hookData{hd}
	u.render(w, s, http.StatusOK, "webhooks", "Webhook "+id, d)
}

// redeliver sends a delivery of one of the company's subscriptions again,
// as POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver does, and
// goes back to the subscription's page.
func (u *UI) redeliver(w http.ResponseWriter, r *http.Request, s *session) {
	id, delivery := r.PathValue("id"), r.PathValue("delivery")
	if _, err := u.gw.Redeliver(r.Context(), s.caller, u.dataspace, id, delivery); err != nil {
		p := u.problemOf(err, "the delivery")
		u.render(w, s, p.Status, "error", http.StatusText(p.Status), p)
		return
	}
	http.Redirect(w, r, hookLink(id)+"?"+url.Values{"redelivered": {delivery}}.Encode(), http.StatusSeeOther)
}

// hookLink is the address of a subscription's page.
func hookLink(id string) string { return "/ui/webhooks/" + url.PathEscape(id) }

// redeliverLink is the address a delivery's redeliver form posts to.
func redeliverLink(id, delivery string) string {
	return hookLink(id) + "/deliveries/" + url.PathEscape(delivery) + "/redeliver"
}

// lastAttempt is a delivery's latest attempt, if any.
func lastAttempt(d store.Delivery) *store.DeliveryAttempt {
	if len(d.Attempts) == 0 {
		return nil
	}
	return &d.Attempts[len(d.Attempts)-1]
}
