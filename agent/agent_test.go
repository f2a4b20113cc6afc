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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/enforce"
	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/state"
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

// fakeScanner stands in for procwatch.Watcher: the test sets the processes
// that run, and changes() reports them as the watcher would: the first
// report Full, then what started and exited since the last report, with
// the agent's filter applied to the short names.
type fakeScanner struct {
	procs []procwatch.Process
	// reported are the processes reported as running so far.
	reported map[procwatch.Key]procwatch.Process
	first    bool
	// filtered records what the filter said about each short name.
	filtered map[string]bool
}

func (f *fakeScanner) set(procs ...procwatch.Process) { f.procs = procs }

func (f *fakeScanner) changes(filter procwatch.Filter) procwatch.Changes {
	if f.filtered == nil {
		f.filtered = map[string]bool{}
	}
	now := map[procwatch.Key]procwatch.Process{}
	for _, p := range f.procs {
		ok := filter(p.ShortName)
		f.filtered[p.ShortName] = ok
		if ok {
			now[p.Key()] = p
		}
	}
	var ch procwatch.Changes
	if !f.first {
		ch.Full, f.first = true, true
	}
	for k, p := range now {
		if _, ok := f.reported[k]; !ok || ch.Full {
			ch.Started = append(ch.Started, p)
		}
	}
	for k, p := range f.reported {
		if _, ok := now[k]; !ok {
			ch.Exited = append(ch.Exited, p)
		}
	}
	f.reported = now
	sortByKey := func(x, y procwatch.Process) int { return procwatch.CompareKeys(x.Key(), y.Key()) }
	slices.SortFunc(ch.Started, sortByKey)
	slices.SortFunc(ch.Exited, sortByKey)
	return ch
}

// fakeIdentifier verifies every executable outside /tmp and gives it
// version 1.0; a look-alike in /tmp is unverified.
type fakeIdentifier struct{}

func (fakeIdentifier) Identify(_ context.Context, p procwatch.Process, app *policies.App) state.Identity {
	if strings.HasPrefix(p.Exe, "/tmp/") {
		return state.Identity{Detail: "not under the catalog's install paths"}
	}
	return state.Identity{Version: "1.0", Verified: true, Detail: "test"}
}

// base is the boot of the fake machine; processes start after it.
var base = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func proc(pid int32, name string, startedSec int) procwatch.Process {
	return procwatch.Process{
		PID: pid, PPID: 1, Name: name, ShortName: procwatch.TruncateComm(name), Started: base.Add(time.Duration(startedSec) * time.Second),
		Exe: "/opt/" + name + "/" + name,
	}
}

// child is a process started by parent.
func child(parent procwatch.Process, pid int32, name string, startedSec int) procwatch.Process {
	p := proc(pid, name, startedSec)
	p.PPID = parent.PID
	return p
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
	out, err := outbox.Open(filepath.Join(f.stateDir, "outbox"), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := New(Config{
		StateDir: f.stateDir, Outbox: out, Catalog: f.catalog, GOOS: "linux",
		Identifier: fakeIdentifier{}, Logger: logger,
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
		case *vcguardv1.Event_UserNotified:
			n := d.UserNotified
			out = append(out, fmt.Sprintf("user_notified %s %s %s", n.GetAppId(), policies.VerdictFromProto(n.GetVerdict()), policies.ActionFromProto(n.GetPolicyAction())))
		case *vcguardv1.Event_Enforcement:
			e := d.Enforcement
			out = append(out, fmt.Sprintf("app_blocked %s/%d killed %v", e.GetApp().GetAppId(), e.GetApp().GetPid(), e.GetKilled()))
		case *vcguardv1.Event_LocalPolicy:
			out = append(out, fmt.Sprintf("local_policy %d files", len(d.LocalPolicy.GetFiles())))
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

// scan hands the agent what the fake scanner reports now.
func scan(a *Agent, f *fakeScanner) error {
	return a.handle(context.Background(), f.changes(a.matcher.Interesting))
}

func mustScan(t *testing.T, a *Agent, f *fakeScanner) {
	t.Helper()
	if err := scan(a, f); err != nil {
		t.Fatalf("handle: %v", err)
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
	mustScan(t, a, f.scanner)
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
		Version: "1.0", Verified: true, Identity: "test", PolicyAction: vcguardv1.Action_ACTION_WARN,
		//lint:ignore SA1019 the agent writes the deprecated string beside policy_action one more release (policies.FillDeprecated)
		Action: "warn",
	}
	if !proto.Equal(inv[1], wantZoom) {
		t.Errorf("inventory instance:\n  got  %v\n  want %v", inv[1], wantZoom)
	}

	// Nothing changed: nothing recorded.
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq))

	// zoom quits, signal starts, and PID 200 now belongs to a new jitsi-meet
	// process (same PID, later start): the old one stopped, a new one started.
	jitsi2 := proc(200, "jitsi-meet", 90)
	f.scanner.set(skype, jitsi2, proc(400, "signal-desktop", 80))
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq),
		"stopped zoom/100/restricted/v1",
		"stopped jitsi-meet/200/approved/v1",
		"started signal/400/forbidden/v1",
		"started jitsi-meet/200/approved/v1",
	)
	evs := a.out.Pending(seq-3, 1)
	if got := evs[0].GetApp().GetApp().GetStarted().AsTime(); !got.Equal(jitsi.Started) {
		t.Errorf("stopped jitsi-meet started at %v, want the old process's %v", got, jitsi.Started)
	}

	// Everything quits.
	f.scanner.set()
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq),
		"stopped skype/50/forbidden/v1",
		"stopped jitsi-meet/200/approved/v1",
		"stopped signal/400/forbidden/v1",
	)
	if a.apps.Len() != 0 || len(a.judged) != 0 {
		t.Errorf("running = %v, judged %v after everything stopped", a.apps.Instances(), a.judged)
	}
}

