package handlers

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// zeroUUID as ownerId means "the caller's own company" in
// authorization-manager events.
const zeroUUID = "00000000-0000-0000-0000-000000000000"

// generateCredentials mints a new apiKey/apiSecret pair for the caller's own
// company and user. The secret is answered once and stored only as a hash.
func (g *Gateway) generateCredentials(ctx context.Context, call *Call) (any, error) {
	key, secret := credentials.NewAPIKey(), credentials.NewSecret()
	c := store.Client{
		APIKey:     key,
		SecretHash: credentials.HashSecret(secret),
		CompanyID:  call.Caller.CompanyID,
		UserID:     call.Caller.UserID,
		CreatedAt:  call.Now.UnixMilli(),
		// The plate finds this client again if the request dies before
		// its idempotency key records the answer.
		LicensePlate: call.LicensePlate,
	}
	if err := g.store.InsertClient(ctx, c); err != nil {
		return nil, err
	}
	g.dir.Put(c)
	return map[string]any{"apiKey": key, "apiSecret": secret, "companyId": c.CompanyID, "userId": c.UserID}, nil
}
