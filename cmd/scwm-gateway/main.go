// Command scwm-gateway serves the SCWM incident event API.
//
//	scwm-gateway serve [flags]            run the gateway
//	scwm-gateway clients create --company ID [--network ID] [--user ID]
//	scwm-gateway clients revoke --api-key KEY
//	scwm-gateway users create|disable|enable --username NAME ...
//	scwm-gateway oauth-clients create|revoke ...
//	scwm-gateway export [--out FILE]
//	scwm-gateway import [--in FILE]
//	scwm-gateway version
//
// The load generator is a command of its own, cmd/scwm-bench.
//
// main only wires the process to run, so that tests start the real gateway
// in-process with their own arguments, environment, input and output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errBenchMoved answers `scwm-gateway bench`, which the gateway's binary no
// longer has.
var errBenchMoved = errors.New("bench is a command of its own now: run `go run ./cmd/scwm-bench` in a checkout (docs/performance.md)")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "scwm-gateway:", err)
		}
		os.Exit(1)
	}
}

const usage = `scwm-gateway: a self-hostable gateway for the SCWM incident event API

Usage:
  scwm-gateway serve [flags]        run the gateway (embedded store unless --mongo-uri)
  scwm-gateway clients create --company ID [--network ID] [--user ID]
                                    mint an API key and secret, printed as JSON
  scwm-gateway clients revoke --api-key KEY
                                    revoke an API key
  scwm-gateway users create --username NAME --company ID [--name N] [--password-file F]
                                    create a user of the REST API (password from the file
                                    or stdin); users disable|enable --username NAME
  scwm-gateway oauth-clients create --company ID [--client-id ID]
                                    mint an OAuth client id and secret, printed as JSON;
                                    oauth-clients revoke --client-id ID
                                    clients, users and oauth-clients work on the store of
                                    --data-dir, --mongo-uri and --database (or SCWM_DATA_DIR,
                                    MONGODB_URI, SCWM_DATABASE), waiting --store-timeout at most
  scwm-gateway webhooks create --company ID --url URL [--kinds K,..] [--events E,..]
                                    subscribe a company's endpoint, printing its secret once;
                                    webhooks list --company ID; webhooks delete|enable|deliveries
                                    --company ID --id ID; webhooks redeliver --company ID --id ID
                                    --delivery ID
  scwm-gateway export [--out FILE]  write the whole dataset as JSON lines (stdout by default)
  scwm-gateway import [--in FILE]   read a dataset written by export into an empty store
                                    (stdin by default); export and import work on the
                                    store the flags name, like clients
  scwm-gateway version              print the version

Run 'scwm-gateway serve -h' for the flags and their environment variables.
`

// run is the whole program: it parses args, reads configuration through
// getenv, reads stdin (a password for users create) and writes to stdout and
// stderr, until ctx ends or the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[1], args[2:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "clients":
		return clients(ctx, rest, getenv, stdout, stderr)
	case "users":
		return users(ctx, rest, getenv, stdin, stdout, stderr)
	case "oauth-clients":
		return oauthClients(ctx, rest, getenv, stdout, stderr)
	case "webhooks":
		return webhooks(ctx, rest, getenv, stdout, stderr)
	case "export":
		return exportData(ctx, rest, getenv, stdout, stderr)
	case "import":
		return importData(ctx, rest, getenv, stdin, stderr)
	case "bench":
		return errBenchMoved
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "scwm-gateway", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
