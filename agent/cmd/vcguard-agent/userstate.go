package main

// The app and browser state the agent reads in the home of the person
// running an app: which servers and accounts a meeting app is set up for
// (agent/appconfig) and which sites a browser lets use the camera and
// microphone (agent/browsersite). Both readers refuse symlinks and files
// owned by anyone but that person or root, and bound what they read; this
// file finds the home of a process's owner and adapts them to the agent's
// interfaces.

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/vcguard/vcguard/agent"
	"github.com/vcguard/vcguard/agent/appconfig"
	"github.com/vcguard/vcguard/agent/browserpolicy"
	"github.com/vcguard/vcguard/agent/browsersite"
	"github.com/vcguard/vcguard/agent/proctable"
	"github.com/vcguard/vcguard/policies"
)

// userHome is where a process's owner keeps their settings.
type userHome struct {
	// Dir is the home (profile) directory.
	Dir string
	// UID owns the files there on Linux and macOS; -1 on Windows.
	UID int
	// Session names the owner as the events do: "uid 1000", a SID.
	Session string
	// Name is the account's short name on Linux and macOS ("" when the
	// account database lists none, and on Windows).
	Name string
}

// homes finds the home of a process's owner.
type homes struct {
	tab *proctable.Table
}

func (h homes) of(pid int32) (userHome, error) {
	o, err := h.tab.Owner(pid)
	if err != nil {
		return userHome{}, fmt.Errorf("owner of process %d: %w", pid, err)
	}
	dir, err := homeOf(o, pid)
	if err != nil {
		return userHome{}, err
	}
	s := o.SID
	if s == "" {
		s = "uid " + strconv.Itoa(o.UID)
	}
	return userHome{Dir: dir, UID: o.UID, Session: s, Name: accountName(o.UID)}, nil
}

// setupReader adapts agent/appconfig to agent.SetupReader.
type setupReader struct {
	homes   homes
	readers map[string]appconfig.Reader
}

func newSetupReader(h homes) *setupReader {
	r := &setupReader{homes: h, readers: map[string]appconfig.Reader{}}
	for _, rd := range appconfig.Readers() {
		r.readers[rd.AppID()] = rd
	}
	return r
}

func (r *setupReader) Knows(appID string) bool { _, ok := r.readers[appID]; return ok }

func (r *setupReader) ReadSetup(ctx context.Context, appID string, pid int32) (agent.Setup, error) {
	rd, ok := r.readers[appID]
	if !ok {
		return agent.Setup{}, fmt.Errorf("no reader for %s", appID)
	}
	home, err := r.homes.of(pid)
	if err != nil {
		return agent.Setup{}, err
	}
	c, err := rd.Read(ctx, home.Dir, home.UID)
	if errors.Is(err, appconfig.ErrNotConfigured) {
		return agent.Setup{Session: home.Session}, agent.ErrNoSetup
	}
	if err != nil {
		return agent.Setup{Session: home.Session}, err
	}
	s := agent.Setup{Servers: c.Servers, Source: c.Source, Session: home.Session}
	for _, a := range c.Accounts {
		s.Accounts = append(s.Accounts, policies.Account{Kind: policies.AccountKind(a.Kind), Domain: a.Domain, Tenant: a.Tenant})
	}
	return s, nil
}

// siteReader adapts agent/browsersite to agent.SiteReader.
type siteReader struct{ homes homes }

func (r siteReader) ReadSites(ctx context.Context, browserAppID string, pid int32) ([]agent.SiteGrant, error) {
	home, err := r.homes.of(pid)
	if err != nil {
		return nil, err
	}
	grants, err := browsersite.Read(ctx, home.Dir, home.UID, browserAppID)
	out := make([]agent.SiteGrant, 0, len(grants))
	for _, g := range grants {
		scheme := g.Scheme
		if scheme == "" {
			scheme = "https"
		}
		host := g.Host
		if g.Port != 0 {
			host += ":" + strconv.Itoa(g.Port)
		}
		at := g.Modified
		if g.LastUsed.After(at) {
			at = g.LastUsed
		}
		out = append(out, agent.SiteGrant{Origin: scheme + "://" + host, Modified: at, Subdomains: g.Subdomains})
	}
	return out, err
}

// browserPolicies adapts agent/browserpolicy to agent.BrowserPolicyWriter.
type browserPolicies struct{ w *browserpolicy.Writer }

// Apply writes the spec's origins: an origin as it is; a pattern for a
// domain and its subdomains as an allowed domain (Chromium's [*.] pattern;
// Firefox, which takes exact origins only, gets the domain's own origin).
func (b browserPolicies) Apply(spec *agent.BrowserSpec) (agent.BrowserReport, error) {
	var s *browserpolicy.Spec
	if spec != nil {
		s = &browserpolicy.Spec{BlockScreenCapture: spec.BlockScreenCapture}
		for _, o := range spec.Origins {
			if o.Subdomains && o.Scheme == "https" && o.Port == 0 {
				s.AllowedDomains = append(s.AllowedDomains, o.Host)
				continue
			}
			o.Subdomains = false
			s.AllowedOrigins = append(s.AllowedOrigins, o.String())
		}
	}
	rep, err := b.w.Apply(s)
	out := agent.BrowserReport{Written: append(rep.Written, rep.Restored...), Unchanged: rep.Unchanged, Removed: rep.Removed}
	for _, sk := range rep.Skipped {
		out.Skipped = append(out.Skipped, sk.Target+": "+sk.Reason)
	}
	return out, err
}
