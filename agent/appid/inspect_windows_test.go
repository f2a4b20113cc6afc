package appid

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
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

	info = in.Inspect(context.Background(), 0, b.signedOrg, c)
	if info.Version != testPEVersion || info.Publisher != testPECompany || info.Signed || !strings.Contains(info.Reason, "not valid") {
		t.Errorf("Inspect(self-signed) = %+v; want the version and publisher, not Signed", info)
	}
}
