package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent"
	"github.com/vcguard/vcguard/agent/proctable"
	"github.com/vcguard/vcguard/agent/statedir"
	"github.com/vcguard/vcguard/agent/uplink"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// statusNow is the time the rendering tests show the status at.
var statusNow = time.Date(2026, 12, 6, 7, 30, 0, 0, time.UTC)

// testStatus is a status file of an agent that sees Zoom and a camera.
func testStatus() *agent.Status {
	st := &agent.Status{
		Updated: statusNow.Add(-12 * time.Second), State: agent.StateRunning,
		Writer: agent.StatusWriter{PID: 4242, Start: 1000, Started: time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC), Exe: "/usr/bin/vcguard-agent", Version: "v1.2.0", StateDir: "/var/lib/vcguard"},
		Device: "dev-1", Server: "vcguard.example:8443",
		Apps: []agent.StatusApp{{AppID: "zoom", Name: "Zoom Workplace", PID: 100, Exe: "/opt/zoom/zoom", Version: "6.1", Verified: true,
			Identity: "package zoom", Verdict: "restricted", Action: "warn"}},
		Media:         []agent.StatusMedia{{Kind: "camera", PID: 100, Process: "/opt/zoom/zoom", AppID: "zoom", Device: "/dev/video0"}},
		PendingEvents: 3,
		Reported:      []string{"this device: host name"},
	}
	st.Policy.Version, st.Policy.Name = 7, "European default"
	return st
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "status", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("status output differs from %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// What `status` prints for an agent that runs, one that stopped cleanly or
// on an error, one that crashed, and one nobody can tell.
func TestPrintStatus(t *testing.T) {
	t.Parallel()
	stopped := func(cause string) *agent.Status {
		st := testStatus()
		st.State, st.Stopped, st.StopError = agent.StateStopped, statusNow.Add(-3*time.Minute), cause
		st.Updated, st.Apps, st.Media = st.Stopped, nil, nil
		return st
	}
	crashed := testStatus()
	crashed.Updated = statusNow.Add(-5*time.Hour - 7*time.Minute)
	old := testStatus()
	old.State, old.Writer = "", agent.StatusWriter{}
	for _, tc := range []struct {
		name    string
		st      *agent.Status
		live    agent.Liveness
		liveErr error
		// want and absent are what the output must and must not hold,
		// beside its golden file.
		want, absent []string
	}{
		{name: "running", st: testStatus(), live: agent.AgentRunning,
			want: []string{"Agent:       running, pid 4242 (/usr/bin/vcguard-agent) started 2026-12-06 06:00:00, version v1.2.0, state directory /var/lib/vcguard", "Running:     Zoom Workplace", "In use:"}},
		{name: "stopped", st: stopped(""), live: agent.AgentStopped,
			want: []string{"NOT RUNNING since 2026-12-06 07:27:00 (3m ago): it stopped cleanly", "not watched"}, absent: []string{"Zoom Workplace", "In use:"}},
		{name: "stopped_error", st: stopped("process watcher: netlink: permission denied"), live: agent.AgentStopped,
			want: []string{"it stopped on an error: process watcher"}, absent: []string{"Zoom Workplace"}},
		{name: "crashed", st: crashed, live: agent.AgentGone,
			want: []string{"NOT RUNNING since 2026-12-06 02:23:00 (5h07m ago) or later", "crashed"}, absent: []string{"Zoom Workplace", "In use:"}},
		{name: "unknown", st: old, live: agent.LivenessUnknown, liveErr: errors.New("the file does not name the agent's process (written by an older agent)"),
			want: []string{"whether it still runs is not known", "Zoom Workplace"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := printStatus(&b, statusView{Path: "/run/vcguard/status.json", St: tc.st, Live: tc.live, LiveErr: tc.liveErr, Now: statusNow, Loc: time.UTC}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("output shows %q:\n%s", a, out)
				}
			}
			checkGolden(t, tc.name, b.Bytes())
		})
	}
}

