package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// firstRun is what the first start of an empty gateway created, to be
// printed once.
type firstRun struct {
	OwnerID          string
	ProcessNetworkID string
	APIKey           string
	APISecret        string
}

// Names of what the first start creates.
const (
	firstCompany = "my-company"
	firstNetwork = "my-network"
	firstUser    = "first-user"
)

// prepareData applies the seed file if one is given; with none and no client
// in the store, it creates a company, a network and a client and returns them
// so that their credentials can be printed.
func prepareData(ctx context.Context, st *store.Store, seedPath string, log zerolog.Logger) (*firstRun, error) {
	if seedPath != "" {
		seed, err := store.LoadSeed(seedPath)
		if err != nil {
			return nil, err
		}
		if err := st.ApplySeed(ctx, seed); err != nil {
			return nil, fmt.Errorf("apply seed %s: %w", seedPath, err)
		}
		log.Info().Str("seed", seedPath).
			Int("companies", len(seed.Companies)).Int("networks", len(seed.Networks)).Int("clients", len(seed.Clients)).
			Int("users", len(seed.Users)).Int("oauthClients", len(seed.OAuthClients)).
			Msg("seed applied")
		return nil, nil
	}
	n, err := st.CountClients(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, nil
	}
	fr := &firstRun{OwnerID: firstCompany, ProcessNetworkID: firstNetwork, APIKey: credentials.NewAPIKey(), APISecret: credentials.NewSecret()}
	seed := &store.Seed{
		Companies: []store.Company{{ID: firstCompany, Name: "My Company"}},
		Networks:  []store.Network{{ID: firstNetwork, Members: []string{firstCompany}}},
		Clients:   []store.SeedClient{{APIKey: fr.APIKey, APISecret: fr.APISecret, CompanyID: firstCompany, UserID: firstUser}},
	}
	if err := st.ApplySeed(ctx, seed); err != nil {
		return nil, fmt.Errorf("create the first client: %w", err)
	}
	log.Info().Str("ownerId", fr.OwnerID).Str("processNetworkId", fr.ProcessNetworkID).Str("apiKey", fr.APIKey).
		Msg("first start: created a company, a network and an API client (credentials printed once on stdout)")
	return fr, nil
}

// basicAuthorization is the Authorization header value for a client.
func basicAuthorization(apiKey, apiSecret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(apiKey+":"+apiSecret))
}

// printFirstRun prints, once, everything needed to send a first event. It
// goes to stdout, never to the log, because it holds the secret.
func printFirstRun(w io.Writer, fr *firstRun, addr string) {
	auth := basicAuthorization(fr.APIKey, fr.APISecret)
	body, _ := json.Marshal(map[string]any{
		"header": map[string]any{
			"headerVersion": 1, "eventName": "agile-process-teams:add-incident:v5",
			"ownerId": fr.OwnerID, "processNetworkId": fr.ProcessNetworkID,
			"appName": "agile-process-teams", "dataspace": "default",
		},
		"payload": map[string]any{"aptBusinessObjectSummary": "My first incident", "businessPriority": "HIGH"},
	})
	url := "http://" + reachable(addr) + "/api/events"
	fmt.Fprintf(w, `
First start: this gateway had no API client, so it created one. The secret is
shown only now; keep it.

  ownerId           %s
  processNetworkId  %s
  apiKey            %s
  apiSecret         %s
  Authorization:    %s

Send a first event:

curl -sS -X POST %s \
  -H 'Authorization: %s' \
  -H 'Content-Type: application/json' \
  -d '%s'

`, fr.OwnerID, fr.ProcessNetworkID, fr.APIKey, fr.APISecret, auth, url, auth, strings.ReplaceAll(string(body), "'", `'\''`))
}

// reachable turns a listen address into one a local client can dial.
func reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// embeddedStoreLogger routes the embedded store's slog records into the
// process log, warnings and above only: its routine chatter is not ours.
func embeddedStoreLogger(log zerolog.Logger) *slog.Logger {
	l := log.With().Str("component", "embedded-store").Logger().Level(zerolog.ErrorLevel)
	return slog.New(zerolog.NewSlogHandler(l))
}
