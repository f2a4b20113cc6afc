package posture

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pierrec/lz4/v4"
	"github.com/vcguard/vcguard/policies"
)

const testStatus = `Package: zoom
Status: install ok installed
Architecture: amd64
Version: 6.0.2.4680
Description: Zoom
 Cloud meetings.

Package: pidgin
Status: install ok installed
Architecture: amd64
Version: 2.14.12-1

Package: jitsi-meet-electron
Status: deinstall ok config-files
Architecture: amd64
Version: 2.0

Package: element-desktop
Status: install ok installed
Architecture: amd64
Version: 1.11.80

Package: libfoo
Status: install ok installed
Architecture: i386
Version: 1:1.0-1
`

func writeCompressed(t *testing.T, path, content string) {
	t.Helper()
	var b bytes.Buffer
	switch filepath.Ext(path) {
	case ".gz":
		z := gzip.NewWriter(&b)
		z.Write([]byte(content))
		z.Close()
	case ".lz4":
		z := lz4.NewWriter(&b)
		z.Write([]byte(content))
		z.Close()
	default:
		b.WriteString(content)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOutdated reads a dpkg status and apt lists in each form apt keeps
// (plain, .lz4, .gz) from a temporary root.
func TestOutdated(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	status := filepath.Join(root, "status")
	lists := filepath.Join(root, "lists")
	if err := os.MkdirAll(lists, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, status, testStatus)
	writeCompressed(t, filepath.Join(lists, "repo.zoom_dists_stable_main_binary-amd64_Packages"),
		"Package: zoom\nArchitecture: amd64\nVersion: 6.0.2.4680\n\nPackage: zoom\nArchitecture: amd64\nVersion: 6.1.0.198\n\nPackage: zoom\nArchitecture: arm64\nVersion: 9.9\n")
	writeCompressed(t, filepath.Join(lists, "deb_dists_bookworm_main_binary-amd64_Packages.lz4"),
		"Package: pidgin\nArchitecture: amd64\nVersion: 2.14.12-1\n\nPackage: pidgin\nArchitecture: amd64\nVersion: 2.14.12-1+deb12u1\nDescription: x\n y\n\nPackage: jitsi-meet-electron\nArchitecture: amd64\nVersion: 9.0\n\nPackage: libfoo\nArchitecture: i386\nVersion: 1.5-1\n")
	writeCompressed(t, filepath.Join(lists, "deb_dists_bookworm-updates_main_binary-amd64_Packages.gz"),
		"Package: element-desktop\nArchitecture: all\nVersion: 1.11.80~rc1\n\nPackage: pidgin\nArchitecture: amd64\nVersion: 2.14.12-1~bpo\n")
	// A second form of a list already read is not read again; a broken one
	// is an error and the others still count.
	writeCompressed(t, filepath.Join(lists, "repo.zoom_dists_stable_main_binary-amd64_Packages.gz"), "Package: zoom\nArchitecture: amd64\nVersion: 99\n")
	writeFile(t, filepath.Join(lists, "broken_Packages.lz4"), "not lz4 at all")
	writeFile(t, filepath.Join(lists, "other_Sources"), "Package: zoom\nVersion: 100\n")

	r := Reader{DpkgStatus: status, AptLists: lists}
	got, errs := r.Outdated(context.Background(), []string{"zoom", "pidgin", "jitsi-meet-electron", "element-desktop", "libfoo", "absent"})
	want := []policies.PostureReading{
		{Kind: policies.PostureOutdated, Where: "pidgin", Detail: "installed 2.14.12-1, offered 2.14.12-1+deb12u1"},
		{Kind: policies.PostureOutdated, Where: "zoom", Detail: "installed 6.0.2.4680, offered 6.1.0.198"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Outdated = %+v\nwant %+v", got, want)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "broken_Packages.lz4") {
		t.Errorf("errors = %v, want one naming broken_Packages.lz4", errs)
	}

	// No dpkg on this machine: nothing, no error.
	none := Reader{DpkgStatus: filepath.Join(root, "nope"), AptLists: lists}
	if got, errs := none.Outdated(context.Background(), []string{"zoom"}); len(got) != 0 || len(errs) != 0 {
		t.Errorf("without dpkg: %v, %v", got, errs)
	}
	// A malformed status is an error naming the file and line.
	bad := filepath.Join(root, "badstatus")
	writeFile(t, bad, "Package: zoom\nsecret line\n")
	badR := Reader{DpkgStatus: bad, AptLists: lists}
	if _, errs := badR.Outdated(context.Background(), []string{"zoom"}); len(errs) != 1 || !strings.Contains(errs[0].Error(), bad+": line 2") || strings.Contains(errs[0].Error(), "secret") {
		t.Errorf("malformed status: %v", errs)
	}
}
