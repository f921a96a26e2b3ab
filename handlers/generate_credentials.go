package handlers

import (
	"context"
	"errors"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// generateCredentials mints a new apiKey/apiSecret pair for the caller's own
// company and user. The secret is answered once and stored only as a hash.
//
// Minting is limited per company (a rate, and a cap on its active keys), so
// that one key cannot multiply itself, and the minting key is read again
// from the store first, so that a key revoked elsewhere (the CLI) cannot
// mint its own replacement before the directory hears of it. The new key
// records who minted it: revoking the minter revokes it too.
//
// A user signed in with a session token mints too (the way TraceLink's
// users get their first key): the token was checked just now, with its
// user and OAuth client, so there is no minting key to read again; the new
// key records the user as its minter ("user:" and the user id), which no
// revocation cascades from.
func (g *Gateway) generateCredentials(ctx context.Context, call *Call) (any, error) {
	company := call.Caller.CompanyID
	defer g.mintLocks.Lock(company)()
	mintedBy := call.Caller.APIKey
	if call.Caller.Session() {
		mintedBy = "user:" + call.Caller.UserID
	} else if err := g.checkMinter(ctx, call.Caller.APIKey); err != nil {
		return nil, err
	}
	if n := g.dir.LiveKeys(company); n >= g.cfg.MaxKeysPerCompany {
		return nil, envelope.Errorf(envelope.KindAuthorization,
			"company %q has %d active API keys, the most allowed; revoke keys it no longer uses before minting more", company, n)
	}
	if err := g.limits.AllowMint(company); err != nil {
		return nil, err
	}
	key, secret := credentials.NewAPIKey(), credentials.NewSecret()
	c := store.Client{
		APIKey:     key,
		SecretHash: credentials.HashSecret(secret),
		CompanyID:  company,
		UserID:     call.Caller.UserID,
		CreatedAt:  call.Now.UnixMilli(),
		// The plate finds this client again if the request dies before
		// its idempotency key records the answer.
		LicensePlate: call.LicensePlate,
		MintedBy:     mintedBy,
	}
	if err := g.store.InsertClient(ctx, c); err != nil {
		return nil, err
	}
	g.dir.Put(c)
	return map[string]any{"apiKey": key, "apiSecret": secret, "companyId": c.CompanyID, "userId": c.UserID}, nil
}

// checkMinter reads the minting key again from the store: a key revoked
// elsewhere (the CLI) mints nothing, even before the directory hears of it.
func (g *Gateway) checkMinter(ctx context.Context, apiKey string) error {
	minter, err := g.store.FindClient(ctx, apiKey)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !minter.Active()) {
		if minter != nil {
			g.dir.Put(*minter)
		}
		return envelope.Errorf(envelope.KindAuthentication, "this apiKey was revoked; it can mint no credentials")
	}
	return err
}
