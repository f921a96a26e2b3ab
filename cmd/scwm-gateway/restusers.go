package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// users manages the users of the REST compatibility surface straight in the
// store: create (or reset the password of) a user, with the user id objects
// name it by and its name parts, disable or enable one.
// Passwords are read from --password-file or stdin, never from a flag, so
// they stay out of shell history and process listings.
func users(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("users needs a subcommand: create, disable or enable")
	}
	fs, sf, log := storeCommand("users "+args[0], getenv, stderr)

	switch args[0] {
	case "create":
		username := fs.String("username", "", "the user's username, usually an e-mail address")
		company := fs.String("company", "", "company the user acts for (created if missing)")
		name := fs.String("name", "", "the user's name")
		id := fs.String("id", "", "the user id that objects name the user by (their creator, their assigned users); without it, the id the user has already, or else the username")
		givenName := fs.String("given-name", "", "the user's given name; without it and --surname, --name up to its first space")
		surname := fs.String("surname", "", "the user's surname; without it and --given-name, --name after its first space")
		passwordFile := fs.String("password-file", "", "file holding the password; without it the password is read from stdin")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *username == "" || *company == "" {
			return errors.New("users create needs --username and --company")
		}
		password, err := readPassword(*passwordFile, stdin)
		if err != nil {
			return err
		}
		if len(password) < credentials.MinPasswordLen {
			return fmt.Errorf("the password must be at least %d characters", credentials.MinPasswordLen)
		}
		hash, err := credentials.Passwords{}.Hash(password)
		if err != nil {
			return err
		}
		st, err := openForCompany(ctx, sf, log, *company)
		if err != nil {
			return err
		}
		defer st.Close(context.Background())
		u := store.User{Username: *username, ID: *id, PasswordHash: hash, CompanyID: *company, Name: *name, GivenName: *givenName, Surname: *surname}
		if strings.TrimSpace(u.ID) == "" {
			// A password reset keeps the id objects name the user by.
			stored, err := st.FindUser(ctx, u.Username)
			switch {
			case err == nil:
				u.ID = stored.ID
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		u = u.WithDefaults()
		err = st.PutUser(ctx, u)
		if errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("the user id %q is another user's: give this one another --id", u.ID)
		}
		if err != nil {
			return err
		}
		return printJSON(stdout, map[string]string{"username": u.Username, "userId": u.ID, "companyId": u.CompanyID,
			"name": u.Name, "givenName": u.GivenName, "surname": u.Surname})
	case "disable", "enable":
		return revokeOne(ctx, fs, args[1:], sf, log, stdout, "username", "the user's username", "users "+args[0], args[0]+"d",
			func(st dataStore, username string) error {
				return st.SetUserDisabled(ctx, username, args[0] == "disable")
			},
			func(username string) string { return fmt.Sprintf("no user %q", username) })
	default:
		return fmt.Errorf("unknown users subcommand %q: use create, disable or enable", args[0])
	}
}

// readPassword reads a password from a file, or the first line of stdin.
func readPassword(file string, stdin io.Reader) (string, error) {
	var raw []byte
	var err error
	if file != "" {
		raw, err = os.ReadFile(file)
	} else {
		raw, err = io.ReadAll(io.LimitReader(stdin, 1024))
	}
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// oauthClients manages the OAuth clients of the REST compatibility surface:
// create mints a client id and secret and prints them as JSON; revoke stops
// a client and every token it holds.
func oauthClients(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("oauth-clients needs a subcommand: create or revoke")
	}
	fs, sf, log := storeCommand("oauth-clients "+args[0], getenv, stderr)

	switch args[0] {
	case "create":
		company := fs.String("company", "", "company whose users the client signs in (created if missing)")
		clientID := fs.String("client-id", "", "the client id; minted when empty")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *company == "" {
			return errors.New("oauth-clients create needs --company")
		}
		if *clientID == "" {
			*clientID = credentials.NewOAuthClientID()
		}
		st, err := openForCompany(ctx, sf, log, *company)
		if err != nil {
			return err
		}
		defer st.Close(context.Background())
		secret := credentials.NewSecret()
		err = st.InsertOAuthClient(ctx, store.OAuthClient{ClientID: *clientID, SecretHash: credentials.HashSecret(secret), CompanyID: *company})
		if errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("OAuth client %q exists already", *clientID)
		}
		if err != nil {
			return err
		}
		return printJSON(stdout, map[string]string{"clientId": *clientID, "clientSecret": secret, "companyId": *company,
			"authorization": basicAuthorization(*clientID, secret)})
	case "revoke":
		return revokeOne(ctx, fs, args[1:], sf, log, stdout, "client-id", "the client id to revoke", "oauth-clients revoke", "revoked",
			func(st dataStore, id string) error { return st.RevokeOAuthClient(ctx, id) },
			func(id string) string { return fmt.Sprintf("no OAuth client %q", id) })
	default:
		return fmt.Errorf("unknown oauth-clients subcommand %q: use create or revoke", args[0])
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
