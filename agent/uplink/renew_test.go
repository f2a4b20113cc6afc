package uplink

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestNeedsRenewal(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	month := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(30 * 24 * time.Hour)}
	short := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(12 * time.Second)}
	cases := []struct {
		cert *x509.Certificate
		now  time.Time
		want bool
	}{
		{month, t0, false},
		{month, t0.Add(19 * 24 * time.Hour), false}, // 11 days left of 30
		{month, t0.Add(20*24*time.Hour + time.Minute), true},
		{month, t0.Add(31 * 24 * time.Hour), true}, // expired
		{short, t0.Add(7 * time.Second), false},
		{short, t0.Add(9 * time.Second), true},
	}
	for _, c := range cases {
		if got := NeedsRenewal(c.cert, c.now); got != c.want {
			t.Errorf("NeedsRenewal(%v..%v, %v) = %v, want %v", c.cert.NotBefore, c.cert.NotAfter, c.now, got, c.want)
		}
	}
	if got := renewCheckInterval(month); got != 24*time.Hour {
		t.Errorf("check interval of a 30-day certificate = %v, want daily", got)
	}
	if got := renewCheckInterval(short); got != 2*time.Second {
		t.Errorf("check interval of a 12 s certificate = %v, want 2s", got)
	}
	if got := renewRetry(month); got != time.Minute {
		t.Errorf("retry after a failed renewal = %v, want 1m", got)
	}
}

func TestServerRebalanced(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want bool
	}{
		{status.Error(codes.Unavailable, `closing transport due to: connection error: desc = "error reading from server: EOF", received prior goaway: code: NO_ERROR, debug data: "max_age"`), true},
		{status.Error(codes.Unavailable, "server shutting down; reconnect"), true},
		{status.Error(codes.Unavailable, "connection refused"), false},
		{status.Error(codes.PermissionDenied, "this device was revoked by the administrator"), false},
		{errors.New("EOF"), false},
	}
	for _, c := range cases {
		if got := serverRebalanced(c.err); got != c.want {
			t.Errorf("serverRebalanced(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if revokedBackoff(0) != time.Hour || revokedBackoff(time.Second) != time.Second {
		t.Error("revokedBackoff")
	}
}
