package pki_test

import (
	"bytes"
	"encoding/pem"
	"testing"

	"github.com/vcguard/vcguard/server/pki"
)

// The gRPC listener presents the CA after the server certificate, so that
// an agent can pin the CA by its fingerprint.
func TestServerTLSPresentsTheCA(t *testing.T) {
	t.Parallel()
	a, err := pki.LoadOrCreate(t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(a.CAPEM())
	chain := a.ServerTLS().Certificates[0].Certificate
	if len(chain) != 2 || !bytes.Equal(chain[1], block.Bytes) {
		t.Fatalf("the server's chain has %d certificates, want the server's and then the CA", len(chain))
	}
	// Asking twice does not grow the chain.
	if n := len(a.ServerTLS().Certificates[0].Certificate); n != 2 {
		t.Errorf("second ServerTLS: %d certificates", n)
	}
}
