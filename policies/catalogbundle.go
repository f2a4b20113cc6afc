package policies

// Signed catalog updates: the catalog travels from the server to the
// agents like a policy does (signed, pushed, cached, refused when not
// newer), as a bundle of the entry files under a version number.

import (
	"crypto/ed25519"
	_ "embed" // the embedded catalog's VERSION
	"errors"
	"fmt"
	"io/fs"

	"github.com/vcguard/vcguard/policies/catalogbundle"
)

//go:embed catalog/VERSION
var embeddedCatalogVersion []byte

// The bundle encoding lives in package catalogbundle; these names keep it
// at hand beside the catalog.
type (
	// CatalogBundle is a catalog version: its number and entry files.
	CatalogBundle = catalogbundle.Bundle
	// CatalogFile is one entry file of a bundle.
	CatalogFile = catalogbundle.File
)

// CatalogVersionFile is the file of a catalog directory that holds its
// version.
const CatalogVersionFile = catalogbundle.VersionFile

// MaxCatalogBundleBytes bounds an encoded bundle.
const MaxCatalogBundleBytes = catalogbundle.MaxBytes

// ParseCatalogBundle decodes an encoded bundle (catalogbundle.Parse).
func ParseCatalogBundle(data []byte) (*CatalogBundle, error) { return catalogbundle.Parse(data) }

// ReadCatalogDir reads a catalog directory into a bundle
// (catalogbundle.ReadDir).
func ReadCatalogDir(fsys fs.FS, dir string) (*CatalogBundle, error) {
	return catalogbundle.ReadDir(fsys, dir)
}

// ParseCatalogVersion reads a VERSION file (catalogbundle.ParseVersion).
func ParseCatalogVersion(file string, data []byte) (uint64, error) {
	return catalogbundle.ParseVersion(file, data)
}

// EmbeddedCatalogVersion is the version of the catalog compiled into the
// binary (policies/catalog/VERSION).
func EmbeddedCatalogVersion() (uint64, error) {
	return catalogbundle.ParseVersion("catalog/"+catalogbundle.VersionFile, embeddedCatalogVersion)
}

// EmbeddedCatalogBundle is the catalog compiled into the binary as a
// bundle.
func EmbeddedCatalogBundle() (*CatalogBundle, error) {
	version, err := EmbeddedCatalogVersion()
	if err != nil {
		return nil, err
	}
	return catalogbundle.ReadEntries(catalogFS, "catalog", version)
}

// BundleCatalog loads the bundle's entries. A broken entry fails the whole load
// with the catalog version, the entry file and its line.
func BundleCatalog(b *CatalogBundle) (*Catalog, error) {
	apps := make([]*App, 0, len(b.Files))
	for _, f := range b.Files {
		app, err := ParseApp(f.Name, []byte(f.Content))
		if err != nil {
			return nil, fmt.Errorf("catalog version %d: %w", b.Version, err)
		}
		apps = append(apps, app)
	}
	c, err := NewCatalog(apps...)
	if err != nil {
		return nil, fmt.Errorf("catalog version %d: %w", b.Version, err)
	}
	return c, nil
}

// catalogSignatureContext separates catalog signatures from policy
// signatures made with the same key: a policy's signature never verifies
// as a catalog's, nor the other way round.
const catalogSignatureContext = "vcguard catalog signature v1\x00"

// CatalogSignedPayload is the byte string an Ed25519 catalog signature
// covers: a context string, the version and the encoded bundle.
func CatalogSignedPayload(version uint64, bundle []byte) []byte {
	return signedPayload(catalogSignatureContext, version, bundle)
}

// SignCatalog signs an encoded catalog bundle with the server's policy
// key.
func SignCatalog(key ed25519.PrivateKey, version uint64, bundle []byte) []byte {
	return ed25519.Sign(key, CatalogSignedPayload(version, bundle))
}

// ErrBadCatalogSignature is returned when a catalog's signature does not
// verify.
var ErrBadCatalogSignature = errors.New("catalog signature does not verify with the pinned key")

// VerifyCatalog checks a catalog signature against the pinned public key.
func VerifyCatalog(pub ed25519.PublicKey, version uint64, bundle, signature []byte) error {
	return verifySigned(pub, CatalogSignedPayload(version, bundle), signature, ErrBadCatalogSignature)
}

// OpenSignedCatalog verifies a signed catalog bundle, decodes it and loads
// its entries: the signature first, then the version inside the bundle
// against the signed one, then every entry.
func OpenSignedCatalog(pub ed25519.PublicKey, version uint64, bundle, signature []byte) (*CatalogBundle, *Catalog, error) {
	if err := VerifyCatalog(pub, version, bundle, signature); err != nil {
		return nil, nil, fmt.Errorf("catalog version %d: %w", version, err)
	}
	b, err := ParseCatalogBundle(bundle)
	if err != nil {
		return nil, nil, err
	}
	if b.Version != version {
		return nil, nil, fmt.Errorf("catalog bundle says version %d, signed as version %d", b.Version, version)
	}
	c, err := BundleCatalog(b)
	if err != nil {
		return nil, nil, err
	}
	return b, c, nil
}
