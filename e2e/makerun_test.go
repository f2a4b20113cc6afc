package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `make run` (scripts/run-local.sh) prints the exact commands for its own
// agent and server, and a second run on the same data directory says the
// first is running and starts nothing (it used to pass the health check of
// the first server, start a second agent on the same state directory and
// fail on the port).
func TestMakeRunTwice(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	script, err := filepath.Abs("../scripts/run-local.sh")
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "VCGUARD_BIN="+binDir, "VCGUARD_HTTP_ADDR="+freeAddr(t), "VCGUARD_GRPC_ADDR="+freeAddr(t))
	first := exec.Command(script, data)
	first.Env = env
	first.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	first.Stderr = nil
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-first.Process.Pid, syscall.SIGTERM)
		first.Wait()
	})
	banner := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Press Ctrl-C to stop.") {
				banner <- b.String()
			}
		}
	}()
	var text string
	select {
	case text = <-banner:
	case <-time.After(60 * time.Second):
		t.Fatal("make run printed no banner within 60 s")
	}
	for _, want := range []string{"vcguard is running.", "status --state-dir", "notifier --socket", "vcguardctl --server https://", "Dashboard:  https://"} {
		if !strings.Contains(text, want) {
			t.Errorf("banner lacks %q:\n%s", want, text)
		}
	}
	// The printed vcguardctl command works as printed.
	ctl := regexp.MustCompile(`Command line: +(.+)`).FindStringSubmatch(text)
	if ctl == nil {
		t.Fatalf("no command line in the banner:\n%s", text)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "bash", "-c", ctl[1]).CombinedOutput(); err != nil || !strings.Contains(string(b), "HOSTNAME") && !strings.Contains(string(b), "ID") {
		t.Errorf("the printed command %s: %v\n%s", ctl[1], err, b)
	}

	second := exec.CommandContext(ctx, script, data)
	second.Env = env
	b, err := second.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "already running from "+data) || strings.Contains(string(b), "vcguard is running.") {
		t.Errorf("second make run: %v\n%s", err, b)
	}
	if n := strings.Count(pgrepAll(t, "vcguard-server", data), "\n"); n != 1 {
		t.Errorf("%d servers run on %s after the second make run, want 1", n, data)
	}
}

// pgrepAll lists the processes named name whose command line holds arg.
func pgrepAll(t *testing.T, name, arg string) string {
	t.Helper()
	b, _ := exec.Command("pgrep", "-a", "-x", name).Output()
	var out strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, arg) {
			out.WriteString(line + "\n")
		}
	}
	return out.String()
}
