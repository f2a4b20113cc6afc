package appid

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// inspectOS on Windows: the PE's version resource gives the version, its
// Authenticode certificate table the publisher (parsed, see ParsePEInfo),
// and WinVerifyTrust says whether that signature is valid. Paths are used
// as given: catalog paths with %VARIABLES% are expanded by Verify's
// callers, not here.
func (in *Inspector) inspectOS(ctx context.Context, pid int32, exe string, c Candidate) Info {
	info := Info{Path: exe}
	file := in.underRoot(exe)
	// ReadPEInfo reads only the headers, the version resource and the
	// certificate table, each bounded, never the whole file.
	pi, err := ReadPEInfo(file)
	if err != nil {
		info.addReason("cannot read the executable's version and signer: %v", err)
	} else {
		info.Version, info.Publisher = pi.Version, pi.Publisher
		for _, p := range pi.Problems {
			info.addReason("%s", p)
		}
		if !pi.HasSignature {
			// WinVerifyTrust on the file alone would say the same
			// (TRUST_E_NOSIGNATURE); catalog-signed files are not
			// looked up.
			info.addReason("the executable has no embedded Authenticode signature")
			return info
		}
	}
	if err := ctx.Err(); err != nil {
		info.addReason("signature not checked: %v", err)
		return info
	}
	if err := winVerifyTrust(file); err != nil {
		info.addReason("the Authenticode signature is not valid: %v", err)
		return info
	}
	info.Signed = true
	return info
}

// winVerifyTrust checks the Authenticode signature embedded in the file at
// path with the generic verify action (WINTRUST_ACTION_GENERIC_VERIFY_V2):
// no UI, no revocation check, and no network (certificate and revocation
// data only from the local URL cache), so a machine offline or behind a
// proxy gets the same answer. The state the verify call opens is always
// closed.
func winVerifyTrust(path string) error {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return fmt.Errorf("path %q: %w", path, err)
	}
	file := &windows.WinTrustFileInfo{
		Size:     uint32(unsafe.Sizeof(windows.WinTrustFileInfo{})),
		FilePath: p,
	}
	data := &windows.WinTrustData{
		Size:                            uint32(unsafe.Sizeof(windows.WinTrustData{})),
		UIChoice:                        windows.WTD_UI_NONE,
		RevocationChecks:                windows.WTD_REVOKE_NONE,
		UnionChoice:                     windows.WTD_CHOICE_FILE,
		FileOrCatalogOrBlobOrSgnrOrCert: unsafe.Pointer(file),
		StateAction:                     windows.WTD_STATEACTION_VERIFY,
		ProvFlags:                       windows.WTD_CACHE_ONLY_URL_RETRIEVAL,
	}
	verifyErr := trustResult(windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data))
	data.StateAction = windows.WTD_STATEACTION_CLOSE
	closeErr := trustResult(windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data))
	if verifyErr != nil {
		return verifyErr
	}
	if closeErr != nil {
		return fmt.Errorf("WinVerifyTrust close: %w", closeErr)
	}
	return nil
}

// trustResult turns WinVerifyTrustEx's result into an error that names the
// failure. The function returns a 32-bit LONG; x/sys hands back the whole
// register, so only its low 32 bits are the result.
func trustResult(err error) error {
	if err == nil {
		return nil
	}
	var e windows.Errno
	if !errors.As(err, &e) {
		return err
	}
	code := uint32(e)
	if code == 0 {
		return nil
	}
	e = windows.Errno(code)
	var what string
	switch windows.Handle(code) {
	case windows.TRUST_E_NOSIGNATURE:
		what = "not signed"
	case windows.TRUST_E_BAD_DIGEST:
		what = "the file was modified after it was signed"
	case windows.CERT_E_EXPIRED:
		what = "the signing certificate has expired and the signature has no valid timestamp"
	case windows.CERT_E_UNTRUSTEDROOT, windows.CERT_E_CHAINING:
		what = "the signing certificate does not chain to a trusted root"
	case windows.CERT_E_REVOKED:
		what = "the signing certificate was revoked"
	case windows.TRUST_E_EXPLICIT_DISTRUST:
		what = "the signer is explicitly distrusted on this machine"
	case windows.CRYPT_E_SECURITY_SETTINGS:
		what = "local security settings (policy) forbid trusting it"
	default:
		return fmt.Errorf("WinVerifyTrust: 0x%08X: %w", code, e)
	}
	return fmt.Errorf("%s (WinVerifyTrust 0x%08X): %w", what, code, e)
}
