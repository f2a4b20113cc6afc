package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/statedir"
	"github.com/vcguard/vcguard/agent/uplink"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The built-in catalog's version in these tests.
const builtinCatalog = 10

const newToolEntry = "app_id: zz-new-tool\nname: New Tool\nvendor: Test\ncategory: browser\nidentify:\n  linux:\n    executables: [zz-new-tool]\n"

// catalogAgent starts an agent on f's state directory whose built-in
// catalog has version builtin.
func (f *fixture) catalogAgent(builtin uint64) *Agent {
	f.t.Helper()
	f.log = new(bytes.Buffer)
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: f.log, also: f.t.Output()}, nil))
	out, err := outbox.Open(filepath.Join(f.stateDir, "outbox"), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := New(Config{
		StateDir: f.stateDir, Outbox: out, Catalog: f.catalog, CatalogVersion: builtin, GOOS: "linux",
		Identifier: fakeIdentifier{}, Logger: logger,
	}, &uplink.Identity{DeviceID: "dev-1", Server: "vcguard.example:8443", PolicyKey: f.key.Public().(ed25519.PublicKey)})
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	f.t.Cleanup(func() { a.out.Close() })
	return a
}

// signedCatalog signs the built-in catalog under version, with extra entry
// files and without the files named in drop.
func (f *fixture) signedCatalog(key ed25519.PrivateKey, version uint64, extra map[string]string, drop ...string) *vcguardv1.SignedCatalog {
	f.t.Helper()
	b, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		f.t.Fatal(err)
	}
	b.Version = version
	var files []policies.CatalogFile
	for _, file := range b.Files {
		if !strings.Contains(strings.Join(drop, " "), file.Name) {
			files = append(files, file)
		}
	}
	for name, content := range extra {
		files = append(files, policies.CatalogFile{Name: name, Content: content})
	}
	b.Files = files
	slicesSortFiles(b.Files)
	data, err := b.Encode()
	if err != nil {
		f.t.Fatal(err)
	}
	return &vcguardv1.SignedCatalog{Version: version, Bundle: data, Signature: policies.SignCatalog(key, version, data), Published: timestamppb.New(base)}
}

