package store

import "context"

type claimKey struct{}

type claim struct{ key, plate string }

// WithClaim marks ctx as the context of a request that holds the
// idempotency key key (an IdempotencyRecord's Key) under plate, so that a
// store may record the key's claim in the same transaction as the
// request's first change: a claim then costs no write of its own, and a
// change is never stored without the record that lets a retry find it.
func WithClaim(ctx context.Context, key, plate string) context.Context {
	return context.WithValue(ctx, claimKey{}, claim{key, plate})
}

// ClaimOf is the idempotency key and plate WithClaim put in ctx.
func ClaimOf(ctx context.Context) (key, plate string, ok bool) {
	c, ok := ctx.Value(claimKey{}).(claim)
	return c.key, c.plate, ok
}
