// Package handlers is the application: the gateway's HTTP surfaces (the SCWM
// envelope API on /api/events, and the REST compatibility surface with its
// OAuth token endpoints), the registry that maps each SCWM event name to its
// handler, schema and help line, the payload schemas, authentication and
// authorization of callers, idempotency keys, rate limits, and the incident
// rules.
//
// It declares the Store it needs and leaves persistence to package store; it
// leaves the envelope API's wire format (envelopes, event names, error
// kinds) to package envelope. Each surface turns errors into its answers in
// one place: respond in events.go into response envelopes, errorAnswer in
// rest.go into the REST surface's JSON.
package handlers
