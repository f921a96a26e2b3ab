package main

import (
	"context"
	"errors"
	"time"
)

// openMongo opens the MongoDB store.
func openMongo(ctx context.Context, f storeFlags, timeout time.Duration) (dataStore, error) {
	return nil, errors.New("the MongoDB store is not available in this build")
}
