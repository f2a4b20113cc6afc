package appid

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tc-hib/winres"
	"github.com/tc-hib/winres/version"
)

var update = flag.Bool("update", false, "rewrite generated files in testdata/")

// buildDir holds binaries built once per test run (real PE and Mach-O files).
var (
	buildDirMu sync.Mutex
	buildDir   string
)

// keptBuildDir is VCGUARD_APPID_BUILD_DIR: when set, the test binaries are
// built into it, kept, and reused when already there. The Windows lane
// builds them on Linux first: under Wine the test cannot run the Go
// toolchain or osslsigncode (Wine 8 starts a Unix program from
// CreateProcess but hands back no process handle to wait on:
// "WaitForSingleObject: Invalid handle").
var keptBuildDir = os.Getenv("VCGUARD_APPID_BUILD_DIR")

// built reports whether out was built by an earlier run into keptBuildDir.
func built(out string) bool {
	if keptBuildDir == "" {
		return false
	}
	_, err := os.Stat(out)
	return err == nil
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if buildDir != "" && keptBuildDir == "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func sharedBuildDir() (string, error) {
	buildDirMu.Lock()
	defer buildDirMu.Unlock()
	if buildDir != "" {
		return buildDir, nil
	}
	if keptBuildDir != "" {
		buildDir = keptBuildDir
		return buildDir, os.MkdirAll(buildDir, 0o755)
	}
	d, err := os.MkdirTemp("", "appid-test-")
	if err != nil {
		return "", err
	}
	buildDir = d
	return d, nil
}

// goBuild builds a tiny main package for goos/goarch into out. extra files
// (e.g. a .syso) are written beside main.go.
func goBuild(dir, goos, goarch, out string, extra map[string][]byte) error {
	if built(out) {
		return nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("no go tool: %w", err)
	}
	src := filepath.Join(dir, "src-"+goos+"-"+goarch)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"go.mod":  []byte("module example.com/zoomish\n\ngo 1.26\n"),
		"main.go": []byte("package main\n\nfunc main() {}\n"),
	}
	for name, data := range extra {
		files[name] = data
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0",
		"GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s/%s: %v\n%s", goos, goarch, err, out)
	}
	return nil
}

// Facts of the PE test binaries.
const (
	testPEVersion   = "5.17.11.34827"
	testPECompany   = "Zoom Video Communications, Inc."
	testPESignerCN  = "Zoom Code Signing (test)"
	testPEOnlyCN    = "Example Signer CN Only"
	testPEProduct   = "Zoom Meetings"
	testPEOrigName  = "Zoom.exe"
	testPEFileDescr = "Zoom Meetings launcher"
)

// peBuilds are real Windows executables built by the Go toolchain with a
// winres version resource and signed by osslsigncode.
type peBuilds struct {
	unsigned, signedOrg, signedCN string
	err                           error
}

var (
	peOnce sync.Once
	pes    peBuilds
)

func buildPEs(t testing.TB) peBuilds {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and signs a Windows executable")
	}
	peOnce.Do(func() { pes = makePEs() })
	if pes.err != nil {
		t.Fatal(pes.err)
	}
	return pes
}

func makePEs() (b peBuilds) {
	dir, err := sharedBuildDir()
	if err != nil {
		return peBuilds{err: err}
	}
	syso, err := versionSyso()
	if err != nil {
		return peBuilds{err: err}
	}
	b.unsigned = filepath.Join(dir, "unsigned.exe")
	if err := goBuild(dir, "windows", "amd64", b.unsigned, map[string][]byte{"rsrc_windows_amd64.syso": syso}); err != nil {
		return peBuilds{err: err}
	}
	b.signedOrg = filepath.Join(dir, "signed-org.exe")
	if err := signPE(dir, b.unsigned, b.signedOrg, pkix.Name{
		Country: []string{"US"}, Province: []string{"California"}, Locality: []string{"San Jose"},
		Organization: []string{testPECompany}, CommonName: testPESignerCN,
	}); err != nil {
		return peBuilds{err: err}
	}
	b.signedCN = filepath.Join(dir, "signed-cn.exe")
	if err := signPE(dir, b.unsigned, b.signedCN, pkix.Name{CommonName: testPEOnlyCN}); err != nil {
		return peBuilds{err: err}
	}
	return b
}

// testVersionInfo is the version resource of the test executables.
func testVersionInfo() version.Info {
	vi := version.Info{
		FileVersion:    [4]uint16{5, 17, 11, 34827},
		ProductVersion: [4]uint16{5, 17, 11, 34827},
	}
	for k, v := range map[string]string{
		version.CompanyName:      testPECompany,
		version.ProductName:      testPEProduct,
		version.ProductVersion:   testPEVersion,
		version.FileVersion:      testPEVersion,
		version.FileDescription:  testPEFileDescr,
		version.OriginalFilename: testPEOrigName,
		version.LegalCopyright:   "Copyright (C) 2024 Zoom Video Communications, Inc. All rights reserved.",
	} {
		vi.Set(version.LangDefault, k, v)
	}
	return vi
}

func versionSyso() ([]byte, error) {
	var rs winres.ResourceSet
	rs.SetVersionInfo(testVersionInfo())
	var buf bytes.Buffer
	if err := rs.WriteObject(&buf, winres.ArchAMD64); err != nil {
		return nil, fmt.Errorf("winres: %w", err)
	}
	return buf.Bytes(), nil
}

// signPE signs in with a fresh self-signed code-signing certificate for
// subject, using osslsigncode.
func signPE(dir, in, out string, subject pkix.Name) error {
	if built(out) {
		return nil
	}
	ossl, err := exec.LookPath("osslsigncode")
	if err != nil {
		return fmt.Errorf("osslsigncode is needed to sign the test executable: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	base := filepath.Join(dir, filepath.Base(out))
	certFile, keyFile := base+".cert.pem", base+".key.pem"
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	os.Remove(out)
	cmd := exec.Command(ossl, "sign", "-certs", certFile, "-key", keyFile, "-h", "sha256",
		"-n", "Zoom", "-i", "https://zoom.us/", "-in", in, "-out", out)
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("osslsigncode sign: %v\n%s", err, o)
	}
	return nil
}

// machoBuild is a real darwin/arm64 executable from the Go toolchain, whose
// linker signs it ad hoc.
var (
	machoOnce sync.Once
	machoPath string
	machoErr  error
)

func buildMachO(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a darwin executable")
	}
	machoOnce.Do(func() {
		dir, err := sharedBuildDir()
		if err != nil {
			machoErr = err
			return
		}
		machoPath = filepath.Join(dir, "zoomish")
		machoErr = goBuild(dir, "darwin", "arm64", machoPath, nil)
	})
	if machoErr != nil {
		t.Fatal(machoErr)
	}
	return machoPath
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
