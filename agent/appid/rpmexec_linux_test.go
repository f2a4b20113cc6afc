package appid

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRPMOwnerExec runs a stand-in rpm found on PATH, as the agent runs the
// real one: arguments, exit status 1 for a file no package owns, and no run
// at all when Root is not the real root.
func TestRPMOwnerExec(t *testing.T) {
	dir := t.TempDir()
	script := `#!/bin/sh
if [ "$1" != -qf ] || [ "$2" != --queryformat ] || [ "$3" != '%{NAME}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n' ]; then
	echo "bad arguments: $*" >&2
	exit 2
fi
case "$4" in
/usr/bin/zoom) printf 'zoom\t(none):6.2.11.5069-1\n' ;;
*) echo "file $4 is not owned by any package"; exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "rpm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	ctx := context.Background()

	var in Inspector
	name, version, err := in.rpmOwner(ctx, "/usr/bin/zoom", []string{"zoom"})
	if err != nil || name != "zoom" || version != "6.2.11.5069-1" {
		t.Errorf("rpmOwner(/usr/bin/zoom) = %q, %q, %v", name, version, err)
	}
	name, _, err = in.rpmOwner(ctx, "/usr/bin/other", []string{"zoom"})
	if err != nil || name != "" {
		t.Errorf("rpmOwner(/usr/bin/other) = %q, %v; want not owned, no error", name, err)
	}

	fake := NewInspector(t.TempDir())
	if name, _, err := fake.rpmOwner(ctx, "/usr/bin/zoom", []string{"zoom"}); name != "" || err != nil {
		t.Errorf("rpm ran under a fake root: %q, %v", name, err)
	}

	out, err := execRPM(ctx, filepath.Join(dir, "rpm"), "-bad")
	if err == nil || !strings.Contains(err.Error(), "exit status 1") || !strings.Contains(out, "not owned") {
		t.Errorf("execRPM = %q, %v", out, err)
	}
}

func TestCappedBuffer(t *testing.T) {
	b := cappedBuffer{limit: 5}
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if b.String() != "abcde" {
		t.Errorf("kept %q; want the first 5 bytes", b.String())
	}
}
