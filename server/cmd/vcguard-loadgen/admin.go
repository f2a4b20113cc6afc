package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// adminClient calls the server's JSON API with the admin token.
type adminClient struct {
	base   string
	token  string
	client *http.Client
}

func newAdminClient(addr, token string, roots *x509.CertPool, serverName string) *adminClient {
	return &adminClient{base: "https://" + addr, token: token, client: &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: serverName},
			MaxIdleConnsPerHost: 32,
		},
	}}
}

// do calls method path with body and decodes a 2xx answer into v.
func (c *adminClient) do(ctx context.Context, method, path string, body []byte, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// policyJSON is the part of a policy version the load generator reads.
type policyJSON struct {
	Version  uint64 `json:"version"`
	Document string `json:"document"`
}

// currentPolicy returns the current policy version and document.
func (c *adminClient) currentPolicy(ctx context.Context) (policyJSON, error) {
	var p policyJSON
	err := c.do(ctx, http.MethodGet, "/api/v1/policies/current", nil, &p)
	return p, err
}

// publish publishes doc as a new policy version, as an administrator (or
// vcguardctl policy apply) does, and returns its version.
func (c *adminClient) publish(ctx context.Context, doc []byte) (uint64, error) {
	var p policyJSON
	err := c.do(ctx, http.MethodPost, "/api/v1/policies?comment=vcguard-loadgen+publish+latency+probe", doc, &p)
	return p.Version, err
}

// eventsStored returns the events stored of a device as
// GET /api/v1/devices/{id} reports them ("events_stored"); ok is false when
// the server does not report the count.
func (c *adminClient) eventsStored(ctx context.Context, deviceID string) (n int64, ok bool, err error) {
	var dev struct {
		EventsStored *int64 `json:"events_stored"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/devices/"+url.PathEscape(deviceID), nil, &dev); err != nil {
		return 0, false, err
	}
	if dev.EventsStored == nil {
		return 0, false, nil
	}
	return *dev.EventsStored, true, nil
}

// republished is the current policy document made into a new version: a
// YAML comment is appended (also after a JSON document, which is YAML), so
// the server does not refuse it as identical to the version in force.
func republished(doc string, at time.Time) []byte {
	if doc != "" && doc[len(doc)-1] != '\n' {
		doc += "\n"
	}
	return []byte(doc + "# published by vcguard-loadgen at " + at.UTC().Format(time.RFC3339Nano) + "\n")
}
