package handlers_test

import (
	"testing"

	"github.com/scwm-gateway/scwm-gateway/internal/mongotest"
)

// TestMain stops the MongoDB-wire test server that harnesses on the MongoDB
// store start (gatewaytest's ViaURI) when the tests end.
func TestMain(m *testing.M) { mongotest.Main(m) }
