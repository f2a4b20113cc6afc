//go:build linux

// Package pwtest starts a private PipeWire session for tests: a session
// D-Bus, pipewire and wireplumber in a private runtime directory laid out
// like /run/user/<uid>, with a null audio source "test-mic" and a null
// sink "test-sink"; optionally pipewire-pulse, as on a PulseAudio system.
// Used by agent/devices and e2e.
package pwtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireEnv makes a missing tool a failure instead of a skip, as CI wants.
const RequireEnv = "VCGUARD_REQUIRE_PIPEWIRE"

// NeedTools skips the test (fails it with RequireEnv=1) when a tool is
// missing.
func NeedTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " not found: install pipewire, pipewire-bin, wireplumber, pipewire-pulse, pulseaudio-utils, dbus-daemon and util-linux to run this test"
			if os.Getenv(RequireEnv) == "1" {
				t.Fatalf("%s (and %s=1)", msg, RequireEnv)
			}
			t.Skipf("%s (set %s=1 to make this an error)", msg, RequireEnv)
		}
	}
}

// Session is a private PipeWire session.
type Session struct {
	Base   string   // the directory holding <uid>/, as /run/user
	RunDir string   // the PipeWire daemon's XDG_RUNTIME_DIR
	Env    []string // for the daemons and clients
}

func isSocket(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startDaemon starts a daemon for the test, its output to a log shown
// on failure, stopped when the test ends.
func startDaemon(t testing.TB, env []string, logDir, name string, args ...string) *exec.Cmd {
	t.Helper()
	logPath := filepath.Join(logDir, filepath.Base(name)+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return cmd
}

// Start runs dbus-daemon, pipewire and wireplumber as this user
// in a private runtime directory and creates a null audio source
// "test-mic" and a null sink "test-sink". With pulse, the PipeWire
// socket lives outside base and the user's directory base/<uid> holds
// only pipewire-pulse's socket, as on a PulseAudio system.
func Start(t testing.TB, pulse bool) Session {
	t.Helper()
	NeedTools(t, "pipewire", "wireplumber", "pw-dump", "pw-cli", "pw-record", "dbus-daemon")
	if pulse {
		NeedTools(t, "pipewire-pulse", "pactl", "parec")
	}
	// Short paths: unix socket paths are limited to about 100 bytes.
	base, err := os.MkdirTemp("", "vcg-pw-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	userDir := filepath.Join(base, strconv.Itoa(os.Geteuid()))
	e := Session{Base: base, RunDir: userDir}
	if pulse {
		e.RunDir = filepath.Join(base, "pw")
	}
	home := filepath.Join(base, "home")
	for _, d := range []string{userDir, e.RunDir, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	bus := filepath.Join(base, "bus")
	e.Env = []string{
		"XDG_RUNTIME_DIR=" + e.RunDir, "HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "XDG_STATE_HOME=" + filepath.Join(home, ".state"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".data"), "DBUS_SESSION_BUS_ADDRESS=unix:path=" + bus,
	}
	startDaemon(t, e.Env, base, "dbus-daemon", "--session", "--nofork", "--address=unix:path="+bus)
	waitFor(t, 5*time.Second, "the session bus socket", func() bool { return isSocket(bus) })
	startDaemon(t, e.Env, base, "pipewire")
	waitFor(t, 5*time.Second, "the pipewire-0 socket", func() bool { return isSocket(filepath.Join(e.RunDir, "pipewire-0")) })
	startDaemon(t, e.Env, base, "wireplumber")
	waitFor(t, 10*time.Second, "wireplumber", func() bool { return bytes.Contains(e.PWDump(t), []byte(`"WirePlumber"`)) })
	for _, args := range [][]string{
		{"create-node", "adapter", "{ factory.name=support.null-audio-sink node.name=test-mic media.class=Audio/Source/Virtual object.linger=true audio.position=[FL FR] }"},
		{"create-node", "adapter", "{ factory.name=support.null-audio-sink node.name=test-sink media.class=Audio/Sink object.linger=true audio.position=[FL FR] }"},
	} {
		cmd := exec.Command("pw-cli", args...)
		cmd.Env = e.Env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pw-cli %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	waitFor(t, 5*time.Second, "the null source and sink", func() bool {
		d := e.PWDump(t)
		return bytes.Contains(d, []byte(`"node.name": "test-mic"`)) && bytes.Contains(d, []byte(`"node.name": "test-sink"`))
	})
	if pulse {
		penv := append(slices.Clone(e.Env), "PULSE_RUNTIME_PATH="+filepath.Join(userDir, "pulse"))
		startDaemon(t, penv, base, "pipewire-pulse")
		waitFor(t, 5*time.Second, "the pulse/native socket", func() bool { return isSocket(filepath.Join(userDir, "pulse", "native")) })
	}
	return e
}

// PWDump returns pw-dump's output for the session.
func (e Session) PWDump(t testing.TB) []byte {
	cmd := exec.Command("pw-dump", "--no-colors")
	cmd.Env = e.Env
	out, _ := cmd.Output()
	return out
}