func slicesSortFiles(fs []policies.CatalogFile) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Name < fs[j-1].Name; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// TestCatalogUpdate: a newer signed catalog is cached (0600) and recognises
// a new tool at once; an older one, a bad signature, a broken entry and a
// catalog the policy in force does not validate against are refused and
// the catalog in use stays; a restarted agent uses the cached catalog,
// unless its own built-in one is as new.
func TestCatalogUpdate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.catalogAgent(builtinCatalog)
	if a.CatalogVersion() != builtinCatalog || a.Hello(&vcguardv1.DeviceInfo{})().GetCatalogVersion() != builtinCatalog {
		t.Fatalf("catalog version %d, want the built-in %d", a.CatalogVersion(), builtinCatalog)
	}
	var seq uint64
	mustApply(t, a, f.signed(1, euDefault(t)))
	tool := proc(700, "zz-new-tool", 30)
	f.scanner.set(tool)
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "policy_applied v1", "inventory[]")

	if err := a.applyCatalog(f.signedCatalog(f.key, builtinCatalog+1, map[string]string{"zz-new-tool.yaml": newToolEntry})); err != nil {
		t.Fatal(err)
	}
	if a.CatalogVersion() != builtinCatalog+1 {
		t.Fatalf("catalog version %d after the update", a.CatalogVersion())
	}
	select {
	case <-a.CatalogChanged():
	default:
		t.Error("the uplink was not told of the new catalog version")
	}
	path := statedir.Catalog.Path(f.stateDir)
	checkPrivateFile(t, path) // mode 0600; on Windows, the protected ACL
	cached, _ := os.ReadFile(path)
	// The tool that runs, and one that starts, are seen at the next
	// report (procwatch's filter follows the catalog through OnCatalog).
	f.scanner.set(tool, proc(701, "zz-new-tool", 40))
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "started zz-new-tool/700/approved/v1", "started zz-new-tool/701/approved/v1")

	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	broken := strings.Replace(newToolEntry, "category: browser", "category: nonsense", 1)
	for _, tc := range []struct {
		name string
		sc   *vcguardv1.SignedCatalog
		want string
		is   error
	}{
		{"older", f.signedCatalog(f.key, builtinCatalog, nil), "replay refused", nil},
		{"bad signature", f.signedCatalog(otherKey, builtinCatalog+2, nil), "", policies.ErrBadCatalogSignature},
		{"broken entry", f.signedCatalog(f.key, builtinCatalog+2, map[string]string{"zz-new-tool.yaml": broken}), "zz-new-tool.yaml:4: field category", nil},
		{"drops an app the policy names", f.signedCatalog(f.key, builtinCatalog+2, nil, "teamviewer.yaml"), "policy in force does not validate", nil},
		{"drops an app a host embeds", f.signedCatalog(f.key, builtinCatalog+2, nil, "zoom.yaml"), `ferdium.yaml: embeds: "zoom" is no app of the catalog`, nil},
	} {
		err := a.applyCatalog(tc.sc)
		if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q %v", tc.name, err, tc.want, tc.is)
		}
		if a.CatalogVersion() != builtinCatalog+1 {
			t.Errorf("%s: catalog version %d, want the one in use kept", tc.name, a.CatalogVersion())
		}
		if now, _ := os.ReadFile(path); !bytes.Equal(now, cached) {
			t.Errorf("%s: the cached catalog changed", tc.name)
		}
	}
	// The same version again (a reconnect): nothing to do.
	if err := a.applyCatalog(f.signedCatalog(f.key, builtinCatalog+1, map[string]string{"zz-new-tool.yaml": newToolEntry})); err != nil {
		t.Errorf("the version in use again: %v", err)
	}
	a.out.Close()

	// What is built before the agent (the local policy directory) gets the
	// cached catalog too.
	id := &uplink.Identity{PolicyKey: f.key.Public().(ed25519.PublicKey)}
	if _, ok := CachedCatalog(Config{StateDir: f.stateDir, Catalog: f.catalog, CatalogVersion: builtinCatalog}, id).App("zz-new-tool"); !ok {
		t.Error("CachedCatalog lacks the new tool")
	}
	if _, ok := CachedCatalog(Config{StateDir: f.stateDir, Catalog: f.catalog, CatalogVersion: builtinCatalog + 1}, id).App("zz-new-tool"); ok {
		t.Error("CachedCatalog took a cache no newer than the built-in catalog")
	}

	// Restarted: the cached catalog is in use before the server says a word.
	b := f.catalogAgent(builtinCatalog)
	if b.CatalogVersion() != builtinCatalog+1 || b.Hello(&vcguardv1.DeviceInfo{})().GetCatalogVersion() != builtinCatalog+1 {
		t.Fatalf("restarted agent uses catalog %d, want the cached %d", b.CatalogVersion(), builtinCatalog+1)
	}
	if _, ok := b.matcher.Match("zz-new-tool"); !ok {
		t.Error("restarted agent does not recognise the new tool")
	}
	b.out.Close()
	// Upgraded to an agent whose built-in catalog is as new: it wins.
	c := f.catalogAgent(builtinCatalog + 1)
	if _, ok := c.matcher.Match("zz-new-tool"); ok || c.catalogFromServer {
		t.Error("an agent with an as-new built-in catalog took the cached one")
	}
	c.out.Close()
	// A cached catalog that no longer verifies is not used.
	var sc vcguardv1.SignedCatalog
	if err := protojson.Unmarshal(cached, &sc); err != nil {
		t.Fatal(err)
	}
	sc.Signature[0] ^= 0x80
	tampered, err := protojson.Marshal(&sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	d := f.catalogAgent(builtinCatalog)
	if d.CatalogVersion() != builtinCatalog || !strings.Contains(f.log.String(), "cached catalog not usable") {
		t.Errorf("tampered cache: catalog %d, log %s", d.CatalogVersion(), f.log)
	}
}

// TestPolicyWaitsForCatalog: a policy naming a tool the catalog in use does
// not know is refused, and applied once a catalog that knows it arrives.
func TestPolicyWaitsForCatalog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.catalogAgent(builtinCatalog)
	mustApply(t, a, f.signed(1, euDefault(t)))
	doc := []byte("name: New tool\ndefault: forbidden\napps:\n  zz-new-tool:\n    status: approved\n")
	if err := a.applyPolicy(f.signed(2, doc)); err == nil || !strings.Contains(err.Error(), "zz-new-tool") {
		t.Fatalf("policy naming an unknown tool: %v", err)
	}
	if err := a.applyCatalog(f.signedCatalog(f.key, builtinCatalog+1, map[string]string{"zz-new-tool.yaml": newToolEntry})); err != nil {
		t.Fatal(err)
	}
	if a.policyVersion != 2 || a.policy.Name != "New tool" {
		t.Fatalf("policy in force: version %d %q, want 2 after the catalog arrived", a.policyVersion, a.policy.Name)
	}
}
