package sqlite_test

import (
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

// The embedded store is a whole store.
var _ storetest.Store = (*sqlite.Store)(nil)
