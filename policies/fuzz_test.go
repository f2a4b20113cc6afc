package policies_test

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
)

// addFiles seeds f with every file matching pattern.
func addFiles(f *testing.F, pattern string, add func(data []byte)) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatalf("no seed files match %s", pattern)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(data)
	}
}

// FuzzParsePolicy: parsing never panics, every refusal is a FieldError, and
// an accepted policy evaluates every catalog app (and a stranger), in every
// group and none, without panicking and consistently with its apps, rules
// and defaults; it never blocks what may not be blocked, and every
// alternative it recommends is approved or restricted where it does.
func FuzzParsePolicy(f *testing.F) {
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		f.Fatal(err)
	}
	addFiles(f, filepath.Join("examples", "*.yaml"), func(data []byte) { f.Add(data) })
	for _, seed := range []string{
		validPolicy,
		fullPolicy,
		"",
		"---\n",
		"name: x\n---\nname: y\n",
		"name: x\napps:\n  zoom: {status: forbidden, alternative: zoom}\n",
		"name: x\ndefault: approved\napps: {}\n",
		`{"name": "j", "apps": {"zoom": {"status": "restricted", "note": "n"}}}`,
		"name: &a x\napps: *a\n",
		"name: x\napps:\n  ? [zoom]\n  : {status: approved}\n",
		"name: !!binary aGVsbG8=\n",
		"- 1\n- 2\n",
		"name: x\nrules:\n  - status: approved\n  - when: {e2ee: [none]}\n    status: forbidden\n",
		"name: x\nrules:\n  - {when: {category: browser, e2ee: [default]}, status: forbidden}\n",
		"name: x\napps:\n  zoom: {status: approved, min_version: '0'}\nactions: {outdated: block, block_grace: 1s}\n",
		"name: x\ngroups:\n  a: {default: forbidden, actions: {forbidden: block}}\n  b-1: {rules: [{when: {self_hostable: false}, status: restricted}]}\n",
		"name: x\nmedia: {forbidden_apps: block, unknown_apps: warn, idle_minutes: 1440}\n",
		`{"name": "j", "rules": [{"when": {"data_location": ["eu"]}, "status": "approved"}], "actions": {"block_grace": "90s"}}`,
	} {
		f.Add([]byte(seed))
	}
	ids := []string{"not-in-catalog", ""}
	apps := map[string]*policies.App{}
	for _, a := range cat.Apps() {
		ids = append(ids, a.ID)
		apps[a.ID] = a
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policies.ParsePolicy("fuzz.yaml", data, cat)
		if err != nil {
			var fe *policies.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if fe.File != "fuzz.yaml" || fe.Line < 0 {
				t.Fatalf("error %+v has a bad position", fe)
			}
			return
		}
		if p.Name == "" {
			t.Fatal("accepted a policy without a name")
		}
		groups := []string{"", "no-such-group"}
		for g := range p.Groups {
			groups = append(groups, g)
		}
		for _, group := range groups {
			for _, id := range ids {
				want := expectedRule(p, apps, group, id)
				got := policies.Evaluate(p, policies.Detection{AppID: id, Verified: true, Group: group})
				if got.AppID != id {
					t.Fatalf("Evaluate(%q).AppID = %q", id, got.AppID)
				}
				wantVerdict := policies.VerdictUnlisted
				if want.Status != "" {
					wantVerdict = policies.Verdict(want.Status)
				}
				if got.Verdict != wantVerdict {
					t.Fatalf("Evaluate(%q) in group %q = %s, want %s", id, group, got.Verdict, wantVerdict)
				}
				if got.VersionUnknown != (want.MinVersion != "" && want.Status != policies.StatusForbidden) {
					t.Fatalf("Evaluate(%q) in group %q: VersionUnknown %v with min_version %q", id, group, got.VersionUnknown, want.MinVersion)
				}
				checkAction(t, got)
				if got.Alternative != "" {
					alt := policies.Evaluate(p, policies.Detection{AppID: got.Alternative, Verified: true, Group: group})
					if alt.Verdict != policies.VerdictApproved && alt.Verdict != policies.VerdictRestricted {
						t.Fatalf("alternative %q of %q in group %q is %s", got.Alternative, id, group, alt.Verdict)
					}
				}
				old := policies.Evaluate(p, policies.Detection{AppID: id, Verified: true, Group: group, Version: "0.0.1"})
				if old.Verdict != got.Verdict && old.Verdict != policies.VerdictOutdated {
					t.Fatalf("Evaluate(%q, 0.0.1) = %s, without version %s", id, old.Verdict, got.Verdict)
				}
				checkAction(t, old)
				checkAction(t, policies.Evaluate(p, policies.Detection{AppID: id, Group: group}))
			}
		}
	})
}