// The server replaces its view of the device with the inventory, so one must
// be recorded even when recording the first report fails, and even when
// nothing runs.
func TestInventoryIsRetriedUntilRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64

	a.out.Close()
	if err := scan(a, f.scanner); err == nil {
		t.Fatal("handle with a closed outbox succeeded")
	}
	f.reopen(a)
	if err := a.handle(context.Background(), procwatch.Changes{}); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, newEvents(t, a, &seq), "inventory[]")

	f.scanner.set(proc(100, "zoom", 1))
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "started zoom/100/unlisted/v0")
}

func (f *fixture) reopen(a *Agent) {
	f.t.Helper()
	out, err := outbox.Open(filepath.Join(f.stateDir, "outbox"), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	a.out = out
}

// A change that cannot be recorded stays pending and is recorded, in
// order and before later changes, once the outbox works again.
func TestFailedRecordIsRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64

	f.scanner.set(proc(100, "zoom", 1))
	a.out.Close()
	if err := scan(a, f.scanner); err == nil {
		t.Fatal("handle with a closed outbox succeeded")
	}
	f.reopen(a)
	// The retry (the Run loop's ticker) records it.
	if err := a.handle(context.Background(), procwatch.Changes{}); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, newEvents(t, a, &seq), "inventory[zoom/100/unlisted/v0]")

	f.scanner.set(proc(200, "teams", 2))
	a.out.Close()
	if err := scan(a, f.scanner); err == nil {
		t.Fatal("handle with a closed outbox succeeded")
	}
	f.reopen(a)
	// A later change waits for the pending one.
	f.scanner.set(proc(200, "teams", 2), proc(300, "signal-desktop", 3))
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "stopped zoom/100/unlisted/v0", "started microsoft-teams-classic/200/unlisted/v0",
		"started signal/300/unlisted/v0")
	if len(a.queue) != 0 {
		t.Errorf("queued = %v after everything was recorded", a.queue)
	}
}

// Helper processes (a meeting host, renderers) are attributed to the app
// instance that started them instead of being reported as instances; a
// process of another app started by an app is its own instance.
func TestHelpersFoldIntoTheirApp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64

	zoom := proc(100, "zoom", 1)
	host := child(zoom, 120, "ZoomWebviewHost", 2)
	chrome := proc(200, "chrome", 3)
	renderer := child(chrome, 210, "chrome", 4)
	renderer2 := child(renderer, 220, "chrome", 5)
	fromSlack := child(proc(300, "slack", 1), 310, "chrome", 6) // a link opened from Slack
	f.scanner.set(zoom, host, chrome, renderer, renderer2)
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "inventory[zoom/100/unlisted/v0 chrome/200/unlisted/v0]")

	f.scanner.set(zoom, host, chrome, renderer, renderer2, proc(300, "slack", 1), fromSlack)
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "started slack/300/unlisted/v0", "started chrome/310/unlisted/v0")

	// A helper quitting is no app stop; the instance quitting is, once.
	f.scanner.set(zoom, chrome, proc(300, "slack", 1), fromSlack)
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq))
	f.scanner.set(proc(300, "slack", 1), fromSlack)
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "stopped zoom/100/unlisted/v0", "stopped chrome/200/unlisted/v0")
	if a.apps.Helpers() != 0 {
		t.Errorf("%d helpers after their apps stopped", a.apps.Helpers())
	}
}

