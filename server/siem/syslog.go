package siem

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The RFC 5424 formatter below is written by hand: the format is a header
// line and one structured-data element, and the standard library's
// log/syslog speaks only the older BSD format over plain TCP/UDP. The Go
// syslog libraries found are parsers first (the formatter being a side
// feature) and have not been released for years; the code here is smaller
// than the review of one of them, and a test receiver parses what it writes.

// SDID is the structured-data element the records' key fields go in. 32473
// is the private enterprise number RFC 5612 reserves for documentation and
// examples: vcguard has none of its own, and the number only has to be the
// same in the SIEM's parsing rule (docs/siem.md).
const SDID = "vcguard@32473"

// Syslog facility and severities used (RFC 5424 section 6.2.1).
const (
	facilityLogAudit = 13
	severityWarning  = 4
	severityNotice   = 5
	severityInfo     = 6
)

// RFC5424 formats one syslog message: PRI, version 1, the record's time,
// HOSTNAME (the device for an event, host for an audit entry), APP-NAME
// "vcguard", no PROCID, MSGID the action, one SD element with the key
// fields, and body as MSG (no BOM: CEF readers expect "CEF:" first).
func RFC5424(r Record, host string, body []byte) []byte {
	sev := severityInfo
	switch s := r.Severity(); {
	case s >= 5:
		sev = severityWarning
	case s >= 3:
		sev = severityNotice
	}
	if r.Kind == KindEvent && r.Hostname != "" {
		host = r.Hostname
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s vcguard - %s [%s", facilityLogAudit*8+sev,
		r.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		headerField(host, 255), headerField(r.Action, 32), SDID)
	param := func(name, v string) {
		if v != "" {
			b.WriteString(" " + name + `="` + sdEscaper.Replace(v) + `"`)
		}
	}
	param("id", r.ID)
	param("kind", r.Kind)
	param("action", r.Action)
	if r.Kind == KindEvent {
		param("device", r.Device)
		param("seq", strconv.FormatUint(r.Seq, 10))
		param("app", r.AppID)
		param("verdict", r.Verdict)
	} else {
		param("actor", r.Actor)
		param("target", r.Target)
		param("src", hostIP(r.RemoteAddr))
	}
	b.WriteString("] ")
	out := make([]byte, 0, b.Len()+len(body))
	return append(append(out, b.String()...), body...)
}

// sdEscaper escapes a PARAM-VALUE (RFC 5424 section 6.3.3).
var sdEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`)

// headerField makes s a valid header field: printable US-ASCII without
// spaces, at most max characters, "-" when empty.
func headerField(s string, max int) string {
	b := []byte(s)
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	if len(b) > max {
		b = b[:max]
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// SyslogConfig configures a syslog-over-TLS destination.
type SyslogConfig struct {
	// Addr is host:port of the receiver (RFC 5425 uses 6514).
	Addr string
	// CAFile holds the PEM certificates that sign the receiver's; empty
	// uses the system's roots.
	CAFile string
	// CertFile and KeyFile, when set, are the client certificate and key
	// presented to a receiver that asks for one.
	CertFile, KeyFile string
	// Format is what MSG holds.
	Format Format
	// Hostname is the HOSTNAME of audit entries (the server's name).
	Hostname string
	// Version is the server's version, for CEF.
	Version string
	// Timeout bounds a connection attempt and each batch's write.
	Timeout time.Duration
}

// Syslog delivers records to a syslog receiver over TLS, one octet-counted
// RFC 5424 message each (RFC 5425 / RFC 6587 section 3.4.1). A batch counts
// as delivered once written and flushed to the TLS connection: syslog has no
// acknowledgement, so records in flight when the connection breaks are
// resent with the batch (the receiver may see them twice).
type Syslog struct {
	cfg  SyslogConfig
	tls  *tls.Config
	conn *tls.Conn
	w    *bufio.Writer
}

// NewSyslog checks cfg and reads its certificates; it connects on the first
// Send.
func NewSyslog(cfg SyslogConfig) (*Syslog, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("syslog address %q: want host:port: %w", cfg.Addr, err)
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("syslog CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("syslog CA file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("syslog client certificate: give both the certificate and the key file, or neither")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("syslog client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Format == "" {
		cfg.Format = FormatECS
	}
	return &Syslog{cfg: cfg, tls: tc}, nil
}

// Name names the destination in the cursor table, logs and metrics.
func (s *Syslog) Name() string { return "syslog:" + s.cfg.Addr }

// Send writes recs and flushes them. On an error the connection is closed;
// the next Send reconnects (the Exporter retries with backoff).
func (s *Syslog) Send(ctx context.Context, recs []Record) error {
	if s.conn != nil && !s.alive() {
		s.Close()
	}
	if s.conn == nil {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: s.cfg.Timeout}, Config: s.tls}
		c, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
		if err != nil {
			return fmt.Errorf("connect to syslog receiver %s: %w", s.cfg.Addr, err)
		}
		s.conn, s.w = c.(*tls.Conn), bufio.NewWriterSize(c, 64<<10)
	}
	deadline := time.Now().Add(s.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.conn.SetWriteDeadline(deadline)
	err := func() error {
		for _, r := range recs {
			body, err := s.cfg.Format.Encode(r, s.cfg.Version)
			if err != nil {
				return fmt.Errorf("encode %s: %w", r.ID, err)
			}
			msg := RFC5424(r, s.cfg.Hostname, body)
			if _, err := s.w.WriteString(strconv.Itoa(len(msg)) + " "); err != nil {
				return err
			}
			if _, err := s.w.Write(msg); err != nil {
				return err
			}
		}
		return s.w.Flush()
	}()
	if err != nil {
		s.Close()
		return fmt.Errorf("send to syslog receiver %s: %w", s.cfg.Addr, err)
	}
	return nil
}

// alive reports whether the receiver has not closed the connection. A
// receiver that restarted closed it while idle; the first write to it would
// still succeed (the kernel accepts it) and the batch would count as
// delivered, so this looks for the close first: a read that finds the end
// of the stream (or an error) within a millisecond. Receivers send nothing,
// so a read that times out means the connection is open.
func (s *Syslog) alive() bool {
	s.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	_, err := s.conn.Read(b[:])
	s.conn.SetReadDeadline(time.Time{})
	var ne net.Error
	return err == nil || (errors.As(err, &ne) && ne.Timeout())
}

// Close closes the connection, if any.
func (s *Syslog) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn, s.w = nil, nil
	return err
}