// enrolledStateDir is a state directory enrolled as device.
func enrolledStateDir(t *testing.T, device string) string {
	t.Helper()
	dir := t.TempDir()
	id, err := json.Marshal(uplink.Identity{DeviceID: device, Server: "vcguard.example:8443", Enrolled: statusNow})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statedir.Identity.Path(dir), id, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statedir.PolicyKey.Path(dir), make([]byte, 32), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeStatus(t *testing.T, st *agent.Status) string {
	t.Helper()
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "status.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// alive is a process table in which every writer runs.
func alive(pid int32) (proctable.ID, error) { return proctable.ID{PID: pid, Start: 1000}, nil }

// `status` shows a file only when it is the configured agent's: another
// agent's file (another device, a state directory not enrolled, or,
// where the state directory may not be read, another state directory)
// is named, not shown.
func TestShowStatusOtherAgent(t *testing.T) {
	t.Parallel()
	mine := enrolledStateDir(t, "dev-1")
	theirs := enrolledStateDir(t, "dev-2")
	notEnrolled := t.TempDir()
	for _, tc := range []struct {
		name     string
		stateDir string
		writer   string // the file's state directory
		device   string // the file's device
		want     []string
		absent   []string
	}{
		{name: "same agent", stateDir: mine, writer: mine, device: "dev-1",
			want: []string{"Agent:       running", "Zoom Workplace"}, absent: []string{"ANOTHER AGENT"}},
		{name: "another device", stateDir: mine, writer: theirs, device: "dev-2",
			want: []string{"belongs to ANOTHER AGENT: it is device dev-2's, and the state directory " + mine + " (flag --state-dir) is enrolled as device dev-1",
				"That agent (pid 4242, state directory " + theirs + ") is not shown", "State dir:   " + mine, "Device:      dev-1"},
			absent: []string{"Zoom Workplace", "Agent:       running"}},
		{name: "not enrolled", stateDir: notEnrolled, writer: theirs, device: "dev-2",
			want:   []string{"belongs to ANOTHER AGENT: it is device dev-2's, and the state directory " + notEnrolled + " (flag --state-dir) is not enrolled", "Not enrolled"},
			absent: []string{"Zoom Workplace"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := testStatus()
			st.Writer.StateDir, st.Device = tc.writer, tc.device
			path := writeStatus(t, st)
			c, err := parseHermetic("status", []string{"--state-dir", tc.stateDir, "--status-file", path}, noDefault(t))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := showStatus(&b, c, alive, statusNow, time.UTC); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.Contains(out, "Status file: "+path) {
				t.Errorf("output does not name the file %s:\n%s", path, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("output shows %q:\n%s", a, out)
				}
			}
		})
	}
}

// Where the state directory may not be read (status run by a user, the
// agent by root), the file's state directory decides.
func TestOtherAgentUnreadableStateDir(t *testing.T) {
	t.Parallel()
	denied := fmt.Errorf("read identity: %w", os.ErrPermission)
	same := func(a, b string) bool { return a == b }
	for _, tc := range []struct {
		name, configured, written string
		want                      string
	}{
		{"same directory", "/var/lib/vcguard", "/var/lib/vcguard", ""},
		{"older agent, no directory in the file", "/var/lib/vcguard", "", ""},
		{"another directory", "/home/dev/vcguard-data/agent", "/var/lib/vcguard", "it was written by the agent with state directory /var/lib/vcguard, not /home/dev/vcguard-data/agent (flag --state-dir)"},
	} {
		c := &config{StateDir: tc.configured, sources: map[string]string{"state_dir": "flag --state-dir"}}
		st := testStatus()
		st.Writer.StateDir = tc.written
		if got := otherAgent(c, st, nil, denied, same); got != tc.want {
			t.Errorf("%s: otherAgent = %q; want %q", tc.name, got, tc.want)
		}
	}
}

// helperEnv makes the test binary a stand-in agent process that waits
// until it is killed.
const helperEnv = "VCGUARD_STATUS_TEST_HELPER"

// TestStatusHelperProcess is the process TestStatusOfKilledProcess
// starts; run directly it does nothing.
func TestStatusHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("a helper process of TestStatusOfKilledProcess")
	}
	fmt.Println("ready")
	time.Sleep(10 * time.Minute) // until killed (a bare select{} is a deadlock the runtime ends)
}

// A status file written by a real process reads as running while the
// process runs, and as not running, without its apps, once it was killed.
func TestStatusOfKilledProcess(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStatusHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	go io.Copy(io.Discard, stdout)
	table := proctable.New(proctable.Config{})
	defer table.Close()
	pid := int32(cmd.Process.Pid)
	id, err := table.StartOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	stateDir := enrolledStateDir(t, "dev-1")
	st := testStatus()
	st.Writer.PID, st.Writer.Start, st.Writer.StateDir = pid, id.Start, stateDir
	st.Updated = time.Now().Add(-2 * time.Minute)
	path := writeStatus(t, st)
	c, err := parseHermetic("status", []string{"--state-dir", stateDir, "--status-file", path}, noDefault(t))
	if err != nil {
		t.Fatal(err)
	}
	show := func() string {
		var b bytes.Buffer
		if err := showStatus(&b, c, agent.LiveStartOf(table), time.Now(), time.Local); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if out := show(); !strings.Contains(out, fmt.Sprintf("Agent:       running, pid %d", pid)) || !strings.Contains(out, "Running:     Zoom Workplace") {
		t.Errorf("status of a running writer:\n%s", out)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	out := show()
	if !strings.Contains(out, "NOT RUNNING since") || !strings.Contains(out, "(2m ago) or later") || strings.Contains(out, "Zoom Workplace") {
		t.Errorf("status of a killed writer:\n%s", out)
	}
}

// The state directory a configuration file names is the one compared,
// and the message says where it came from.
func TestShowStatusOtherAgentFromConfigFile(t *testing.T) {
	t.Parallel()
	mine := enrolledStateDir(t, "dev-1")
	st := testStatus()
	st.Device = "dev-2"
	path := writeStatus(t, st)
	file := writeConfig(t, "state_dir: "+mine+"\nstatus_file: "+path+"\n")
	c, err := parseHermetic("status", []string{"--config", file}, noDefault(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := showStatus(&b, c, alive, statusNow, time.UTC); err != nil {
		t.Fatal(err)
	}
	want := "Status file: " + path + " belongs to ANOTHER AGENT: it is device dev-2's, and the state directory " + mine + " (file " + file + ") is enrolled as device dev-1"
	if out := b.String(); !strings.Contains(out, want) || strings.Contains(out, "Zoom Workplace") {
		t.Errorf("output lacks %q or shows the other agent's apps:\n%s", want, out)
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/var/lib/vcguard":             "/var/lib/vcguard",
		`C:\ProgramData\vcguard\state`: `C:\ProgramData\vcguard\state`,
		`C:\Program Files\vcguard`:     `"C:\Program Files\vcguard"`,
		"/home/a b/data":               `"/home/a b/data"`,
		"/tmp/it's $HOME":              `'/tmp/it'\''s $HOME'`,
		"":                             `""`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s; want %s", in, got, want)
		}
	}
}

func TestAgeText(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 42 * time.Second: "42s", 12*time.Minute + 5*time.Second: "12m",
		5*time.Hour + 12*time.Minute: "5h12m", 50 * time.Hour: "2 days",
	} {
		if got := ageText(d); got != want {
			t.Errorf("ageText(%v) = %q; want %q", d, got, want)
		}
	}
}
