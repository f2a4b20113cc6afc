// Package docs holds the project's documents. Its tests check that they
// agree with the code they describe; the data inventory (privacy.md) is
// also embedded here, so that the server can show it (GET /privacy) as
// the tests checked it.
package docs

import _ "embed"

//go:embed privacy.md
var privacy string

// PrivacyName is the data inventory's file in the vcguard source.
const PrivacyName = "docs/privacy.md"

// Privacy is the data inventory, docs/privacy.md, in Markdown: every field
// the agent sends and the server stores, with its purpose, retention and
// readers.
func Privacy() string { return privacy }
