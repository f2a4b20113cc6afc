package policies_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
)

// versionsFile records the digest of each catalog version's entries.
var versionsFile = filepath.Join("testdata", "catalog-versions.txt")

// The catalog's VERSION is raised with every change to an entry: an agent
// refuses a catalog whose number it already has, so a change published
// under an old number would never reach the fleet. Each version's digest
// is recorded; changed entries under a recorded version fail here.
func TestCatalogVersionRaisedWithEveryChange(t *testing.T) {
	b, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(enc)
	digest := hex.EncodeToString(sum[:])
	f, err := os.Open(versionsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recorded := map[uint64]string{}
	var last uint64
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		v, err := strconv.ParseUint(fields[0], 10, 64)
		if len(fields) != 2 || err != nil || len(fields[1]) != 64 {
			t.Fatalf("%s:%d: want \"<version> <sha256>\", got %q", versionsFile, line, text)
		}
		if v <= last {
			t.Fatalf("%s:%d: version %d is not above %d", versionsFile, line, v, last)
		}
		recorded[v], last = fields[1], v
	}
	want, ok := recorded[b.Version]
	switch {
	case !ok:
		t.Errorf("catalog version %d has no recorded digest: add the line \"%d %s\" to %s", b.Version, b.Version, digest, versionsFile)
	case want != digest:
		t.Errorf("the catalog's entries changed but policies/catalog/VERSION is still %d: raise it to %d and add the line \"%d <digest>\" to %s (this test prints it)",
			b.Version, last+1, last+1, versionsFile)
	case b.Version != last:
		t.Errorf("policies/catalog/VERSION is %d but %s records %d: the catalog went back", b.Version, versionsFile, last)
	}
}
