package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// maxResponse bounds a response body read into memory.
const maxResponse = 64 << 20

// client calls the JSON API with the bearer token.
type client struct {
	base  *url.URL
	token string
	http  *http.Client
	cfg   *config
}

func newClient(cfg *config) (*client, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.Server, "/"))
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACert != "" {
		pem, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return nil, fmt.Errorf("read --cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s holds no PEM certificate: pass the server's ca.pem", cfg.CACert)
		}
		tlsCfg.RootCAs = pool
	}
	return &client{
		base: base, token: cfg.token, cfg: cfg,
		http: &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{
			TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true,
		}},
	}, nil
}

// apiError is a refusal by the server: its status and message.
type apiError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *apiError) Error() string {
	hint := ""
	switch e.Status {
	case http.StatusUnauthorized:
		hint = "; the API token was refused: check --token-file or $" + tokenEnv + " (a token that was revoked or belongs to another server is refused)"
	case http.StatusForbidden:
		hint = "; this token's role may not do this: use an admin token"
	case http.StatusNotFound:
		hint = "; check the id or version (list them first)"
	}
	if e.Status >= 500 {
		hint = "; the server failed: see its log"
	}
	return fmt.Sprintf("%s %s: %d %s: %s%s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Message, hint)
}

// do sends a request and returns the body of a 2xx answer; any other status
// is an *apiError with the server's message.
func (c *client) do(ctx context.Context, method, path string, query url.Values, contentType string, body []byte) ([]byte, error) {
	u := *c.base
	path, rawQuery, _ := strings.Cut(path, "?")
	u.Path += path
	u.RawQuery = query.Encode()
	if rawQuery != "" {
		u.RawQuery = strings.TrimPrefix(u.RawQuery+"&"+rawQuery, "&")
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vcguardctl/"+version)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	if resp.StatusCode == http.StatusUnsupportedMediaType && (resp.Header.Get("Grpc-Status") != "" || strings.HasPrefix(resp.Header.Get("Content-Type"), "application/grpc")) {
		// The JSON API never answers 415; a gRPC server does, to a
		// request that is not gRPC.
		return nil, fmt.Errorf("%s is the agents' gRPC port (the server's --grpc-addr, 8443 by default), not the JSON API: "+
			"give vcguardctl the dashboard's address (--http-addr, e.g. --server https://%s:8080)", c.base.Host, c.base.Hostname())
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
		if len(e.Error) > 200 {
			e.Error = e.Error[:200] + "…"
		}
	}
	return nil, &apiError{Method: method, Path: path, Status: resp.StatusCode, Message: e.Error}
}

// transportError explains a request that got no answer.
func (c *client) transportError(err error) error {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var urlErr *url.Error
	switch {
	case errors.As(err, &unknownCA):
		if c.cfg.CACert == "" {
			return fmt.Errorf("the server's certificate is not signed by a CA this machine trusts: pass --cacert with the server's ca.pem (in its data directory)")
		}
		return fmt.Errorf("the server's certificate is not signed by --cacert %s: is it the ca.pem of this server?", c.cfg.CACert)
	case errors.As(err, &hostname):
		return fmt.Errorf("the server's certificate is not valid for %s: %v; connect by one of its names, or restart the server with --tls-names %s", c.base.Hostname(), hostname, c.base.Hostname())
	case errors.As(err, &invalid):
		return fmt.Errorf("the server's certificate is not valid: %v", invalid)
	case connRefused(err):
		return fmt.Errorf("cannot connect to %s: nothing listens there; check --server (the server's --http-addr) and that vcguard-server runs", c.base.Host)
	case errors.As(err, &urlErr) && urlErr.Timeout():
		return fmt.Errorf("%s did not answer within %s; check the address, or raise --timeout", c.base.Host, c.cfg.Timeout)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return fmt.Errorf("cannot reach %s: %v; check --server", c.base.Host, opErr)
	}
	if errors.As(err, &urlErr) {
		return fmt.Errorf("cannot reach %s: %v", c.base.Host, urlErr.Err)
	}
	return err
}

// getJSON GETs path and decodes the answer into v; it returns the raw body
// too, for --output json.
func (c *client) getJSON(ctx context.Context, path string, query url.Values, v any) ([]byte, error) {
	data, err := c.do(ctx, http.MethodGet, path, query, "", nil)
	if err != nil {
		return nil, err
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			return nil, fmt.Errorf("GET %s: unexpected answer (is --server a vcguard server?): %w", path, err)
		}
	}
	return data, nil
}

// postJSON POSTs body (JSON unless contentType says otherwise) and decodes
// the answer into v.
func (c *client) postJSON(ctx context.Context, path, contentType string, body []byte, v any) ([]byte, error) {
	if contentType == "" {
		contentType = "application/json"
	}
	if body == nil {
		body = []byte{}
	}
	data, err := c.do(ctx, http.MethodPost, path, nil, contentType, body)
	if err != nil {
		return nil, err
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			return nil, fmt.Errorf("POST %s: unexpected answer (is --server a vcguard server?): %w", path, err)
		}
	}
	return data, nil
}
