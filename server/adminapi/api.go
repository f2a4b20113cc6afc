// Package adminapi serves the administration JSON API over HTTPS for
// vcguardctl, the e2e harness and integrations. It authenticates API
// tokens, turns requests into calls of the admin service (server/admin),
// which validates and audits every change, and answers in the JSON forms of
// package apitypes.
package adminapi

import (
	"log/slog"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
)

// API serves the JSON API over the admin service.
type API struct {
	// Admin makes every change and is read through.
	Admin  *admin.Service
	Tokens auth.TokenChecker
	Logger *slog.Logger
}
