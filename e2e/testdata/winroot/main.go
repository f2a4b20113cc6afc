// Command winroot adds a PEM certificate to the Windows machine's trusted
// root store (LocalMachine\Root). The Wine end-to-end tests run it in their
// prefix so that a test-signed stand-in of an app verifies as it does on a
// managed laptop whose IT trusts the signer: it is test tooling, never
// shipped.
package main

import (
	"encoding/pem"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: winroot CERT.pem")
		os.Exit(2)
	}
	if err := addRoot(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "winroot:", err)
		os.Exit(1)
	}
}

func addRoot(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("%s: no CERTIFICATE PEM block", path)
	}
	name, _ := windows.UTF16PtrFromString("ROOT")
	store, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM, 0, 0,
		windows.CERT_SYSTEM_STORE_LOCAL_MACHINE, uintptr(unsafe.Pointer(name)))
	if err != nil {
		return fmt.Errorf("open LocalMachine\\Root: %w", err)
	}
	defer windows.CertCloseStore(store, 0)
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, &block.Bytes[0], uint32(len(block.Bytes)))
	if err != nil {
		return fmt.Errorf("parse certificate: %w", err)
	}
	defer windows.CertFreeCertificateContext(ctx)
	if err := windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil); err != nil {
		return fmt.Errorf("add to LocalMachine\\Root: %w", err)
	}
	return nil
}
