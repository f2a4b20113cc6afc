package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/uplink"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// strictPolicy changes the verdicts of eu-default: zoom becomes forbidden,
// skype unlisted, jitsi-meet stays approved.
const strictPolicy = `name: Strict
apps:
  jitsi-meet:
    status: approved
  zoom:
    status: forbidden
    alternative: jitsi-meet
`

// fakeScanner stands in for procwatch.Scan: it returns the processes the test
// sets, passed through the agent's filter as the real scanner does.
type fakeScanner struct {
	mu    sync.Mutex
	procs []procwatch.Process
	err   error
	// filtered records what the filter said about each name it was asked.
	filtered map[string]bool
}

func (f *fakeScanner) set(procs ...procwatch.Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs, f.err = procs, nil
}

func (f *fakeScanner) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeScanner) scan(_ context.Context, filter procwatch.Filter) ([]procwatch.Process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if f.filtered == nil {
		f.filtered = map[string]bool{}
	}
	var out []procwatch.Process
	for _, p := range f.procs {
		ok := filter(p.Name)
		f.filtered[p.Name] = ok
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// base is the boot of the fake machine; processes start after it.
var base = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func proc(pid int32, name string, startedSec int) procwatch.Process {
	return procwatch.Process{
		PID: pid, Name: name, Started: base.Add(time.Duration(startedSec) * time.Second),
		Exe: "/opt/" + name + "/" + name,
	}
}

type fixture struct {
	t        *testing.T
	key      ed25519.PrivateKey
	catalog  *policies.Catalog
	scanner  *fakeScanner
	stateDir string
	log      *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, key: key, catalog: cat, scanner: &fakeScanner{}, stateDir: t.TempDir()}
}

// agent starts an agent on the fixture's state directory, pinning pub (the
// fixture's own key when nil). The log goes to the test's output and to
// f.log.
func (f *fixture) agent(pub ed25519.PublicKey) *Agent {
	f.t.Helper()
	if pub == nil {
		pub = f.key.Public().(ed25519.PublicKey)
	}
	f.log = new(bytes.Buffer)
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: f.log, also: f.t.Output()}, nil))
	a, err := New(Config{
		StateDir: f.stateDir, ScanInterval: time.Second, Catalog: f.catalog, GOOS: "linux",
		Device: &vcguardv1.DeviceInfo{Hostname: "laptop-17", Os: "linux"},
		Scan:   f.scanner.scan, Logger: logger,
	}, &uplink.Identity{DeviceID: "dev-1", Server: "vcguard.example:8443", PolicyKey: pub})
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	f.t.Cleanup(func() { a.out.Close() })
	return a
}

type syncWriter struct {
	mu   sync.Mutex
	w    *bytes.Buffer
	also interface{ Write([]byte) (int, error) }
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Write(p)
	return s.also.Write(p)
}

func (f *fixture) signed(version uint64, doc []byte) *vcguardv1.SignedPolicy {
	return &vcguardv1.SignedPolicy{
		Version: version, Document: doc, Signature: policies.SignPolicy(f.key, version, doc),
		Published: timestamppb.New(base),
	}
}

func euDefault(t *testing.T) []byte {
	t.Helper()
	doc, err := policies.ExamplePolicy("eu-default")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// describe renders events compactly: "inventory[zoom/100/restricted/v1 …]",
// "started zoom/100/restricted/v1", "policy_applied v2".
func describe(evs []*vcguardv1.Event) []string {
	inst := func(i *vcguardv1.AppInstance) string {
		v := strings.ToLower(strings.TrimPrefix(i.GetVerdict().String(), "VERDICT_"))
		return fmt.Sprintf("%s/%d/%s/v%d", i.GetAppId(), i.GetPid(), v, i.GetPolicyVersion())
	}
	var out []string
	for _, ev := range evs {
		switch d := ev.GetDetail().(type) {
		case *vcguardv1.Event_Inventory:
			var apps []string
			for _, i := range d.Inventory.GetApps() {
				apps = append(apps, inst(i))
			}
			out = append(out, "inventory["+strings.Join(apps, " ")+"]")
		case *vcguardv1.Event_App:
			kind := strings.ToLower(strings.TrimPrefix(d.App.GetKind().String(), "KIND_"))
			out = append(out, kind+" "+inst(d.App.GetApp()))
		case *vcguardv1.Event_PolicyApplied:
			out = append(out, fmt.Sprintf("policy_applied v%d", d.PolicyApplied.GetVersion()))
		default:
			out = append(out, fmt.Sprintf("unknown %v", ev))
		}
	}
	return out
}

// newEvents returns the events recorded since the last call, checking that
// they are numbered in order and stamped with a time.
func newEvents(t *testing.T, a *Agent, after *uint64) []string {
	t.Helper()
	evs := a.out.Pending(*after, 1<<20)
	for _, ev := range evs {
		if ev.GetSeq() != *after+1 {
			t.Fatalf("event %d follows %d", ev.GetSeq(), *after)
		}
		*after = ev.GetSeq()
		if ev.GetTime() == nil || ev.GetTime().AsTime().IsZero() {
			t.Errorf("event %d has no time", ev.GetSeq())
		}
	}
	return describe(evs)
}

func wantEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("events:\n  got  %q\n  want %q", got, want)
	}
}