// expectedRule is the decision of p about id for a device of group, by
// the documented order: the group's apps, the policy's apps, the group's
// rules, the policy's rules, the group's default, the policy's default.
func expectedRule(p *policies.Policy, apps map[string]*policies.App, group, id string) policies.AppRule {
	g, inGroup := p.Groups[group]
	if r, ok := g.Apps[id]; inGroup && ok {
		return r
	}
	if r, ok := p.Apps[id]; ok {
		return r
	}
	if app, ok := apps[id]; ok {
		var rules []policies.Rule
		if inGroup {
			rules = append(rules, g.Rules...)
		}
		for _, r := range append(rules, p.Rules...) {
			if r.When.Match(app) {
				return policies.AppRule{Status: r.Status}
			}
		}
	}
	if inGroup && g.Default != "" {
		return policies.AppRule{Status: g.Default}
	}
	return policies.AppRule{Status: p.Default}
}

// checkAction: block only where a policy may block, with a grace period.
func checkAction(t *testing.T, f policies.Finding) {
	t.Helper()
	switch f.Action {
	case policies.ActionMonitor, policies.ActionWarn:
		if f.BlockGrace != 0 {
			t.Fatalf("%+v: grace without block", f)
		}
	case policies.ActionBlock:
		if f.Verdict != policies.VerdictForbidden && f.Verdict != policies.VerdictUnverified && f.Verdict != policies.VerdictOutdated {
			t.Fatalf("%+v: blocks a tool that may not be blocked", f)
		}
		if f.BlockGrace < time.Second {
			t.Fatalf("%+v: block without grace", f)
		}
	default:
		t.Fatalf("%+v: no action", f)
	}
}

// FuzzParseApp: parsing a catalog entry never panics, refusals are
// FieldErrors, and an accepted entry that forms a catalog is recognised by
// every executable it names.
func FuzzParseApp(f *testing.F) {
	addFiles(f, filepath.Join("catalog", "*.yaml"), func(data []byte) { f.Add(data) })
	for _, seed := range []string{
		validApp,
		validMeeting,
		"",
		"app_id: x\n",
		"app_id: demo\nname: D\nvendor: V\ncategory: meeting\nidentify:\n  linux: {executables: [a, A]}\n  windows: {executables: [a.exe, A.EXE]}\n",
		"app_id: demo\nname: D\nvendor: V\ncategory: browser\nidentify:\n  darwin: {executables: ['a/b']}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := policies.ParseApp("catalog/fuzz.yaml", data)
		if err != nil {
			var fe *policies.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			return
		}
		if a.ID == "" || a.Name == "" || a.Vendor == "" || (len(a.Identify) == 0 && len(a.WebDomains) == 0) ||
			(a.Category == policies.CategoryMeeting && a.Facts == nil) {
			t.Fatalf("accepted an incomplete entry %+v", a)
		}
		// Whatever ParseApp accepts, the published schema accepts too
		// (ParseApp checks it): nothing more to do here than not panic.
		cat, err := policies.NewCatalog(a)
		if err != nil {
			return // e.g. one executable named twice on one OS
		}
		for goos, id := range a.Identify {
			m := cat.Matcher(goos)
			for _, exe := range id.Executables {
				if got, ok := m.Match(exe); !ok || got != a {
					t.Fatalf("Matcher(%s).Match(%q) = %v, %v", goos, exe, got, ok)
				}
			}
		}
	})
}

// FuzzVerifyPolicy: verification never panics whatever the key, version,
// document or signature; a signature made by the key verifies, and one that
// verifies with it does not verify under another version.
func FuzzVerifyPolicy(f *testing.F) {
	key := testKey("server")
	pub := key.Public().(ed25519.PublicKey)
	addFiles(f, filepath.Join("examples", "*.yaml"), func(data []byte) {
		f.Add([]byte(pub), uint64(1), data, policies.SignPolicy(key, 1, data))
		f.Add([]byte(pub), uint64(2), data, policies.SignPolicy(key, 1, data))
		f.Add([]byte(pub[:16]), uint64(1), data, policies.SignPolicy(key, 1, data))
	})
	f.Add([]byte(nil), uint64(0), []byte(nil), []byte(nil))
	f.Add([]byte(pub), ^uint64(0), []byte("x"), policies.SignPolicy(key, ^uint64(0), []byte("x")))
	f.Fuzz(func(t *testing.T, pubBytes []byte, version uint64, doc, sig []byte) {
		err := policies.VerifyPolicy(ed25519.PublicKey(pubBytes), version, doc, sig)
		if len(pubBytes) != ed25519.PublicKeySize && err == nil {
			t.Fatalf("accepted a %d-byte key", len(pubBytes))
		}
		// Only for a real key: a degenerate one (e.g. the identity point)
		// admits signatures that verify for any message.
		if err == nil && pub.Equal(ed25519.PublicKey(pubBytes)) {
			if policies.VerifyPolicy(ed25519.PublicKey(pubBytes), version+1, doc, sig) == nil {
				t.Fatalf("signature verifies under versions %d and %d", version, version+1)
			}
		}
		good := policies.SignPolicy(key, version, doc)
		if err := policies.VerifyPolicy(pub, version, doc, good); err != nil {
			t.Fatalf("own signature does not verify: %v", err)
		}
	})
}
