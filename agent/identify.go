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
}

// Identify implements Identifier.
func (i AppIdentifier) Identify(ctx context.Context, p procwatch.Process, app *policies.App) state.Identity {
	if p.Exe == "" {
		return state.Identity{Detail: "the executable's path cannot be read"}
	}
	id := app.Identify[i.GOOS]
	c := appid.Candidate{Paths: id.Paths, BundleIDs: id.BundleIDs, TeamIDs: id.TeamIDs, Publishers: id.Publishers, Packages: id.Packages}
	info := i.Inspector.Inspect(ctx, p.PID, p.Exe, c)
	ok, reason := appid.Verify(i.GOOS, c, info)
	if !ok {
		return state.Identity{Version: info.Version, Detail: reason}
	}
	return state.Identity{Version: info.Version, Verified: true, Detail: describeIdentity(info)}
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
