package appid

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/vcguard/vcguard/internal/wine"
)

func TestTrustResult(t *testing.T) {
	t.Parallel()
	if err := trustResult(nil); err != nil {
		t.Errorf("trustResult(nil) = %v", err)
	}
	// Only the low 32 bits of the register are the LONG result.
	hi := uintptr(1)
	hi <<= 32 // 0 on 32-bit Windows: still success
	if err := trustResult(windows.Errno(hi)); err != nil {
		t.Errorf("trustResult(high bits only) = %v, want success", err)
	}
	err := trustResult(windows.Errno(windows.TRUST_E_NOSIGNATURE))
	if err == nil || !strings.Contains(err.Error(), "not signed") || !errors.Is(err, windows.Errno(windows.TRUST_E_NOSIGNATURE)) {
		t.Errorf("trustResult(TRUST_E_NOSIGNATURE) = %v", err)
	}
	err = trustResult(windows.Errno(0x80001234))
	if err == nil || !strings.Contains(err.Error(), "0x80001234") {
		t.Errorf("trustResult(unknown) = %v", err)
	}
}

// The test executables of main_test.go: the version resource and the
// parsed publisher come through; the self-signed certificate does not make
// the file Signed.
func TestInspectPE(t *testing.T) {
	t.Parallel()
	b := buildPEs(t)
	in := NewInspector("")
	c := Candidate{Publishers: []string{testPECompany}}

	info := in.Inspect(context.Background(), 0, b.unsigned, c)
	if info.Version != testPEVersion || info.Publisher != "" || info.Signed || !strings.Contains(info.Reason, "no embedded Authenticode signature") {
		t.Errorf("Inspect(unsigned) = %+v", info)
	}

	t.Run("untrusted signer", func(t *testing.T) {
		info := in.Inspect(context.Background(), 0, b.signedOrg, c)
		if info.Version != testPEVersion || info.Publisher != testPECompany {
			t.Errorf("Inspect(self-signed) = %+v; want the version and publisher", info)
		}
		if wine.Running() {
			// Seen in the Windows lane: Wine 8's WinVerifyTrust checks the
			// file's digest (the tampered copy below fails) but not the
			// chain to a trusted root.
			t.Skipf("Wine 8's WinVerifyTrust accepts a signature by an untrusted self-signed certificate (Signed=%v)", info.Signed)
		}
		if info.Signed || !strings.Contains(info.Reason, "not valid") {
			t.Errorf("Inspect(self-signed) = %+v; want not Signed: nobody trusts the signer", info)
		}
	})
	t.Run("modified after signing", func(t *testing.T) {
		data, err := os.ReadFile(b.signedOrg)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/3] ^= 0xff // in the code, outside the certificate table
		tampered := filepath.Join(t.TempDir(), "tampered.exe")
		if err := os.WriteFile(tampered, data, 0o755); err != nil {
			t.Fatal(err)
		}
		info := in.Inspect(context.Background(), 0, tampered, c)
		if info.Signed || !strings.Contains(info.Reason, "not valid") {
			t.Errorf("Inspect(tampered) = %+v; want not Signed", info)
		}
	})
}
