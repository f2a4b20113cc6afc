package siem_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// This file is a real syslog-over-TLS receiver for the tests: it accepts
// TLS connections, splits the stream into octet-counted frames (RFC 6587
// section 3.4.1, RFC 5425) and parses each as RFC 5424.

// maxFrame is the largest frame the receiver accepts.
const maxFrame = 1 << 20

// readFrame reads one "MSG-LEN SP SYSLOG-MSG" frame.
func readFrame(r *bufio.Reader) ([]byte, error) {
	n := 0
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if c == ' ' && i > 0 {
			break
		}
		if c < '0' || c > '9' || (i == 0 && c == '0') {
			return nil, fmt.Errorf("frame length: byte %q at %d is not a digit", c, i)
		}
		n = n*10 + int(c-'0')
		if n > maxFrame {
			return nil, fmt.Errorf("frame length above %d", maxFrame)
		}
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, fmt.Errorf("frame of %d bytes: %w", n, err)
	}
	return msg, nil
}

// syslogMsg is a parsed RFC 5424 message.
type syslogMsg struct {
	Pri                              int
	Timestamp                        time.Time
	Hostname, AppName, ProcID, MsgID string
	SD                               map[string]map[string]string
	Msg                              []byte
}

// parseRFC5424 parses one message (RFC 5424 section 6), strictly.
func parseRFC5424(b []byte) (syslogMsg, error) {
	var m syslogMsg
	if len(b) < 2 || b[0] != '<' {
		return m, errors.New("no PRI")
	}
	end := bytes.IndexByte(b, '>')
	if end < 2 || end > 4 {
		return m, errors.New("bad PRI")
	}
	pri, err := strconv.Atoi(string(b[1:end]))
	if err != nil || pri > 191 || (end > 2 && b[1] == '0') {
		return m, fmt.Errorf("bad PRI %q", b[1:end])
	}
	m.Pri = pri
	rest := b[end+1:]
	field := func(what string, max int) (string, error) {
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			return "", fmt.Errorf("%s: no space after it", what)
		}
		f := rest[:i]
		rest = rest[i+1:]
		if len(f) == 0 || len(f) > max {
			return "", fmt.Errorf("%s: length %d", what, len(f))
		}
		for _, c := range f {
			if c < 33 || c > 126 {
				return "", fmt.Errorf("%s: byte %q", what, c)
			}
		}
		return string(f), nil
	}
	if v, err := field("VERSION", 2); err != nil || v != "1" {
		return m, fmt.Errorf("VERSION %q: %v", v, err)
	}
	ts, err := field("TIMESTAMP", 32)
	if err != nil {
		return m, err
	}
	if ts != "-" {
		if m.Timestamp, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return m, fmt.Errorf("TIMESTAMP: %w", err)
		}
	}
	if m.Hostname, err = field("HOSTNAME", 255); err != nil {
		return m, err
	}
	if m.AppName, err = field("APP-NAME", 48); err != nil {
		return m, err
	}
	if m.ProcID, err = field("PROCID", 128); err != nil {
		return m, err
	}
	if m.MsgID, err = field("MSGID", 32); err != nil {
		return m, err
	}
	m.SD = map[string]map[string]string{}
	if len(rest) > 0 && rest[0] == '-' {
		rest = rest[1:]
	} else {
		for len(rest) > 0 && rest[0] == '[' {
			rest = rest[1:]
			i := bytes.IndexAny(rest, " ]")
			if i <= 0 {
				return m, errors.New("SD-ID")
			}
			id := string(rest[:i])
			if _, dup := m.SD[id]; dup {
				return m, fmt.Errorf("SD-ID %s twice", id)
			}
			params := map[string]string{}
			m.SD[id] = params
			rest = rest[i:]
			for len(rest) > 0 && rest[0] == ' ' {
				rest = rest[1:]
				eq := bytes.IndexByte(rest, '=')
				if eq <= 0 || eq > 32 || eq+1 >= len(rest) || rest[eq+1] != '"' {
					return m, errors.New("SD-PARAM name")
				}
				name := string(rest[:eq])
				rest = rest[eq+2:]
				var v []byte
				closed := false
				for j := 0; j < len(rest); j++ {
					c := rest[j]
					if c == '\\' && j+1 < len(rest) && (rest[j+1] == '"' || rest[j+1] == '\\' || rest[j+1] == ']') {
						v = append(v, rest[j+1])
						j++
						continue
					}
					if c == '"' {
						rest, closed = rest[j+1:], true
						break
					}
					if c == ']' {
						return m, errors.New("SD-PARAM value: unescaped ]")
					}
					v = append(v, c)
				}
				if !closed {
					return m, errors.New("SD-PARAM value not closed")
				}
				params[name] = string(v)
			}
			if len(rest) == 0 || rest[0] != ']' {
				return m, errors.New("SD-ELEMENT not closed")
			}
			rest = rest[1:]
		}
		if len(m.SD) == 0 {
			return m, errors.New("no STRUCTURED-DATA")
		}
	}
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return m, errors.New("no space before MSG")
		}
		m.Msg = rest[1:]
	}
	return m, nil
}

