// Package envelope is the SCWM wire protocol: the request envelope, the
// limits on its JSON and its header rules, the event-name grammar, response
// and error envelopes, the error kinds with their HTTP statuses and
// exception names, and license plates.
//
// It holds no business logic and knows nothing of incidents, stores or HTTP
// frameworks: handlers decide what an event does, envelope says how it is
// spelled on the wire.
package envelope