func mustScan(t *testing.T, a *Agent) {
	t.Helper()
	if err := a.scan(context.Background()); err != nil {
		t.Fatalf("scan: %v", err)
	}
}

func mustApply(t *testing.T, a *Agent, sp *vcguardv1.SignedPolicy) {
	t.Helper()
	if err := a.applyPolicy(sp); err != nil {
		t.Fatalf("applyPolicy(version %d): %v", sp.GetVersion(), err)
	}
}

func TestScanRecordsInventoryThenStartsAndStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64
	mustApply(t, a, f.signed(1, euDefault(t)))
	wantEvents(t, newEvents(t, a, &seq), "policy_applied v1")

	zoom := proc(100, "zoom", 10)
	jitsi := proc(200, "jitsi-meet", 20)
	skype := proc(50, "skypeforlinux", 5)
	f.scanner.set(jitsi, proc(300, "bash", 1), zoom, skype)
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq),
		"inventory[skype/50/forbidden/v1 zoom/100/restricted/v1 jitsi-meet/200/approved/v1]")
	if !f.scanner.filtered["zoom"] || !f.scanner.filtered["skypeforlinux"] || f.scanner.filtered["bash"] {
		t.Errorf("the agent's filter said %v; want catalog executables only", f.scanner.filtered)
	}

	// Every field of an instance comes from the scan and the catalog.
	inv := a.out.Pending(1, 1)[0].GetInventory().GetApps()
	wantZoom := &vcguardv1.AppInstance{
		AppId: "zoom", Name: "Zoom Workplace", Pid: 100, Started: timestamppb.New(zoom.Started),
		Exe: "/opt/zoom/zoom", Verdict: vcguardv1.Verdict_VERDICT_RESTRICTED, PolicyVersion: 1,
	}
	if !proto.Equal(inv[1], wantZoom) {
		t.Errorf("inventory instance:\n  got  %v\n  want %v", inv[1], wantZoom)
	}

	// Nothing changed: nothing recorded.
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq))

	// zoom quits, signal starts, and PID 200 now belongs to a new jitsi-meet
	// process (same PID, later start): the old one stopped, a new one started.
	jitsi2 := proc(200, "jitsi-meet", 90)
	f.scanner.set(skype, jitsi2, proc(400, "signal-desktop", 80))
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq),
		"started jitsi-meet/200/approved/v1",
		"started signal/400/forbidden/v1",
		"stopped zoom/100/restricted/v1",
		"stopped jitsi-meet/200/approved/v1",
	)
	evs := a.out.Pending(seq-2, 2)
	if got := evs[1].GetApp().GetApp().GetStarted().AsTime(); !got.Equal(jitsi.Started) {
		t.Errorf("stopped jitsi-meet started at %v, want the old process's %v", got, jitsi.Started)
	}

	// Everything quits.
	f.scanner.set()
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq),
		"stopped skype/50/forbidden/v1",
		"stopped jitsi-meet/200/approved/v1",
		"stopped signal/400/forbidden/v1",
	)
	if len(a.running) != 0 {
		t.Errorf("running = %v after everything stopped", a.running)
	}
}

// The server replaces its view of the device with the inventory, so one must
// be recorded even when the first scan fails, and even when nothing runs.
func TestInventoryIsRetriedUntilRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64

	f.scanner.fail(errors.New("process table unreadable"))
	if err := a.scan(context.Background()); err == nil {
		t.Fatal("scan did not report the scanner's error")
	}
	wantEvents(t, newEvents(t, a, &seq))

	f.scanner.set()
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq), "inventory[]")

	f.scanner.set(proc(100, "zoom", 1))
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq), "started zoom/100/unlisted/v0")
}

