package main

// The posture of an approved app, read in the home of the person running
// it (agent/posture): the catalog's checks of its settings for this OS,
// whether the package manager's local lists offer a newer version of the
// Debian package it came from, and its recording folders during a
// meeting. This file adapts agent/posture to agent.PostureReader.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/vcguard/vcguard/agent"
	"github.com/vcguard/vcguard/agent/posture"
	"github.com/vcguard/vcguard/policies"
)

type postureReader struct {
	homes homes
	r     *posture.Reader
	// debs are every Debian package the catalog names: the apt lists
	// (tens of megabytes) are read once for all of them, and again only
	// when dpkg's status or the lists change.
	debs []string

	mu          sync.Mutex
	listsState  string
	outdated    map[string]policies.PostureReading // by package
	outdatedErr []error
}

func newPostureReader(h homes, cat *policies.Catalog) *postureReader {
	p := &postureReader{homes: h, r: &posture.Reader{}}
	seen := map[string]bool{}
	for _, a := range cat.Apps() {
		for _, d := range a.Identify["linux"].Packages["deb"] {
			if !seen[d] {
				seen[d] = true
				p.debs = append(p.debs, d)
			}
		}
	}
	slices.Sort(p.debs)
	return p
}

// outdatedOf returns the readings of packages among the catalog's that
// the local apt lists offer a newer version of, reading dpkg's status and
// the lists only when they changed since the last read.
func (p *postureReader) outdatedOf(ctx context.Context, packages []string) ([]policies.PostureReading, []error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pkg := range packages {
		// A catalog pushed since the start may name a new package.
		if i, found := slices.BinarySearch(p.debs, pkg); !found {
			p.debs = slices.Insert(p.debs, i, pkg)
			p.outdated = nil
		}
	}
	if st := listsState(); st != p.listsState || p.outdated == nil {
		readings, errs := p.r.Outdated(ctx, p.debs)
		if ctx.Err() != nil {
			return nil, errs
		}
		p.outdated, p.outdatedErr, p.listsState = map[string]policies.PostureReading{}, errs, st
		for _, r := range readings {
			p.outdated[r.Where] = r
		}
	}
	var out []policies.PostureReading
	for _, pkg := range packages {
		if r, ok := p.outdated[pkg]; ok {
			out = append(out, r)
		}
	}
	return out, p.outdatedErr
}

// listsState fingerprints dpkg's status and apt's lists by name, size and
// modification time.
func listsState() string {
	var b strings.Builder
	add := func(path string) {
		if fi, err := os.Stat(path); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", path, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	add(posture.DefaultDpkgStatus)
	if entries, err := os.ReadDir(posture.DefaultAptLists); err == nil {
		for _, e := range entries {
			if strings.Contains(e.Name(), "_Packages") {
				add(filepath.Join(posture.DefaultAptLists, e.Name()))
			}
		}
	}
	return b.String()
}

func (p *postureReader) owner(pid int32) (posture.Owner, string, error) {
	h, err := p.homes.of(pid)
	if err != nil {
		return posture.Owner{}, "", err
	}
	o := posture.Owner{Home: h.Dir, UID: h.UID, User: h.Name}
	if runtime.GOOS == "windows" {
		o.SID = h.Session
	}
	return o, h.Session, nil
}

func (p *postureReader) ReadPosture(ctx context.Context, app *policies.App, pid int32) (agent.PostureRead, error) {
	o, session, err := p.owner(pid)
	if err != nil {
		return agent.PostureRead{}, err
	}
	readings, errs := p.r.Read(ctx, app.Posture, o)
	if runtime.GOOS == "linux" {
		if debs := app.Identify["linux"].Packages["deb"]; len(debs) > 0 {
			more, moreErrs := p.outdatedOf(ctx, debs)
			readings, errs = append(readings, more...), append(errs, moreErrs...)
		}
	}
	out := agent.PostureRead{Readings: readings, Session: session}
	for _, e := range errs {
		out.Errors = append(out.Errors, e.Error())
	}
	return out, nil
}

func (p *postureReader) WatchRecordings(ctx context.Context, app *policies.App, pid int32, found func(policies.PostureReading)) error {
	checks := slices.DeleteFunc(slices.Clone(app.Posture), func(c policies.PostureCheck) bool {
		return c.Kind != policies.PostureRecording || c.OS != runtime.GOOS
	})
	if len(checks) == 0 {
		return nil
	}
	o, _, err := p.owner(pid)
	if err != nil {
		return err
	}
	done := make(chan error, len(checks))
	for _, c := range checks {
		go func() { done <- p.r.WatchRecordings(ctx, c, o, found) }()
	}
	var first error
	for range checks {
		if err := <-done; err != nil && first == nil {
			first = err
		}
	}
	return first
}