// testCert makes a self-signed certificate for 127.0.0.1 and writes it as
// a CA file.
func testCert(t testing.TB) (tls.Certificate, string) {
	t.Helper()
	cert, certFile, _ := testCertFor(t, x509.ExtKeyUsageServerAuth)
	return cert, certFile
}

// testCertFor makes a self-signed certificate for 127.0.0.1 with usage eku
// and writes it and its key as PEM files.
func testCertFor(t testing.TB, eku x509.ExtKeyUsage) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test receiver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{eku},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile, keyFile
}

// syslogReceiver is a TLS syslog server that keeps every message.
type syslogReceiver struct {
	t      testing.TB
	ln     net.Listener
	CAFile string
	mu     sync.Mutex
	msgs   []syslogMsg
	conns  int
	open   map[net.Conn]bool
	notify chan struct{}
	wg     sync.WaitGroup
}

func newSyslogReceiver(t testing.TB) *syslogReceiver {
	return newSyslogReceiverTLS(t, nil)
}

// newSyslogReceiverTLS starts a receiver that, when clientCAs is set,
// requires a client certificate signed by one of them.
func newSyslogReceiverTLS(t testing.TB, clientCAs *x509.CertPool) *syslogReceiver {
	t.Helper()
	cert, caFile := testCert(t)
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		tc.ClientCAs, tc.ClientAuth = clientCAs, tls.RequireAndVerifyClientCert
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tc)
	if err != nil {
		t.Fatal(err)
	}
	r := &syslogReceiver{t: t, ln: ln, CAFile: caFile, notify: make(chan struct{}, 1), open: map[net.Conn]bool{}}
	r.wg.Go(r.serve)
	t.Cleanup(func() { ln.Close(); r.wg.Wait() })
	return r
}

func (r *syslogReceiver) Addr() string { return r.ln.Addr().String() }

func (r *syslogReceiver) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns++
		r.open[c] = true
		r.mu.Unlock()
		r.wg.Go(func() {
			defer func() {
				c.Close()
				r.mu.Lock()
				delete(r.open, c)
				r.mu.Unlock()
			}()
			go func() { <-r.t.Context().Done(); c.Close() }()
			br := bufio.NewReader(c)
			for {
				frame, err := readFrame(br)
				if err != nil {
					if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
						r.t.Logf("syslog receiver: %v", err)
					}
					return
				}
				m, err := parseRFC5424(frame)
				if err != nil {
					r.t.Errorf("syslog receiver: message %q: %v", frame, err)
					return
				}
				r.mu.Lock()
				r.msgs = append(r.msgs, m)
				r.mu.Unlock()
				select {
				case r.notify <- struct{}{}:
				default:
				}
			}
		})
	}
}

// dropConnections closes every open connection, as a receiver restarting
// does, and returns how many there were.
func (r *syslogReceiver) dropConnections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.open {
		c.Close()
	}
	return len(r.open)
}

// connections is how many connections were accepted.
func (r *syslogReceiver) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// Messages returns a copy of what was received.
func (r *syslogReceiver) Messages() []syslogMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]syslogMsg(nil), r.msgs...)
}

// waitFor waits until cond holds for the messages received.
func (r *syslogReceiver) waitFor(t testing.TB, what string, cond func([]syslogMsg) bool) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if cond(r.Messages()) {
			return
		}
		select {
		case <-r.notify:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("syslog receiver: timed out waiting for %s (%d messages)", what, len(r.Messages()))
		}
	}
}

func TestReadFrameAndParse(t *testing.T) {
	ok := "<109>1 2026-12-06T15:00:00.000001Z host vcguard - app_started [vcguard@32473 id=\"event:d:1\" x=\"a\\\"b\\]c\\\\\"] {\"a\":1}"
	for _, tc := range []struct {
		in      string
		wantErr bool
	}{
		{fmt.Sprintf("%d %s", len(ok), ok), false},
		{"0 ", true},
		{"01 x", true},
		{"x ", true},
		{"5 abc", true},
		{"99999999999 ", true},
		{"5 <1>1 - - - - -", true}, // framed body shorter than the message: the parse of "<1>1 " fails
	} {
		f, err := readFrame(bufio.NewReader(bytes.NewBufferString(tc.in)))
		if err == nil {
			_, err = parseRFC5424(f)
		}
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err %v, want error %v", tc.in, err, tc.wantErr)
		}
	}
	m, err := parseRFC5424([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.SD["vcguard@32473"]["x"]; got != `a"b]c\` {
		t.Errorf("escaped SD value: %q", got)
	}
	if m.Pri != 109 || m.Hostname != "host" || m.MsgID != "app_started" || string(m.Msg) != `{"a":1}` {
		t.Errorf("parsed %+v", m)
	}
}

// FuzzSyslogParse feeds arbitrary bytes to the receiver's frame reader and
// RFC 5424 parser: they must return an error, never panic or hang.
func FuzzSyslogParse(f *testing.F) {
	f.Add([]byte("10 <13>1 - - - - - -"))
	f.Add([]byte(`60 <109>1 2026-12-06T15:00:00Z h vcguard - m [a@1 b="c\]"] x`))
	f.Add([]byte("3 abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for range 4 {
			frame, err := readFrame(r)
			if err != nil {
				return
			}
			parseRFC5424(frame)
		}
	})
}
