package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/webhook"
)

// webhooks manages a company's webhook subscriptions straight in the
// store, with the rules of the API (POST /api/v1/webhooks and the rest): a
// running gateway starts delivering for a new subscription within a
// second.
func webhooks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("webhooks needs a subcommand: create, list, delete, enable, deliveries or redeliver")
	}
	sub := args[0]
	fs, sf, log := storeCommand("webhooks "+sub, getenv, stderr)
	company := fs.String("company", "", "the company whose subscriptions these are")
	dataspace := fs.String("dataspace", "default", "the dataspace of the subscriptions")
	allowPrivate := fs.Bool("webhook-allow-private", getenv("SCWM_WEBHOOK_ALLOW_PRIVATE") == "true", "accept loopback, private and link-local endpoints, as serve's flag of the same name")
	allowHTTP := fs.Bool("webhook-allow-http", getenv("SCWM_WEBHOOK_ALLOW_HTTP") == "true", "accept http:// endpoints, as serve's flag of the same name")
	var url, kinds, events, after, id, delivery string
	limit := 0
	switch sub {
	case "create":
		fs.StringVar(&url, "url", "", "the endpoint deliveries are posted to")
		fs.StringVar(&kinds, "kinds", "", "comma-separated kinds (processType) to deliver; all when empty")
		fs.StringVar(&events, "events", "", "comma-separated event names to deliver; all when empty")
		fs.StringVar(&after, "after", "", "a change-feed cursor to start after; the feed's end when empty")
	case "list":
	case "delete", "enable", "deliveries", "redeliver":
		fs.StringVar(&id, "id", "", "the subscription's id")
		if sub == "deliveries" {
			fs.IntVar(&limit, "limit", 50, "how many deliveries, newest first")
		}
		if sub == "redeliver" {
			fs.StringVar(&delivery, "delivery", "", "the delivery's id (its webhook-id)")
		}
	default:
		return fmt.Errorf("unknown webhooks subcommand %q: use create, list, delete, enable, deliveries or redeliver", sub)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *company == "" {
		return fmt.Errorf("webhooks %s needs --company", sub)
	}
	if id == "" && sub != "create" && sub != "list" {
		return fmt.Errorf("webhooks %s needs --id", sub)
	}
	st, err := sf.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	gw, err := handlers.New(ctx, handlers.Config{Dataspaces: []string{*dataspace}, Logger: log,
		Webhooks: webhook.Config{Client: webhook.NewClient(0, *allowPrivate, *allowHTTP)}}, st)
	if err != nil {
		return err
	}
	caller := handlers.NewCaller("", *company, "webhooks-cli", "")
	var out any
	switch sub {
	case "create":
		out, err = gw.CreateWebhook(ctx, caller, *dataspace, handlers.WebhookRequest{URL: url, Kinds: splitList(kinds), Events: splitList(events), After: after})
	case "list":
		out, err = gw.ListWebhooks(ctx, caller, *dataspace)
	case "delete":
		if err = gw.DeleteWebhook(ctx, caller, *dataspace, id); err == nil {
			out = map[string]string{"deleted": id}
		}
	case "enable":
		out, err = gw.EnableWebhook(ctx, caller, *dataspace, id)
	case "deliveries":
		out, err = gw.WebhookDeliveries(ctx, caller, *dataspace, id, "", limit)
	case "redeliver":
		if delivery == "" {
			return errors.New("webhooks redeliver needs --delivery")
		}
		out, err = gw.Redeliver(ctx, caller, *dataspace, id, delivery)
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, out)
}

// splitList reads a comma-separated list; empty is none.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
