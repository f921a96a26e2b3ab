package main

import (
	"context"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store/mongodb"
)

// openMongo opens the MongoDB store the flags name.
func openMongo(ctx context.Context, f storeFlags, timeout time.Duration) (dataStore, error) {
	return mongodb.Open(ctx, mongodb.Config{URI: f.mongoURI, Database: f.database, OperationTimeout: timeout})
}
