package ui

import "time"

// Request is one request of the gateway's journal, as the request page
// shows it.
type Request struct {
	LicensePlate string
	Time         time.Time
	// Surface is the API it came by ("events", "rest", "graphql", "oauth").
	Surface      string
	Method, Path string
	// Event is its eventName or route.
	Event                     string
	APIKey, CompanyID, UserID string
	Status                    int
	Exception                 string
	Latency                   time.Duration
	// Request and Response are the bodies, secrets removed and
	// truncated; nil when the deployment keeps no bodies.
	Request, Response []byte
	Truncated         bool
}

// Journal is the record of the gateway's recent requests the request page
// reads: only ever a company's own.
type Journal interface {
	// Find is the request of companyID with the license plate, if kept.
	Find(companyID, plate string) (Request, bool)
	// List is the company's most recent requests, newest first.
	List(companyID string, limit int) []Request
}