// An event that cannot be recorded leaves the agent's view unchanged, so the
// next scan records it.
func TestFailedRecordIsRetriedByNextScan(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64

	f.scanner.set(proc(100, "zoom", 1))
	a.out.Close()
	if err := a.scan(context.Background()); err == nil {
		t.Fatal("scan with a closed outbox succeeded")
	}
	reopen := func() {
		out, err := outbox.Open(filepath.Join(f.stateDir, "outbox"), 0)
		if err != nil {
			t.Fatal(err)
		}
		a.out = out
	}
	reopen()
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq), "inventory[zoom/100/unlisted/v0]")

	f.scanner.set(proc(200, "teams", 2))
	a.out.Close()
	if err := a.scan(context.Background()); err == nil {
		t.Fatal("scan with a closed outbox succeeded")
	}
	reopen()
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq), "started microsoft-teams/200/unlisted/v0", "stopped zoom/100/unlisted/v0")
}

func TestDiffScan(t *testing.T) {
	t.Parallel()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	match := cat.Matcher("linux").Match
	known := func(ps ...procwatch.Process) map[procwatch.Key]*vcguardv1.AppInstance {
		m := map[procwatch.Key]*vcguardv1.AppInstance{}
		for _, p := range ps {
			m[p.Key()] = &vcguardv1.AppInstance{Pid: p.PID}
		}
		return m
	}
	zoom, zoomLater, teams, bash := proc(10, "zoom", 1), proc(10, "zoom", 50), proc(5, "teams", 2), proc(1, "bash", 0)
	for _, tc := range []struct {
		name        string
		running     map[procwatch.Key]*vcguardv1.AppInstance
		procs       []procwatch.Process
		wantStarted []string
		wantStopped []procwatch.Key
	}{
		{name: "nothing", running: known()},
		{name: "only non-catalog processes", running: known(), procs: []procwatch.Process{bash}},
		{name: "start in PID order", running: known(), procs: []procwatch.Process{zoom, bash, teams},
			wantStarted: []string{"microsoft-teams/5", "zoom/10"}},
		{name: "listed twice", running: known(), procs: []procwatch.Process{zoom, zoom},
			wantStarted: []string{"zoom/10"}},
		{name: "unchanged", running: known(zoom, teams), procs: []procwatch.Process{teams, zoom}},
		{name: "stopped in PID order", running: known(zoom, teams), procs: []procwatch.Process{bash},
			wantStopped: []procwatch.Key{teams.Key(), zoom.Key()}},
		{name: "PID reused", running: known(zoom), procs: []procwatch.Process{zoomLater},
			wantStarted: []string{"zoom/10"}, wantStopped: []procwatch.Key{zoom.Key()}},
		{name: "two processes on one PID, in start order", running: known(), procs: []procwatch.Process{zoomLater, zoom},
			wantStarted: []string{"zoom/10", "zoom/10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started, stopped := diffScan(tc.running, tc.procs, match)
			var got []string
			for i, d := range started {
				got = append(got, fmt.Sprintf("%s/%d", d.app.ID, d.proc.PID))
				if i > 0 && compareKeys(started[i-1].proc.Key(), d.proc.Key()) >= 0 {
					t.Errorf("started out of order: %+v before %+v", started[i-1].proc, d.proc)
				}
			}
			if !slices.Equal(got, tc.wantStarted) {
				t.Errorf("started = %v, want %v", got, tc.wantStarted)
			}
			if !slices.Equal(stopped, tc.wantStopped) {
				t.Errorf("stopped = %v, want %v", stopped, tc.wantStopped)
			}
		})
	}
}

