package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// clients manages API clients straight in the store: create mints a key and
// secret and prints them as JSON; revoke disables a key. A running gateway
// sees the change within its directory refresh interval.
func clients(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("clients needs a subcommand: create or revoke")
	}
	fs := flag.NewFlagSet("clients "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs, getenv)
	log := zerolog.New(stderr).Level(zerolog.WarnLevel)

	switch args[0] {
	case "create":
		company := fs.String("company", "", "company the client acts for (created if missing)")
		network := fs.String("network", "", "network the company is made a member of (created if missing)")
		user := fs.String("user", "api-client", "user id the client's changes are recorded under")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *company == "" {
			return errors.New("clients create needs --company")
		}
		st, err := openStore(ctx, sf, 0, log)
		if err != nil {
			return err
		}
		defer st.Close(context.Background())
		if err := st.EnsureCompany(ctx, *company); err != nil {
			return err
		}
		if *network != "" {
			if err := st.AddNetworkMember(ctx, *network, *company); err != nil {
				return err
			}
		}
		key, secret := credentials.NewAPIKey(), credentials.NewSecret()
		err = st.InsertClient(ctx, store.Client{APIKey: key, SecretHash: credentials.HashSecret(secret), CompanyID: *company, UserID: *user})
		if err != nil {
			return err
		}
		out := map[string]string{
			"apiKey": key, "apiSecret": secret, "companyId": *company, "userId": *user,
			"authorization": basicAuthorization(key, secret),
		}
		if *network != "" {
			out["processNetworkId"] = *network
		}
		return printJSON(stdout, out)
	case "revoke":
		apiKey := fs.String("api-key", "", "the apiKey to revoke")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *apiKey == "" {
			return errors.New("clients revoke needs --api-key")
		}
		st, err := openStore(ctx, sf, 0, log)
		if err != nil {
			return err
		}
		defer st.Close(context.Background())
		if err := st.RevokeClient(ctx, *apiKey); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no API client has apiKey %q", *apiKey)
			}
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", *apiKey)
		return nil
	default:
		return fmt.Errorf("unknown clients subcommand %q: use create or revoke", args[0])
	}
}
