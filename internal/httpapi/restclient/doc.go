// Package restclient is a client of the gateway's REST API generated with
// oapi-codegen from the OpenAPI document the gateway serves
// (/openapi.json), limited to the operations oapi-codegen.yaml names. It
// exists for tests: one regenerates it from a running gateway and fails
// when the committed client.gen.go differs, so the client cannot drift
// from the document, and one calls the REST API through it.
//
// Regenerate after changing the document with go generate.
package restclient

//go:generate go test -run TestGeneratedClientUpToDate -update .
