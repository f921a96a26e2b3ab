package handlers

import "flag"

// UpdateDocs makes the doc tests rewrite the generated docs
// (docs/events.md, docs/copy-groups.md) instead of checking them:
// go test ./handlers -update
var UpdateDocs = flag.Bool("update", false, "rewrite the generated docs from the code")
