package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"

	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/siem"
	"github.com/vcguard/vcguard/server/store"
)

// siemConfig is the SIEM export's part of the configuration (docs/siem.md).
type siemConfig struct {
	Syslog, SyslogCA, SyslogCert, SyslogKey string
	Webhook, WebhookSecretFile, WebhookCA   string
	// Format is the default of both destinations; SyslogFormat and
	// WebhookFormat, when set, override it for one.
	Format, SyslogFormat, WebhookFormat string
}

func (c *siemConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Syslog, "siem-syslog", "", "stream every event and audit entry to this syslog receiver over TLS (RFC 5424, octet counting), "+
		"as tls://HOST:PORT (usually port 6514); empty exports nothing there")
	fs.StringVar(&c.SyslogCA, "siem-syslog-ca", "", "PEM file of the CA that signs the syslog receiver's certificate (default: the system's roots)")
	fs.StringVar(&c.SyslogCert, "siem-syslog-cert", "", "PEM client certificate for a syslog receiver that asks for one (with --siem-syslog-key)")
	fs.StringVar(&c.SyslogKey, "siem-syslog-key", "", "PEM private key of --siem-syslog-cert")
	fs.StringVar(&c.Webhook, "siem-webhook", "", "stream every event and audit entry to this HTTPS URL, as signed JSON batches; empty exports nothing there")
	fs.StringVar(&c.WebhookSecretFile, "siem-webhook-secret-file", "", "file with the webhook's HMAC-SHA256 secret (32+ bytes, mode 0600); required with --siem-webhook")
	fs.StringVar(&c.WebhookCA, "siem-webhook-ca", "", "PEM file of the CA that signs the webhook receiver's certificate (default: the system's roots)")
	fs.StringVar(&c.Format, "siem-format", "ecs", "what the SIEM export sends: ecs (Elastic Common Schema JSON) or cef (ArcSight CEF lines)")
	fs.StringVar(&c.SyslogFormat, "siem-syslog-format", "", "ecs or cef for the syslog destination only (default: --siem-format)")
	fs.StringVar(&c.WebhookFormat, "siem-webhook-format", "", "ecs or cef for the webhook only (default: --siem-format)")
}

// formatOf returns a destination's format: its own flag, else --siem-format.
func (c *siemConfig) formatOf(own, flagName string) (siem.Format, error) {
	v := c.Format
	if own != "" {
		v = own
	} else {
		flagName = "--siem-format"
	}
	f, err := siem.ParseFormat(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	return f, nil
}

// syslogAddr returns HOST:PORT of a tls://HOST:PORT value.
func syslogAddr(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "tls" || u.Host == "" || u.Path != "" || u.User != nil {
		return "", fmt.Errorf("--siem-syslog %q: want tls://HOST:PORT (syslog over TLS, RFC 5425)", v)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return "", fmt.Errorf("--siem-syslog %q: want tls://HOST:PORT, with the port (usually 6514)", v)
	}
	return u.Host, nil
}

// Validate checks the SIEM flags; files are read when the server starts.
func (c *siemConfig) Validate() error {
	if _, err := c.formatOf(c.SyslogFormat, "--siem-syslog-format"); err != nil {
		return err
	}
	if _, err := c.formatOf(c.WebhookFormat, "--siem-webhook-format"); err != nil {
		return err
	}
	if c.Syslog != "" {
		if _, err := syslogAddr(c.Syslog); err != nil {
			return err
		}
	}
	if (c.SyslogCert == "") != (c.SyslogKey == "") {
		return errors.New("--siem-syslog-cert and --siem-syslog-key go together")
	}
	if c.Webhook != "" {
		if u, err := url.Parse(c.Webhook); err != nil || u.Scheme != "https" || u.Host == "" {
			return errors.New("--siem-webhook: want an https:// URL")
		}
		if c.WebhookSecretFile == "" {
			return errors.New("--siem-webhook needs --siem-webhook-secret-file (32+ random bytes, mode 0600, e.g. head -c 32 /dev/urandom | base64 > FILE)")
		}
	}
	return nil
}

// destinations builds the configured SIEM destinations.
func (c *siemConfig) destinations(hostname string) ([]siem.Destination, error) {
	var out []siem.Destination
	if c.Syslog != "" {
		addr, err := syslogAddr(c.Syslog)
		if err != nil {
			return nil, err
		}
		format, err := c.formatOf(c.SyslogFormat, "--siem-syslog-format")
		if err != nil {
			return nil, err
		}
		d, err := siem.NewSyslog(siem.SyslogConfig{Addr: addr, CAFile: c.SyslogCA, CertFile: c.SyslogCert, KeyFile: c.SyslogKey,
			Format: format, Hostname: hostname, Version: version})
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if c.Webhook != "" {
		secret, err := siem.LoadSecret(c.WebhookSecretFile)
		if err != nil {
			return nil, err
		}
		format, err := c.formatOf(c.WebhookFormat, "--siem-webhook-format")
		if err != nil {
			return nil, err
		}
		d, err := siem.NewWebhook(siem.WebhookConfig{URL: c.Webhook, Secret: secret, CAFile: c.WebhookCA, Format: format, Version: version})
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// startSIEM starts one exporter per configured destination; the returned
// function stops them (call it before the store closes).
func startSIEM(ctx context.Context, c *siemConfig, st *store.Store, met *metrics.Metrics, logger *slog.Logger) (func(), error) {
	hostname, _ := os.Hostname()
	dests, err := c.destinations(hostname)
	if err != nil || len(dests) == 0 {
		return func() {}, err
	}
	m := siem.NewMetrics(met.Registry())
	// The lease names this process: replicas on one database take turns,
	// and a replica that crashed leaves its lease to expire. SQLite has one
	// server: it takes its own lease back at once after a crash.
	owner := hostname + "/" + rand.Text()[:10]
	if !st.Shared() {
		owner = "the only server (sqlite)"
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	log := logger.With("component", "siem")
	for _, d := range dests {
		e := &siem.Exporter{Store: st, Dest: d, Owner: owner, Logger: log, Metrics: m}
		log.Info("SIEM export configured", "destination", d.Name())
		wg.Go(func() { e.Run(ctx) })
	}
	return func() {
		cancel()
		wg.Wait()
	}, nil
}