// A look-alike keeps the app id it imitates and is judged unverified,
// whatever the policy says of the genuine app; the genuine one carries its
// version.
func TestLookAlikeIsUnverified(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64
	mustApply(t, a, f.signed(1, euDefault(t)))
	fake := proc(500, "zoom", 5)
	fake.Exe = "/tmp/zoom"
	f.scanner.set(proc(100, "zoom", 1), fake)
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "policy_applied v1", "inventory[zoom/100/restricted/v1 zoom/500/unverified/v1]")
	inv := a.out.Pending(1, 1)[0].GetInventory().GetApps()
	if !inv[0].GetVerified() || inv[0].GetVersion() != "1.0" || inv[1].GetVerified() || inv[1].GetIdentity() == "" {
		t.Errorf("inventory = %v; want the genuine verified with version 1.0, the fake unverified with a reason", inv)
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
	mustScan(t, a, f.scanner)
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
	checkPrivateFile(t, filepath.Join(f.stateDir, policyFile))
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
	if a.instanceProto(mustInstance(t, a, proc(200, "jitsi-meet", 3))).GetPolicyVersion() != 2 {
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
	f.scanner.set(proc(100, "zoom", 1), proc(50, "skypeforlinux", 2), proc(200, "jitsi-meet", 3), proc(300, "CiscoCollabHost", 4))
	mustScan(t, a, f.scanner)
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
	mustScan(t, a, f.scanner)
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
			if !strings.Contains(log, "stored policy not usable") || !strings.Contains(log, tc.wantLog) || !strings.Contains(log, quotedInLog(filepath.Join(g.stateDir, policyFile))) {
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
	out, err := outbox.Open(filepath.Join(f.stateDir, "outbox"), 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{StateDir: f.stateDir, Outbox: out, Catalog: f.catalog, GOOS: "linux", Identifier: fakeIdentifier{}},
		&uplink.Identity{PolicyKey: f.key.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.out.Close()
	mustApply(t, a, f.signed(1, euDefault(t)))
	mustScan(t, a, f.scanner)
}

// The uplink marshals pending events on its own goroutine while the agent
// goes on updating the instances it recorded (verdicts under a new policy).
// Run with -race.
func TestRecordedEventsAreNotSharedWithUplink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	f.scanner.set(proc(100, "zoom", 1), proc(50, "skypeforlinux", 2))
	mustScan(t, a, f.scanner)

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

// A process using the camera is attributed to the app whose instance or
// helper it descends from; a browser's is a browser call; a process of no
// catalog app is unknown.
func TestAttribute(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	zoom := proc(100, "zoom", 1)
	chrome := proc(200, "chrome", 2)
	renderer := child(chrome, 210, "chrome", 3)
	f.scanner.set(zoom, chrome, renderer)
	mustScan(t, a, f.scanner)
	// The process tree beyond what the watcher reports: a utility process
	// of the renderer, and an unrelated shell.
	parents := map[int32]int32{100: 1, 200: 1, 210: 200, 230: 210, 240: 230, 900: 1}
	parent := func(pid int32) (int32, error) {
		if p, ok := parents[pid]; ok {
			return p, nil
		}
		return 0, os.ErrNotExist
	}
	a.cfg.Parent = parent
	for _, tc := range []struct {
		pid          int32
		app, catName string
	}{
		{100, "zoom", "meeting"}, {240, "chrome", "browser"}, {210, "chrome", "browser"}, {900, "", ""}, {12345, "", ""},
	} {
		got, ok := a.attribute(tc.pid)
		app, cat := "", ""
		if ok {
			app, cat = got.App.ID, string(got.App.Category)
		}
		if app != tc.app || cat != tc.catName {
			t.Errorf("attribute(%d) = %q (%q), want %q (%q)", tc.pid, app, cat, tc.app, tc.catName)
		}
	}
}

// fakeEnforcer records what the agent asks; the real one is tested in
// agent/enforce and, with the real agent, in e2e.
type fakeEnforcer struct {
	scheduled map[procwatch.Key]time.Duration
	cancelled []procwatch.Key
	done      map[procwatch.Key]func(enforce.Result)
}

func (f *fakeEnforcer) Schedule(t enforce.Target, grace time.Duration, done func(enforce.Result)) {
	f.scheduled[t.Key] = grace
	f.done[t.Key] = done
}
func (f *fakeEnforcer) Cancel(k procwatch.Key) { f.cancelled = append(f.cancelled, k) }

type fakeNotifier struct {
	told      []notify.Notice
	cleared   []string
	seen      map[string]string
	delivered chan notify.Delivery // each notice told, displayed by one session
}

func (f *fakeNotifier) Notify(n notify.Notice) bool {
	state := string(n.Verdict) + "/" + string(n.Action)
	if f.seen[n.Key] == state {
		return true
	}
	f.seen[n.Key] = state
	f.told = append(f.told, n)
	f.delivered <- notify.Delivery{Notice: n, At: base, Sessions: 1, Lang: "en"}
	return false
}
func (f *fakeNotifier) Delivered() <-chan notify.Delivery { return f.delivered }
func (f *fakeNotifier) Clear(key string)                  { f.cleared = append(f.cleared, key); delete(f.seen, key) }

// recordDeliveries records the outcomes the notifier reported, as the Run
// loop does.
func recordDeliveries(t *testing.T, a *Agent) {
	t.Helper()
	for {
		select {
		case d := <-a.deliveries():
			if err := a.recordDelivery(d); err != nil {
				t.Fatal(err)
			}
		default:
			return
		}
	}
}

// Findings are acted on once per change: warn tells the user, block tells
// and schedules the closing, a change to an allowed verdict cancels it, a
// relaunch is acted on again, and what was done is recorded.
func TestActions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	enf := &fakeEnforcer{scheduled: map[procwatch.Key]time.Duration{}, done: map[procwatch.Key]func(enforce.Result){}}
	ntf := &fakeNotifier{seen: map[string]string{}, delivered: make(chan notify.Delivery, 16)}
	a.cfg.Enforcer, a.cfg.Notifier = enf, ntf
	var seq uint64
	block := "name: Block\napps:\n  zoom: {status: forbidden, alternative: jitsi-meet}\n  jitsi-meet: {status: approved}\n  slack: {status: restricted, note: Internal only.}\nactions: {forbidden: block, block_grace: 90s}\n"
	mustApply(t, a, f.signed(1, []byte(block)))
	newEvents(t, a, &seq)

	zoom, slack, jitsi := proc(100, "zoom", 1), proc(200, "slack", 2), proc(300, "jitsi-meet", 3)
	f.scanner.set(zoom, slack, jitsi)
	mustScan(t, a, f.scanner)
	if g, ok := enf.scheduled[zoom.Key()]; !ok || g != 90*time.Second || len(enf.scheduled) != 1 {
		t.Fatalf("scheduled = %v; want zoom alone with 90 s grace", enf.scheduled)
	}
	if len(ntf.told) != 2 || ntf.told[0].AppID != "zoom" || ntf.told[0].Action != policies.ActionBlock ||
		ntf.told[0].AlternativeName != "Jitsi Meet (desktop app)" || ntf.told[0].Facts == nil || ntf.told[1].AppID != "slack" || ntf.told[1].Note != policies.PlainNote("Internal only.") {
		t.Fatalf("told = %+v; want zoom (block, with the alternative's name and facts) and slack (restricted, its note)", ntf.told)
	}
	recordDeliveries(t, a)
	evs := newEvents(t, a, &seq)
	if !slices.Contains(evs, "user_notified zoom forbidden block") || !slices.Contains(evs, "user_notified slack restricted warn") {
		t.Errorf("events %v; want the notices recorded", evs)
	}

	// The same findings again (a rescan, a re-judge): nothing new.
	mustApply(t, a, f.signed(2, []byte(block+"description: same\n")))
	if len(ntf.told) != 2 || len(enf.scheduled) != 1 {
		t.Errorf("re-judging unchanged findings acted again: told %d, scheduled %d", len(ntf.told), len(enf.scheduled))
	}
	recordDeliveries(t, a)
	newEvents(t, a, &seq)

	// The closing is recorded.
	enf.done[zoom.Key()](enforce.Result{Target: enforce.Target{Key: zoom.Key()}, Killed: []int32{100, 101}, At: base.Add(time.Minute)})
	if err := a.recordBlock(<-a.blocked); err != nil {
		t.Fatal(err)
	}
	evs = newEvents(t, a, &seq)
	if len(evs) != 1 || evs[0] != "app_blocked zoom/100 killed [100 101]" {
		t.Errorf("events %v; want the closing of zoom", evs)
	}

	// Zoom approved meanwhile: the pending closing is cancelled.
	enf.cancelled = nil
	mustApply(t, a, f.signed(3, []byte("name: Open\napps:\n  zoom: {status: approved}\n")))
	if !slices.Contains(enf.cancelled, zoom.Key()) {
		t.Errorf("cancelled %v; want zoom's closing cancelled when it became approved", enf.cancelled)
	}

	// Forbidden again; zoom quits and is relaunched: the new instance is
	// told and scheduled again.
	mustApply(t, a, f.signed(4, []byte(block)))
	zoom2 := proc(110, "zoom", 50)
	f.scanner.set(slack, jitsi, zoom2)
	told := len(ntf.told)
	mustScan(t, a, f.scanner)
	if _, ok := enf.scheduled[zoom2.Key()]; !ok {
		t.Errorf("the relaunched zoom was not scheduled: %v", enf.scheduled)
	}
	if !slices.Contains(ntf.cleared, noticeKey(zoom.Key())) || len(ntf.told) != told+1 {
		t.Errorf("cleared %v, told %d→%d; want the old notice cleared and the relaunch told", ntf.cleared, told, len(ntf.told))
	}
}

// Camera and microphone uses are attributed to the app instance (or
// browser) the process descends from, recorded on and off, and judged:
// a forbidden app, a process of no catalog app, a device left on without
// a meeting app; a screen cast is reported as a screen, never a camera.
func TestMedia(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	parents := map[int32]int32{100: 1, 110: 100, 200: 1, 230: 200, 900: 1, 950: 1}
	a.cfg.Parent = func(pid int32) (int32, error) {
		if p, ok := parents[pid]; ok {
			return p, nil
		}
		return 0, os.ErrNotExist
	}
	var seq uint64
	doc := "name: Media\napps:\n  zoom: {status: forbidden, alternative: jitsi-meet}\n  jitsi-meet: {status: approved}\nmedia: {unknown_apps: warn, idle_minutes: 5}\n"
	mustApply(t, a, f.signed(1, []byte(doc)))
	zoom, chrome := proc(100, "zoom", 1), proc(200, "chrome", 2)
	f.scanner.set(zoom, chrome)
	mustScan(t, a, f.scanner)
	newEvents(t, a, &seq)

	now := base.Add(time.Hour)
	mic := devices.Use{Kind: devices.Microphone, Device: "alsa_input.usb", PID: 110, Process: "/opt/zoom/zoom-audio", UID: 1000, Source: devices.SourcePipeWire}
	cam := devices.Use{Kind: devices.Camera, Device: "/dev/video0", PID: 230, Process: "chrome", UID: 1000, Source: devices.SourceV4L2}
	cast := devices.Use{Kind: devices.Camera, Device: "xdg-desktop-portal", PID: 900, Process: "obs", UID: 1000, Source: devices.SourcePipeWire, ScreenShare: true}
	if err := a.handleMedia(t.Context(), []devices.Use{mic, cam, cast}, now); err != nil {
		t.Fatal(err)
	}
	evs := a.out.Pending(seq, 100)
	var got []string
	for _, ev := range evs {
		switch d := ev.GetDetail().(type) {
		case *vcguardv1.Event_Media:
			got = append(got, fmt.Sprintf("on=%v %s %d %s/%s %s", d.Media.GetOn(), d.Media.GetUse().GetKind(), d.Media.GetUse().GetPid(),
				d.Media.GetUse().GetAppId(), d.Media.GetUse().GetCategory(), d.Media.GetUse().GetSession()))
		case *vcguardv1.Event_MediaFinding:
			got = append(got, fmt.Sprintf("finding %s %d %s %s", policies.MediaFindingKindFromProto(d.MediaFinding.GetKind()), d.MediaFinding.GetUse().GetPid(),
				d.MediaFinding.GetUse().GetAppId(), policies.ActionFromProto(d.MediaFinding.GetPolicyAction())))
		}
	}
	want := []string{
		"on=true microphone 110 zoom/meeting uid 1000",
		"on=true camera 230 chrome/browser uid 1000",
		// A screen cast is its own kind (issue 14), never a camera, with
		// its own finding.
		"on=true screen 900 / uid 1000",
		"finding screen_share 900  monitor",
		"finding forbidden_app 110 zoom warn",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	seq += uint64(len(evs))

	// Zoom quits (the forbidden finding stays recorded once); an unknown
	// process opens the microphone; time passes without a meeting app.
	f.scanner.set(chrome)
	mustScan(t, a, f.scanner)
	newEvents(t, a, &seq)
	rec := devices.Use{Kind: devices.Microphone, Device: "alsa_input.usb", PID: 950, Process: "/usr/bin/arecord", UID: 1000, Source: devices.SourceALSA}
	if err := a.handleMedia(t.Context(), []devices.Use{cam, cast, rec}, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := a.mediaFindings(now.Add(10 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, ev := range a.out.Pending(seq, 100) {
		switch d := ev.GetDetail().(type) {
		case *vcguardv1.Event_Media:
			got = append(got, fmt.Sprintf("on=%v %d", d.Media.GetOn(), d.Media.GetUse().GetPid()))
		case *vcguardv1.Event_MediaFinding:
			got = append(got, fmt.Sprintf("finding %s %d %s", policies.MediaFindingKindFromProto(d.MediaFinding.GetKind()), d.MediaFinding.GetUse().GetPid(), policies.ActionFromProto(d.MediaFinding.GetPolicyAction())))
		}
	}
	want = []string{
		"on=true 950",
		"on=false 110",
		"finding unknown_app 950 warn",
		// The browser call is a meeting; the screen cast is no camera;
		// the recorder has had the microphone for 9 minutes > 5.
		"finding left_on 950 warn",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if uses := a.mediaProtos(); len(uses) != 3 {
		t.Errorf("media in use = %v, want 3", uses)
	}
}

// A policy whose application could not be recorded is recorded later (the
// retry, or the server sending the same version again), with the verdict
// changes it caused.
func TestPolicyReportRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64
	f.scanner.set(proc(100, "zoom", 1))
	mustScan(t, a, f.scanner)
	newEvents(t, a, &seq)
	a.out.Close()
	if err := a.applyPolicy(f.signed(1, euDefault(t))); err == nil {
		t.Fatal("applyPolicy with a closed outbox succeeded")
	}
	f.reopen(a)
	mustApply(t, a, f.signed(1, euDefault(t)))
	wantEvents(t, newEvents(t, a, &seq), "verdict_changed zoom/100/restricted/v1", "policy_applied v1")
	mustApply(t, a, f.signed(1, euDefault(t)))
	wantEvents(t, newEvents(t, a, &seq))
}

// A helper that outlives the app's first process (a launcher that exits)
// carries the app on as its instance; further helpers fold under it.
func TestHelperCarriesAppOn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64
	launcher := proc(100, "zoom", 1)
	main := child(launcher, 110, "zoom", 2)
	host := child(launcher, 120, "ZoomWebviewHost", 3)
	f.scanner.set(launcher, main, host)
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "inventory[zoom/100/unlisted/v0]")
	f.scanner.set(main, host)
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "stopped zoom/100/unlisted/v0", "started zoom/110/unlisted/v0")
	if k, ok := a.apps.HelperOf(120); !ok || k != main.Key() {
		t.Errorf("helper 120 belongs to %v, %v; want the new instance %v", k, ok, main.Key())
	}
	f.scanner.set()
	mustScan(t, a, f.scanner)
	wantEvents(t, newEvents(t, a, &seq), "stopped zoom/110/unlisted/v0")
	if a.apps.Helpers() != 0 {
		t.Errorf("%d helpers left", a.apps.Helpers())
	}
}

// quotedInLog is s as slog's text handler writes it inside a quoted value
// (a Windows path's backslashes doubled).
func quotedInLog(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func mustInstance(t *testing.T, a *Agent, p procwatch.Process) state.Instance {
	t.Helper()
	inst, ok := a.apps.Instance(p.Key())
	if !ok {
		t.Fatalf("no instance %v", p.Key())
	}
	return inst
}

// A meeting app still running longer than the policy allows after its
// last camera or microphone use is reported as left running, once per
// idle period; a new use starts the count again; a browser is no meeting
// app.
func TestMediaLeftRunning(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	a.cfg.Parent = func(pid int32) (int32, error) { return map[int32]int32{100: 1, 110: 100, 200: 1}[pid], nil }
	var seq uint64
	mustApply(t, a, f.signed(1, []byte("name: Media\napps:\n  zoom: {status: approved}\nmedia: {left_running_minutes: 10}\n")))
	zoom, chrome := proc(100, "zoom", 1), proc(200, "chrome", 2)
	f.scanner.set(zoom, chrome)
	mustScan(t, a, f.scanner)
	newEvents(t, a, &seq)
	findings := func() []string {
		var out []string
		for _, ev := range a.out.Pending(seq, 100) {
			seq = ev.GetSeq()
			if mf := ev.GetMediaFinding(); mf != nil {
				out = append(out, fmt.Sprintf("%s %s/%d", policies.MediaFindingKindFromProto(mf.GetKind()), mf.GetUse().GetAppId(), mf.GetUse().GetPid()))
			}
		}
		return out
	}
	t0 := base.Add(time.Hour)
	mic := devices.Use{Kind: devices.Microphone, Device: "alsa_input.usb", PID: 110, Process: "zoom-audio", UID: 1000, Source: devices.SourcePipeWire}
	cam := devices.Use{Kind: devices.Camera, Device: "/dev/video0", PID: 200, Process: "chrome", UID: 1000, Source: devices.SourceV4L2}
	for i, st := range []struct {
		uses  []devices.Use // nil: only the clock moves
		at    time.Duration
		want  []string
		check bool
	}{
		{[]devices.Use{mic, cam}, 0, nil, false},
		{[]devices.Use{}, time.Minute, nil, false}, // the call ends
		{nil, 10 * time.Minute, nil, true},
		{nil, 11 * time.Minute, []string{"left_running zoom/100"}, true},
		{nil, 30 * time.Minute, nil, true}, // once per idle period
		{[]devices.Use{mic}, 31 * time.Minute, nil, false},
		{[]devices.Use{}, 32 * time.Minute, nil, false},
		{nil, 42 * time.Minute, []string{"left_running zoom/100"}, true},
	} {
		now := t0.Add(st.at)
		var err error
		if st.uses != nil {
			err = a.handleMedia(t.Context(), st.uses, now)
		} else {
			err = a.mediaFindings(now)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := findings(); !slices.Equal(got, st.want) {
			t.Errorf("step %d (+%v): findings %q, want %q", i, st.at, got, st.want)
		}
	}
	// The app quits: nothing is left to remind of.
	f.scanner.set(chrome)
	mustScan(t, a, f.scanner)
	if len(a.lastUse) != 0 || len(a.leftRunning) != 0 {
		t.Errorf("left-running state of a stopped app kept: %v %v", a.lastUse, a.leftRunning)
	}
}

// Camera, microphone and screen findings reach the person at the keyboard
// (issue 14): warn and block tell which app or process uses which device;
// block closes the catalog app holding the device, never a process of no
// catalog app; the notice is cleared when the use ends; monitor tells
// nobody.
func TestMediaNotices(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	enf := &fakeEnforcer{scheduled: map[procwatch.Key]time.Duration{}, done: map[procwatch.Key]func(enforce.Result){}}
	ntf := &fakeNotifier{seen: map[string]string{}, delivered: make(chan notify.Delivery, 64)}
	a.cfg.Enforcer, a.cfg.Notifier = enf, ntf
	a.cfg.Parent = func(pid int32) (int32, error) { return map[int32]int32{100: 1, 110: 100, 950: 1, 900: 1}[pid], nil }
	mustApply(t, a, f.signed(1, []byte("name: Media\napps:\n  zoom: {status: forbidden, alternative: jitsi-meet}\n  jitsi-meet: {status: approved}\nactions: {forbidden: warn}\nmedia: {unknown_apps: warn, forbidden_apps: block, screen_share: warn}\n")))
	zoom := proc(100, "zoom", 1)
	f.scanner.set(zoom)
	mustScan(t, a, f.scanner)
	told := len(ntf.told) // zoom itself: forbidden, warn
	now := base.Add(time.Hour)
	mic := devices.Use{Kind: devices.Microphone, Device: "alsa_input.usb", PID: 110, Process: "/opt/zoom/zoom-audio", UID: 1000, Source: devices.SourcePipeWire}
	rec := devices.Use{Kind: devices.Microphone, Device: "alsa_input.usb", PID: 950, Process: "/usr/bin/arecord", UID: 1000, Source: devices.SourceALSA}
	cast := devices.Use{Kind: devices.Camera, Device: "xdg-desktop-portal", PID: 900, Process: "obs", UID: 1000, Source: devices.SourcePipeWire, ScreenShare: true}
	if err := a.handleMedia(t.Context(), []devices.Use{mic, rec, cast}, now); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range ntf.told[told:] {
		got = append(got, fmt.Sprintf("%s %s %s app=%s process=%s pid=%d", n.MediaFinding, n.DeviceKind, n.Action, n.AppID, n.Process, n.PID))
	}
	slices.Sort(got)
	want := []string{
		"forbidden_app microphone block app=zoom process=zoom-audio pid=110",
		"screen_share screen warn app= process=obs pid=900",
		"unknown_app microphone warn app= process=arecord pid=950",
	}
	if !slices.Equal(got, want) {
		t.Errorf("told:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Block for the microphone closes zoom (its own finding only warns).
	if g, ok := enf.scheduled[zoom.Key()]; !ok || g != policies.DefaultBlockGrace {
		t.Errorf("scheduled %v; want zoom closed after the default grace", enf.scheduled)
	}
	// What became of the notices is recorded.
	recordDeliveries(t, a)
	notified := 0
	for _, ev := range a.out.Pending(0, 1000) {
		if ev.GetUserNotified() != nil {
			notified++
		}
	}
	if notified != told+3 {
		t.Errorf("%d user_notified events, want %d", notified, told+3)
	}
	// The recorder stops: its notice is cleared.
	if err := a.handleMedia(t.Context(), []devices.Use{mic, cast}, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ntf.cleared, mediaNoticeKey(rec.Key(), policies.MediaUnknownApp)) {
		t.Errorf("cleared %q; want the recorder's notice", ntf.cleared)
	}
}

// A multi-service host the policy forbids is told with the names of the
// meeting services it shows (at most localipc.MaxEmbeddedServices), the
// reason its notice gives; a meeting tool's notice names none.
func TestActionsNameEmbeddedServices(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	ntf := &fakeNotifier{seen: map[string]string{}, delivered: make(chan notify.Delivery, 16)}
	a.cfg.Notifier = ntf
	pol := "name: Hosts\napps:\n  zoom: {status: forbidden}\n  jitsi-meet: {status: approved}\nrules:\n  - when: {category: multi_service}\n    status: forbidden\n    alternative: jitsi-meet\nactions: {forbidden: warn}\n"
	mustApply(t, a, f.signed(1, []byte(pol)))
	f.scanner.set(proc(100, "ferdium", 1), proc(200, "zoom", 2))
	mustScan(t, a, f.scanner)
	host, _ := a.cfg.Catalog.App("ferdium")
	want := a.cfg.Catalog.EmbeddedNames(host)
	if len(want) <= localipc.MaxEmbeddedServices {
		t.Fatalf("ferdium embeds %d services; the test wants more than %d", len(want), localipc.MaxEmbeddedServices)
	}
	want = want[:localipc.MaxEmbeddedServices]
	var told []string
	for _, n := range ntf.told {
		told = append(told, n.AppID)
		switch n.AppID {
		case "ferdium":
			if n.Verdict != policies.VerdictForbidden || !slices.Equal(n.EmbeddedServices, want) {
				t.Errorf("ferdium told %s with services %q; want forbidden with %q", n.Verdict, n.EmbeddedServices, want)
			}
		case "zoom":
			if n.EmbeddedServices != nil {
				t.Errorf("zoom's notice names embedded services %q", n.EmbeddedServices)
			}
		}
	}
	if !slices.Contains(told, "ferdium") || !slices.Contains(told, "zoom") {
		t.Fatalf("told %v; want ferdium and zoom", told)
	}
}
