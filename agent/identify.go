package agent

import (
	"context"
	"fmt"

	"github.com/vcguard/vcguard/agent/appid"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/policies"
)

// AppIdentifier establishes identities with the executable's signature,
// bundle, publisher or owning package (package appid) and checks them
// against what the catalog says of the genuine app.
type AppIdentifier struct {
	GOOS      string
	Inspector *appid.Inspector
	// Script returns the script an interpreter process runs (its first
	// argument), "" when it runs none or it cannot be read; nil means
	// scriptOf (Linux /proc; elsewhere none).
	Script func(pid int32) string
}

// Identify implements Identifier.
func (i AppIdentifier) Identify(ctx context.Context, p procwatch.Process, app *policies.App) state.Identity {
	if p.Exe == "" {
		return state.Identity{Detail: "the executable's path cannot be read"}
	}
	id := app.Identify[i.GOOS]
	c := appid.Candidate{Paths: id.Paths, BundleIDs: id.BundleIDs, TeamIDs: id.TeamIDs, Publishers: id.Publishers, PackageFamilies: id.PackageFamilies, Packages: id.Packages}
	exe, launcher := p.Exe, ""
	if isInterpreter(p.Name) {
		// A start script of the app (Debian's /usr/bin/chromium runs
		// under dash) that lived on instead of exec'ing the app: the
		// script, not the shell, says whose it is. The app's own
		// package's scripts count as the app's.
		script := i.Script
		if script == nil {
			script = scriptOf
		}
		if s := script(p.PID); s != "" {
			exe, launcher = s, s
		}
	}
	info := i.Inspector.Inspect(ctx, p.PID, exe, c)
	ok, reason := appid.Verify(i.GOOS, c, info)
	if !ok {
		return state.Identity{Version: info.Version, Detail: reason}
	}
	detail := describeIdentity(info)
	if launcher != "" {
		detail = "start script " + launcher + ", " + detail
	}
	return state.Identity{Version: info.Version, Verified: true, Detail: detail}
}

// describeIdentity says how an identity was proved, for the person reading the
// dashboard.
func describeIdentity(info appid.Info) string {
	switch {
	case info.TeamID != "":
		return fmt.Sprintf("signed by team %s (%s)", info.TeamID, info.BundleID)
	case info.Publisher != "":
		return fmt.Sprintf("signed by %s", info.Publisher)
	case info.Package != "":
		return "installed by package " + info.Package
	default:
		return "root-owned install path " + info.Path
	}
}
