package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

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
	fs, sf, log := storeCommand("clients "+args[0], getenv, stderr)

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
		st, err := openForCompany(ctx, sf, log, *company)
		if err != nil {
			return err
		}
		defer st.Close(context.Background())
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
		return revokeOne(ctx, fs, args[1:], sf, log, stdout, "api-key", "the apiKey to revoke", "clients revoke", "revoked",
			func(st dataStore, key string) error { return st.RevokeClient(ctx, key) },
			func(key string) string { return fmt.Sprintf("no API client has apiKey %q", key) })
	default:
		return fmt.Errorf("unknown clients subcommand %q: use create or revoke", args[0])
	}
}

// storeCommand starts the flag set of a command that works on the store
// directly: the store flags of serve, --store-timeout, and a logger for
// warnings only. The flags bind to the returned *cliStore, which the
// command reads after parsing.
func storeCommand(name string, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *cliStore, zerolog.Logger) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := &cliStore{}
	sf.flags.register(fs, getenv)
	fs.StringVar(&sf.timeout, "store-timeout", envOr(getenv, "SCWM_STORE_TIMEOUT", "5s"),
		"how long to wait for the store before giving up (env SCWM_STORE_TIMEOUT)")
	return fs, sf, zerolog.New(stderr).Level(zerolog.WarnLevel)
}

// cliStore is the store a CLI command works on, as its flags name it.
type cliStore struct {
	flags   storeFlags
	timeout string
	// owner opens the embedded store as its owner (import), not beside a
	// gateway that may be serving it.
	owner bool
}

// open opens the store the flags name, bounded by --store-timeout, so that
// an unreachable store is an error and never a change made elsewhere.
func (c *cliStore) open(ctx context.Context, log zerolog.Logger) (dataStore, error) {
	timeout, err := time.ParseDuration(c.timeout)
	if err != nil || timeout <= 0 {
		return nil, fmt.Errorf("--store-timeout %q must be a positive duration such as 5s", c.timeout)
	}
	return openStore(ctx, c.flags, timeout, c.owner)
}

// openForCompany opens the store of sf for a command that acts for
// company, creating the company if it is missing; the caller closes it.
func openForCompany(ctx context.Context, sf *cliStore, log zerolog.Logger, company string) (dataStore, error) {
	st, err := sf.open(ctx, log)
	if err != nil {
		return nil, err
	}
	if err := st.EnsureCompany(ctx, company); err != nil {
		st.Close(context.Background())
		return nil, err
	}
	return st, nil
}

// revokeOne runs a subcommand that takes one id flag and changes one
// record: it parses the flag, opens the store, applies change and prints
// "<done> <id>", such as "revoked KEY" (or notFound's message when there is
// no such record).
func revokeOne(ctx context.Context, fs *flag.FlagSet, args []string, sf *cliStore, log zerolog.Logger, stdout io.Writer,
	flagName, usage, command, done string, change func(dataStore, string) error, notFound func(string) string) error {
	id := fs.String(flagName, "", usage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" {
		return fmt.Errorf("%s needs --%s", command, flagName)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s takes no arguments, got %q", command, fs.Args())
	}
	st, err := sf.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	if err := change(st, *id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errors.New(notFound(*id))
		}
		return err
	}
	fmt.Fprintf(stdout, "%s %s\n", done, *id)
	return nil
}
