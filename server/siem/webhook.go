package siem

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

// Webhook headers. The signature is HMAC-SHA256, keyed with the shared
// secret, of the timestamp, a ".", and the body; a receiver recomputes it,
// compares in constant time, and refuses a timestamp more than a few minutes
// away from its clock, so a recorded request cannot be replayed later.
const (
	HeaderTimestamp = "X-Vcguard-Timestamp"
	HeaderSignature = "X-Vcguard-Signature" // "sha256=" and the hex HMAC
)

// minSecretSize is the fewest bytes a webhook secret may have.
const minSecretSize = 32

// Sign returns the X-Vcguard-Signature value of body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's signature and that its timestamp lies within
// skew of now: what a receiver does (the tests use it; docs/siem.md shows it).
func Verify(secret []byte, tsHeader, sigHeader string, body []byte, now time.Time, skew time.Duration) error {
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q: not a Unix time", HeaderTimestamp, tsHeader)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > skew || d < -skew {
		return fmt.Errorf("%s %d: %v away from now, more than %v", HeaderTimestamp, ts, d.Round(time.Second), skew)
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sigHeader)) {
		return fmt.Errorf("%s: does not match the body", HeaderSignature)
	}
	return nil
}

// LoadSecret reads a webhook secret file: at least 32 bytes (surrounding
// white space is not part of it), readable by its owner only on Unix.
func LoadSecret(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--siem-webhook-secret-file: %w", err)
	}
	if err := checkSecretPrivate(path, info); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--siem-webhook-secret-file: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) < minSecretSize {
		return nil, fmt.Errorf("--siem-webhook-secret-file %s: holds %d bytes, at least %d are needed (e.g. head -c 32 /dev/urandom | base64 > %s)",
			path, len(data), minSecretSize, path)
	}
	return data, nil
}

// WebhookConfig configures an HTTPS webhook destination.
type WebhookConfig struct {
	// URL is the https:// address batches are POSTed to.
	URL string
	// Secret keys the HMAC signature.
	Secret []byte
	// CAFile, when set, holds the PEM certificates that sign the
	// receiver's; empty uses the system's roots.
	CAFile string
	// Format of each record in the batch.
	Format Format
	// Version is the server's version, for CEF.
	Version string
	// Timeout bounds one request.
	Timeout time.Duration
}

// RejectedError is a webhook answer that retrying the same batch will not
// change (a 4xx other than 408 and 429: a wrong secret, a body the receiver
// refuses). The Exporter keeps the batch, and keeps trying it at its longest
// backoff, counting and logging every refusal, until the receiver is fixed:
// nothing is skipped. A 413 (too large) makes it halve its batches instead.
type RejectedError struct {
	Status int
	Body   string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("webhook refused the batch with status %d: %s", e.Status, e.Body)
}

// Webhook POSTs each batch as one JSON document {"records": [...]}: ECS
// objects, or CEF lines as strings. A 2xx answer acknowledges the batch.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
}

// NewWebhook checks cfg.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("SIEM webhook %q: want an https:// URL", cfg.URL)
	}
	if len(cfg.Secret) < minSecretSize {
		return nil, fmt.Errorf("SIEM webhook %s: a secret of at least %d bytes is needed (--siem-webhook-secret-file)", u.Redacted(), minSecretSize)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("SIEM webhook CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SIEM webhook CA file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Format == "" {
		cfg.Format = FormatECS
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.Proxy = http.ProxyFromEnvironment
	return &Webhook{cfg: cfg, client: &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// A redirect would resend the signed body elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Name names the destination in the cursor table, logs and metrics: the
// URL without its query or user information (which may hold a token).
func (w *Webhook) Name() string {
	u, _ := url.Parse(w.cfg.URL)
	return "webhook:" + u.Scheme + "://" + u.Host + u.Path
}

// Body encodes recs as a webhook request body.
func (w *Webhook) Body(recs []Record) ([]byte, error) {
	items := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		b, err := w.cfg.Format.Encode(r, w.cfg.Version)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", r.ID, err)
		}
		if w.cfg.Format == FormatCEF {
			if b, err = json.Marshal(string(b)); err != nil {
				return nil, err
			}
		}
		items[i] = b
	}
	return json.Marshal(map[string]any{"records": items})
}

// Send POSTs recs; nil means the receiver answered 2xx. A 4xx other than
// 408 and 429 is a *RejectedError; anything else (5xx, 408, 429, a broken
// connection, a timeout) is worth retrying.
func (w *Webhook) Send(ctx context.Context, recs []Record) error {
	body, err := w.Body(recs)
	if err != nil {
		return err
	}
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a token; Name says where
		}
		return fmt.Errorf("post to %s: %w", w.Name(), err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return &RejectedError{Status: resp.StatusCode, Body: string(bytes.ToValidUTF8(msg, []byte("?")))}
	}
	return fmt.Errorf("post to %s: status %d: %s", w.Name(), resp.StatusCode, bytes.ToValidUTF8(msg, []byte("?")))
}

// Close releases idle connections.
func (w *Webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}