func readPolicyFile(t *testing.T, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, policyFile))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestApplyPolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64
	f.scanner.set(proc(100, "zoom", 1), proc(50, "skypeforlinux", 2), proc(200, "jitsi-meet", 3))
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq),
		"inventory[skype/50/unlisted/v0 zoom/100/unlisted/v0 jitsi-meet/200/unlisted/v0]")

	v1 := f.signed(1, euDefault(t))
	mustApply(t, a, v1)
	wantEvents(t, newEvents(t, a, &seq),
		"verdict_changed skype/50/forbidden/v1",
		"verdict_changed zoom/100/restricted/v1",
		"verdict_changed jitsi-meet/200/approved/v1",
		"policy_applied v1",
	)
	if a.policyVersion != 1 || a.appliedVersion.Load() != 1 || a.policy.Name != "European default" {
		t.Errorf("applied version %d/%d, policy %q", a.policyVersion, a.appliedVersion.Load(), a.policy.Name)
	}
	// What was recorded earlier stays as it was recorded.
	if got := describe(a.out.Pending(0, 1)); !slices.Equal(got, []string{"inventory[skype/50/unlisted/v0 zoom/100/unlisted/v0 jitsi-meet/200/unlisted/v0]"}) {
		t.Errorf("the pending inventory changed with the policy: %v", got)
	}

	// policy.json holds the signed policy, readable by this user only.
	fi, err := os.Stat(filepath.Join(f.stateDir, policyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", policyFile, fi.Mode().Perm())
	}
	var stored vcguardv1.SignedPolicy
	if err := protojson.Unmarshal(readPolicyFile(t, f.stateDir), &stored); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&stored, v1) {
		t.Errorf("%s holds %v, want %v", policyFile, &stored, v1)
	}

	// A newer version changes some verdicts: only those are recorded.
	mustApply(t, a, f.signed(2, []byte(strictPolicy)))
	wantEvents(t, newEvents(t, a, &seq),
		"verdict_changed skype/50/unlisted/v2",
		"verdict_changed zoom/100/forbidden/v2",
		"policy_applied v2",
	)
	if a.running[proc(200, "jitsi-meet", 3).Key()].GetPolicyVersion() != 2 {
		t.Error("an app whose verdict did not change still names policy version 1")
	}
	goodFile := readPolicyFile(t, f.stateDir)

	// The same version again (the server re-sends it on reconnect) is a no-op.
	mustApply(t, a, f.signed(2, []byte(strictPolicy)))
	wantEvents(t, newEvents(t, a, &seq))

	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	doc := euDefault(t)
	tampered := func(mutate func(sp *vcguardv1.SignedPolicy)) *vcguardv1.SignedPolicy {
		sp := f.signed(3, doc)
		mutate(sp)
		return sp
	}
	for _, tc := range []struct {
		name    string
		sp      *vcguardv1.SignedPolicy
		wantErr string
		is      error
	}{
		{"flipped signature bit", tampered(func(sp *vcguardv1.SignedPolicy) { sp.Signature[5] ^= 1 }), "version 3", policies.ErrBadSignature},
		{"no signature", tampered(func(sp *vcguardv1.SignedPolicy) { sp.Signature = nil }), "version 3", policies.ErrBadSignature},
		{"edited document", tampered(func(sp *vcguardv1.SignedPolicy) {
			sp.Document = bytes.Replace(sp.Document, []byte("forbidden"), []byte("approved"), 1)
		}), "version 3", policies.ErrBadSignature},
		{"signed as another version", tampered(func(sp *vcguardv1.SignedPolicy) { sp.Version = 4 }), "version 4", policies.ErrBadSignature},
		{"signed by another key", &vcguardv1.SignedPolicy{Version: 3, Document: doc, Signature: policies.SignPolicy(otherKey, 3, doc)}, "version 3", policies.ErrBadSignature},
		{"older version (replay)", v1, "older than the applied version 2", nil},
		{"malformed YAML", f.signed(3, []byte("name: [unclosed\napps:\n")), "policy version 3", nil},
		{"not a policy", f.signed(3, []byte("- just\n- a list\n")), "policy version 3", nil},
		{"unknown app", f.signed(3, []byte("name: X\napps:\n  zoom:\n    status: approved\n  hangouts:\n    status: approved\n")), `policy version 3:5: field apps.hangouts: "hangouts" is not an app id of the catalog`, nil},
		{"empty document", f.signed(3, nil), "document is empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.applyPolicy(tc.sp)
			if err == nil {
				t.Fatal("applyPolicy succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			// The last good policy stays in force, on disk too.
			if a.policyVersion != 2 || a.appliedVersion.Load() != 2 || a.policy.Name != "Strict" {
				t.Errorf("after the refusal the agent applies version %d (%q)", a.policyVersion, a.policy.Name)
			}
			if !bytes.Equal(readPolicyFile(t, f.stateDir), goodFile) {
				t.Errorf("the refused policy changed %s", policyFile)
			}
			wantEvents(t, newEvents(t, a, &seq))
		})
	}

	// New processes are judged by the policy in force.
	f.scanner.set(proc(100, "zoom", 1), proc(50, "skypeforlinux", 2), proc(200, "jitsi-meet", 3), proc(300, "webex", 4))
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq), "started webex/300/unlisted/v2")

	// A refused version number is not used up: the good version 3 applies.
	mustApply(t, a, f.signed(3, doc))
	wantEvents(t, newEvents(t, a, &seq),
		"verdict_changed skype/50/forbidden/v3",
		"verdict_changed zoom/100/restricted/v3",
		"verdict_changed webex/300/restricted/v3",
		"policy_applied v3",
	)
}

func TestStoredPolicyAtStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.agent(nil)
	mustApply(t, first, f.signed(5, euDefault(t)))
	first.out.Close()
	good := readPolicyFile(t, f.stateDir)

	// A restarted agent enforces the stored policy before the server sends one.
	a := f.agent(nil)
	if a.policyVersion != 5 || a.appliedVersion.Load() != 5 || a.policy == nil || a.policy.Name != "European default" {
		t.Fatalf("restarted agent applies version %d/%d, policy %v", a.policyVersion, a.appliedVersion.Load(), a.policy)
	}
	var seq uint64
	newEvents(t, a, &seq) // policy_applied v5 from the first agent
	f.scanner.set(proc(100, "zoom", 1))
	mustScan(t, a)
	wantEvents(t, newEvents(t, a, &seq), "inventory[zoom/100/restricted/v5]")
	if err := a.applyPolicy(f.signed(4, []byte(strictPolicy))); err == nil || !strings.Contains(err.Error(), "replay refused") {
		t.Errorf("restarted agent took an older version: %v", err)
	}
	a.out.Close()

	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		mutate  func(sp *vcguardv1.SignedPolicy)
		raw     []byte
		pin     ed25519.PublicKey
		wantLog string
	}{
		{name: "tampered signature", mutate: func(sp *vcguardv1.SignedPolicy) { sp.Signature[0] ^= 0x80 }, wantLog: "signature does not verify"},
		{name: "tampered document", mutate: func(sp *vcguardv1.SignedPolicy) {
			sp.Document = bytes.Replace(sp.Document, []byte("status: forbidden"), []byte("status: approved"), -1)
		}, wantLog: "signature does not verify"},
		{name: "tampered version", mutate: func(sp *vcguardv1.SignedPolicy) { sp.Version = 99 }, wantLog: "signature does not verify"},
		{name: "another pinned key", pin: otherKey.Public().(ed25519.PublicKey), wantLog: "signature does not verify"},
		{name: "not JSON", raw: []byte("{\"version\": 5,"), wantLog: policyFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := good
			if tc.raw != nil {
				data = tc.raw
			}
			if tc.mutate != nil {
				var sp vcguardv1.SignedPolicy
				if err := protojson.Unmarshal(good, &sp); err != nil {
					t.Fatal(err)
				}
				tc.mutate(&sp)
				if data, err = protojson.Marshal(&sp); err != nil {
					t.Fatal(err)
				}
			}
			g := *f
			g.t = t
			g.stateDir = t.TempDir()
			if err := os.WriteFile(filepath.Join(g.stateDir, policyFile), data, 0o600); err != nil {
				t.Fatal(err)
			}
			a := g.agent(tc.pin)
			if a.policy != nil || a.policyVersion != 0 || a.appliedVersion.Load() != 0 {
				t.Fatalf("agent applies the stored policy version %d although it is %s", a.policyVersion, tc.name)
			}
			log := g.log.String()
			if !strings.Contains(log, "stored policy not usable") || !strings.Contains(log, tc.wantLog) || !strings.Contains(log, filepath.Join(g.stateDir, policyFile)) {
				t.Errorf("log does not explain the refusal (want %q and the path):\n%s", tc.wantLog, log)
			}
			// The server's policy is still taken once it arrives.
			if tc.pin == nil {
				mustApply(t, a, g.signed(5, euDefault(t)))
				if a.policyVersion != 5 {
					t.Errorf("after a refused stored policy the server's version 5 was not applied")
				}
			}
		})
	}
}

func TestNewWithoutLogger(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, err := New(Config{StateDir: f.stateDir, Catalog: f.catalog, GOOS: "linux", Scan: f.scanner.scan},
		&uplink.Identity{PolicyKey: f.key.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.out.Close()
	mustApply(t, a, f.signed(1, euDefault(t)))
	mustScan(t, a)
}

// The uplink marshals pending events on its own goroutine while the agent
// goes on updating the instances it recorded (verdicts under a new policy).
// Run with -race.
func TestRecordedEventsAreNotSharedWithUplink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	f.scanner.set(proc(100, "zoom", 1), proc(50, "skypeforlinux", 2))
	mustScan(t, a)

	stop := make(chan struct{})
	done := make(chan error)
	go func() { // the uplink's part
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			for _, ev := range a.out.Pending(0, 1000) {
				if _, err := proto.Marshal(ev); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	docs := [][]byte{euDefault(t), []byte(strictPolicy)}
	for v := uint64(1); v <= 20; v++ {
		mustApply(t, a, f.signed(v, docs[v%2]))
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
