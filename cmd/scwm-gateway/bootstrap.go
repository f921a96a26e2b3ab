package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// firstRun is what the first start of an empty gateway created: the
// credentials it prints, and the file in the data directory that keeps them
// until the user deletes it.
type firstRun struct {
	OwnerID          string `json:"ownerId"`
	ProcessNetworkID string `json:"processNetworkId"`
	APIKey           string `json:"apiKey"`
	APISecret        string `json:"apiSecret"`
	UserID           string `json:"userId"`
	Authorization    string `json:"authorization"`

	// File is where the credentials are kept.
	File string `json:"-"`
	// Reminder is set on the starts after the one that created the client:
	// they only point to File, the secret is not printed again.
	Reminder bool `json:"-"`
}

// Names of what the first start creates.
const (
	firstCompany = "my-company"
	firstNetwork = "my-network"
	firstUser    = "first-user"
	// firstRunFile, in the data directory, keeps the first-run credentials
	// until the user deletes it.
	firstRunFile = "first-run-credentials.json"
)

// prepareData applies the seed file if one is given; with none and no client
// in the store, it creates a company, a network and a client and returns them
// so that their credentials can be printed.
//
// A newcomer must never lose those credentials, whatever fails during the
// start. So they are written to firstRunFile in dataDir (mode 0600) before
// the client is stored: a start that fails after that finds the file, and
// either stores the same client (if the store has none yet) and prints it
// in full, or, the client stored, points to the file. Every start points to
// it until the user deletes it.
func prepareData(ctx context.Context, st dataStore, seedPath, dataDir string, log zerolog.Logger) (*firstRun, error) {
	if seedPath != "" {
		seed, err := loadSeed(seedPath)
		if err != nil {
			return nil, err
		}
		if err := store.ApplySeed(ctx, st, st.Passwords(), seed); err != nil {
			return nil, fmt.Errorf("apply seed %s: %w", seedPath, err)
		}
		log.Info().Str("seed", seedPath).
			Int("companies", len(seed.Companies)).Int("networks", len(seed.Networks)).Int("clients", len(seed.Clients)).
			Int("users", len(seed.Users)).Int("oauthClients", len(seed.OAuthClients)).
			Msg("seed applied")
		return nil, nil
	}
	file, err := filepath.Abs(filepath.Join(dataDir, firstRunFile))
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", dataDir, err)
	}
	saved, err := readFirstRun(file)
	if err != nil {
		return nil, err
	}
	n, err := st.CountClients(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		if saved == nil {
			return nil, nil
		}
		c, err := st.FindClient(ctx, saved.APIKey)
		if errors.Is(err, store.ErrNotFound) || err == nil && !c.Active() {
			log.Warn().Str("file", file).Msg("the first-run credentials file names an API client this store does not have or has revoked: delete the file")
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		saved.Reminder = true
		log.Info().Str("file", file).Msg("the first-run credentials are still kept in a file: delete it once they are stored elsewhere")
		return saved, nil
	}
	fr := saved
	if fr == nil {
		key, secret := credentials.NewAPIKey(), credentials.NewSecret()
		fr = &firstRun{OwnerID: firstCompany, ProcessNetworkID: firstNetwork, APIKey: key, APISecret: secret,
			UserID: firstUser, Authorization: basicAuthorization(key, secret), File: file}
		if err := writeFirstRun(fr); err != nil {
			return nil, err
		}
	}
	if err := store.ApplySeed(ctx, st, st.Passwords(), firstRunSeed(fr)); err != nil {
		return nil, fmt.Errorf("create the first client: %w", err)
	}
	log.Info().Str("ownerId", fr.OwnerID).Str("processNetworkId", fr.ProcessNetworkID).Str("apiKey", fr.APIKey).Str("file", file).
		Msg("first start: created a company, a network and an API client (credentials on stdout and in the file)")
	return fr, nil
}

// firstRunSeed is what a first run creates: a company, its network and
// the API client of the credentials.
func firstRunSeed(fr *firstRun) *store.Seed {
	return &store.Seed{
		Companies: []store.Company{{ID: fr.OwnerID, Name: "My Company"}},
		Networks:  []store.Network{{ID: fr.ProcessNetworkID, Members: []string{fr.OwnerID}}},
		Clients:   []store.SeedClient{{APIKey: fr.APIKey, APISecret: fr.APISecret, CompanyID: fr.OwnerID, UserID: fr.UserID}},
	}
}

// resetSeedOf is what an admin reset applies again: the --seed file, or
// else the first run's company, network and client; nil when the store
// was made otherwise (then a reset has nothing to start from).
func resetSeedOf(seedPath string, first *firstRun) (*store.Seed, error) {
	switch {
	case seedPath != "":
		return loadSeed(seedPath)
	case first != nil:
		return firstRunSeed(first), nil
	}
	return nil, nil
}

// readFirstRun reads the first-run credentials file; nil if there is none.
func readFirstRun(file string) (*firstRun, error) {
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the first-run credentials: %w", err)
	}
	var fr firstRun
	if err := json.Unmarshal(raw, &fr); err != nil || fr.APIKey == "" || len(fr.APISecret) < credentials.MinSecretLen ||
		fr.OwnerID == "" || fr.ProcessNetworkID == "" || fr.UserID == "" {
		return nil, fmt.Errorf("%s does not hold first-run credentials: delete it, or move it away, and start again", file)
	}
	fr.Authorization = basicAuthorization(fr.APIKey, fr.APISecret)
	fr.File = file
	return &fr, nil
}

// writeFirstRun writes fr to fr.File, readable by its owner only, whole or
// not at all: it is written beside it, synced and renamed into place.
func writeFirstRun(fr *firstRun) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("keep the first-run credentials in %s: %w", fr.File, err)
		}
	}()
	dir := filepath.Dir(fr.File)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(fr, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+firstRunFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), fr.File); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// basicAuthorization is the Authorization header value for a client.
func basicAuthorization(apiKey, apiSecret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(apiKey+":"+apiSecret))
}

// printFirstRun prints everything needed to send a first event, or, on the
// starts after the first, where the credentials are kept. It goes to
// stdout, never to the log, because it holds the secret.
func printFirstRun(w io.Writer, fr *firstRun, addr string) {
	if fr.Reminder {
		fmt.Fprintf(w, `
The API key and secret this gateway created at its first start are kept in
  %s
Delete that file once you have stored them elsewhere; until then every start
prints this reminder.

`, fr.File)
		return
	}
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
printed only now, and kept in %s
(readable by you only) until you delete that file: store it elsewhere, then
delete the file.

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

`, fr.File, fr.OwnerID, fr.ProcessNetworkID, fr.APIKey, fr.APISecret, fr.Authorization, url, fr.Authorization, strings.ReplaceAll(string(body), "'", `'\''`))
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
