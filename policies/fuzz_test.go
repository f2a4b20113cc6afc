package policies_test

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"

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
// an accepted policy evaluates every catalog app (and a stranger) without
// panicking and consistently with its rules.
func FuzzParsePolicy(f *testing.F) {
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		f.Fatal(err)
	}
	addFiles(f, filepath.Join("examples", "*.yaml"), func(data []byte) { f.Add(data) })
	for _, seed := range []string{
		validPolicy,
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
	} {
		f.Add([]byte(seed))
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
		ids := []string{"not-in-catalog", ""}
		for _, a := range cat.Apps() {
			ids = append(ids, a.ID)
		}
		for _, id := range ids {
			got := policies.Evaluate(p, policies.Detection{AppID: id, Verified: true})
			if got.AppID != id {
				t.Fatalf("Evaluate(%q).AppID = %q", id, got.AppID)
			}
			rule, listed := p.Apps[id]
			switch {
			case listed && got.Verdict != policies.Verdict(rule.Status):
				t.Fatalf("Evaluate(%q) = %s, rule says %s", id, got.Verdict, rule.Status)
			case !listed && p.Default == "" && got.Verdict != policies.VerdictUnlisted:
				t.Fatalf("Evaluate(%q) = %s for an unlisted app", id, got.Verdict)
			case !listed && p.Default != "" && got.Verdict != policies.Verdict(p.Default):
				t.Fatalf("Evaluate(%q) = %s, default is %s", id, got.Verdict, p.Default)
			}
			if got.Alternative != "" {
				alt := policies.Evaluate(p, policies.Detection{AppID: got.Alternative, Verified: true})
				if alt.Verdict != policies.VerdictApproved && alt.Verdict != policies.VerdictRestricted {
					t.Fatalf("alternative %q of %q is %s", got.Alternative, id, alt.Verdict)
				}
			}
		}
	})
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
