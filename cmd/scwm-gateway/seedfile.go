package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// loadSeed reads and checks a seed file. Unknown fields are errors, so that a
// typo in a seed never passes silently. The checks are the rules of a
// deployment's configuration, not the store's: the store applies what it is
// given.
func loadSeed(path string) (*store.Seed, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read seed: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var s store.Seed
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	if err := checkSeed(&s); err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	return &s, nil
}

// checkSeed finds every problem of a seed at once: empty ids, short secrets
// and passwords, references to companies it does not list, and users that
// would share a user id (their id, or their username when they have none).
func checkSeed(s *store.Seed) error {
	var problems []string
	companies := map[string]bool{}
	for i, c := range s.Companies {
		if strings.TrimSpace(c.ID) == "" {
			problems = append(problems, fmt.Sprintf("companies[%d].id is empty", i))
		}
		companies[c.ID] = true
	}
	known := func(where, id string) {
		if !companies[id] {
			problems = append(problems, fmt.Sprintf("%s names company %q, which companies does not list", where, id))
		}
	}
	// credential checks an API or OAuth client's id and secret.
	credential := func(where, idField, id, secretField, secret string) {
		if id == "" {
			problems = append(problems, where+"."+idField+" is empty")
		}
		if len(secret) < credentials.MinSecretLen {
			problems = append(problems, fmt.Sprintf("%s.%s must be at least %d characters", where, secretField, credentials.MinSecretLen))
		}
	}
	for i, n := range s.Networks {
		if strings.TrimSpace(n.ID) == "" {
			problems = append(problems, fmt.Sprintf("networks[%d].id is empty", i))
		}
		for _, m := range n.Members {
			known(fmt.Sprintf("networks[%d].members", i), m)
		}
	}
	for i, c := range s.Clients {
		where := fmt.Sprintf("clients[%d]", i)
		credential(where, "apiKey", c.APIKey, "apiSecret", c.APISecret)
		known(where+".companyId", c.CompanyID)
	}
	userIDs := map[string]int{}
	for i, u := range s.Users {
		where := fmt.Sprintf("users[%d]", i)
		if id := u.UserID(); id != "" {
			if first, ok := userIDs[id]; ok {
				problems = append(problems, fmt.Sprintf("%s has the user id %q of users[%d]: user ids are unique", where, id, first))
			} else {
				userIDs[id] = i
			}
		}
		if strings.TrimSpace(u.Username) == "" {
			problems = append(problems, where+".username is empty")
		}
		if len(u.Password) < credentials.MinPasswordLen || len(u.Password) > 72 {
			problems = append(problems, fmt.Sprintf("%s.password must be %d to 72 bytes", where, credentials.MinPasswordLen))
		}
		known(where+".companyId", u.CompanyID)
	}
	for i, o := range s.OAuthClients {
		where := fmt.Sprintf("oauthClients[%d]", i)
		credential(where, "clientId", o.ClientID, "clientSecret", o.ClientSecret)
		known(where+".companyId", o.CompanyID)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
