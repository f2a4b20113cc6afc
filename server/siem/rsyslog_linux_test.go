package siem_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/siem"
	"github.com/vcguard/vcguard/server/store"
)

// Debian's rsyslog (with rsyslog-gnutls; a Linux daemon, so the test is
// Linux only) receives the export over TLS and
// parses it with its own RFC 5424 parser: every record arrives with its
// structured data, MSGID, HOSTNAME and body intact. Skipped without
// rsyslogd, unless VCGUARD_REQUIRE_RSYSLOG is set (CI).
func TestSyslogToRsyslog(t *testing.T) {
	t.Parallel()
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		rsyslogd = "/usr/sbin/rsyslogd"
		if _, err := os.Stat(rsyslogd); err != nil {
			if os.Getenv("VCGUARD_REQUIRE_RSYSLOG") != "" {
				t.Fatal("rsyslogd not found (apt-get install rsyslog rsyslog-gnutls)")
			}
			t.Skip("rsyslogd not found: apt-get install rsyslog rsyslog-gnutls, or set VCGUARD_REQUIRE_RSYSLOG to make this a failure")
		}
	}
	dir := t.TempDir()
	_, certFile, keyFile := testCertFor(t, x509.ExtKeyUsageServerAuth)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	out := filepath.Join(dir, "out.log")
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port=%q)
template(name="fields" type="list") {
  property(name="msgid") constant(value="\t")
  property(name="hostname") constant(value="\t")
  property(name="app-name") constant(value="\t")
  property(name="structured-data") constant(value="\t")
  property(name="msg") constant(value="\n")
}
action(type="omfile" file=%q template="fields")
`, dir, certFile, certFile, keyFile, port, out)
	confFile := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(rsyslogd, "-N1", "-f", confFile).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1 (config check): %v\n%s", err, b)
	}
	var logBuf bytes.Buffer
	cmd := exec.Command(rsyslogd, "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", logBuf.String())
		}
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pem)
	waitUntil(t, 20*time.Second, "rsyslogd to accept TLS on "+addr, func() bool {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
		if err != nil {
			return false
		}
		c.Close()
		return true
	})

	st, err := store.OpenSQLite(t.Context(), filepath.Join(dir, "vcguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ingest(t, st, "dev-a", 1, 20)
	if err := st.AppendAudit(t.Context(), store.AuditEntry{At: t0, Actor: `mal"ory]`, Action: "login_failure", Target: `x\y`, RemoteAddr: "192.0.2.9:4"}); err != nil {
		t.Fatal(err)
	}
	dest, err := siem.NewSyslog(siem.SyslogConfig{Addr: addr, CAFile: certFile, Format: siem.FormatECS, Hostname: "vcguard-server"})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, &siem.Exporter{Store: st, Dest: dest, Owner: "r", Logger: testLogger(t), Batch: 7, Poll: 20 * time.Millisecond})
	lines := func() []string {
		b, _ := os.ReadFile(out)
		var ls []string
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			ls = append(ls, sc.Text())
		}
		return ls
	}
	waitUntil(t, 30*time.Second, "rsyslogd to write 21 records", func() bool { return len(lines()) >= 21 })
	run.stop()
	seen := map[string]bool{}
	all := lines()
	t.Logf("rsyslog wrote %d lines; the last: %s", len(all), all[len(all)-1])
	for _, l := range all {
		f := strings.SplitN(l, "\t", 5)
		if len(f) != 5 {
			t.Fatalf("rsyslog line %q", l)
		}
		msgid, host, app, sd, msg := f[0], f[1], f[2], f[3], f[4]
		var doc map[string]any
		if err := json.Unmarshal([]byte(msg), &doc); err != nil {
			t.Fatalf("rsyslog's MSG is not the ECS document: %v\n%q", err, msg)
		}
		id, _ := get(doc, "event.id").(string)
		seen[id] = true
		if app != "vcguard" || msgid != get(doc, "event.action") {
			t.Errorf("%s: APP-NAME %q MSGID %q", id, app, msgid)
		}
		if !strings.HasPrefix(sd, "["+siem.SDID+" ") || !strings.Contains(sd, ` id="`+id+`"`) {
			t.Errorf("%s: structured data as rsyslog parsed it: %q", id, sd)
		}
		switch {
		case strings.HasPrefix(id, "event:"):
			if host != "host-dev-a" {
				t.Errorf("%s: HOSTNAME %q", id, host)
			}
		case strings.HasPrefix(id, "audit:"):
			if host != "vcguard-server" || !strings.Contains(sd, `actor="mal\"ory\]"`) || !strings.Contains(sd, `target="x\\y"`) {
				t.Errorf("%s: HOSTNAME %q, structured data %q", id, host, sd)
			}
		}
	}
	for seq := 1; seq <= 20; seq++ {
		if !seen[fmt.Sprintf("event:dev-a:%d", seq)] {
			t.Errorf("event %d not in rsyslog's output", seq)
		}
	}
	if len(seen) != 21 {
		t.Errorf("%d distinct records in rsyslog's output, want 21", len(seen))
	}
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
