// Package store holds what every store of scwm-gateway shares: the records
// it keeps (companies with their master data, networks, API clients,
// process objects with their comments and history, idempotency records,
// and the users, OAuth clients and tokens of the REST surface), the errors a store answers with, the seed a
// deployment starts from, and the stream that moves a whole dataset between
// stores (Export and Import).
//
// The stores themselves live in subpackages: store/sqlite (embedded, one
// machine, the default) and store/mongodb (MongoDB, several gateways).
// Their consumers declare the interfaces they use (handlers.Store is the
// gateway's), and store/storetest is the contract both stores pass.
//
// Incident is the record of every process object of the catalogue, not
// only of incidents: change requests, tasks and their sub-tasks, templates
// and their sub-task templates are Incidents too, told apart by their
// ProcessType. An object that belongs to another (a sub-task to its task)
// names it in ParentID, and FindChildren lists an object's children, at
// most MaxChildren of them.
//
// An object is kept as its current state, one record, with its comments
// and its history entries as records of their own: a change rewrites the
// state, adds or replaces the comments it touches and appends one history
// entry, so the cost of a change and of a read does not grow with the
// object's age.
//
// A store applies no rule of the domain: a change arrives planned by the
// caller and is written once or refused with ErrConflict (see Change).
//
// store knows nothing of HTTP, Echo or the SCWM envelope, and never imports
// handlers.
package store
