package posture

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// realDpkg skips a test on a machine without dpkg and apt lists (the test
// is about this machine's real files, so there is nothing to stand in).
func realDpkg(t *testing.T) (dpkg string, lists []string) {
	t.Helper()
	if _, err := os.Stat(DefaultDpkgStatus); err != nil {
		t.Skipf("no dpkg status on this machine: %v", err)
	}
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skipf("no dpkg on this machine: %v", err)
	}
	lists, err = aptListFiles(DefaultAptLists)
	if err != nil || len(lists) == 0 {
		t.Skipf("no readable apt lists in %s (%v)", DefaultAptLists, err)
	}
	return dpkg, lists
}

// allInstalled reads every installed package of the real status file.
func allInstalled(t *testing.T) []installedPackage {
	t.Helper()
	f, err := os.Open(DefaultDpkgStatus)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []installedPackage
	err = parseStanzas(context.Background(), f, []string{"Package", "Status", "Architecture", "Version"}, func(s stanza, line int) error {
		if st := strings.Fields(s["Status"]); len(st) == 3 && st[2] == "installed" {
			out = append(out, installedPackage{name: s["Package"], arch: s["Architecture"], version: s["Version"]})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("parse %s: %v", DefaultDpkgStatus, err)
	}
	return out
}

// TestRealDpkg parses this machine's real dpkg status and apt lists, runs
// Outdated over every installed package and checks each reading, and the
// order of a few hundred real version pairs, with dpkg --compare-versions.
func TestRealDpkg(t *testing.T) {
	dpkg, lists := realDpkg(t)
	ctx := context.Background()
	inst := allInstalled(t)
	if len(inst) < 10 {
		t.Fatalf("%d installed packages in %s, want more", len(inst), DefaultDpkgStatus)
	}
	names := make([]string, 0, len(inst))
	for _, p := range inst {
		if _, err := compareVersions(p.version, p.version); err != nil {
			t.Errorf("installed %s: %v", p.name, err)
		}
		names = append(names, p.name)
	}
	// Every version of the lists, by package, for the pairs below.
	listed := map[string][]string{}
	stanzas := 0
	for _, path := range lists {
		rd, c, err := openList(path)
		if err != nil {
			t.Fatal(err)
		}
		err = parseStanzas(ctx, rd, []string{"Package", "Version"}, func(s stanza, _ int) error {
			stanzas++
			listed[s["Package"]] = append(listed[s["Package"]], s["Version"])
			return nil
		})
		c.Close()
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
	}
	t.Logf("%d installed packages, %d list files, %d list stanzas", len(inst), len(lists), stanzas)

	var r Reader
	readings, errs := r.Outdated(ctx, names)
	for _, err := range errs {
		t.Errorf("Outdated: %v", err)
	}
	t.Logf("%d installed packages have a newer version in the lists", len(readings))
	for _, rd := range readings {
		var installed, offered string
		if _, err := parseDetail(rd.Detail, &installed, &offered); err != nil {
			t.Fatalf("detail %q: %v", rd.Detail, err)
		}
		if !dpkgCompare(t, dpkg, installed, "lt", offered) {
			t.Errorf("%s: dpkg says %s is not older than %s", rd.Where, installed, offered)
		}
	}

	// Pairs: each installed version against its package's listed versions,
	// then random pairs of listed versions of any packages (same seed each
	// run, so a failure repeats).
	type pair struct{ a, b string }
	var pairs []pair
	for _, p := range inst {
		for _, v := range listed[p.name] {
			pairs = append(pairs, pair{p.version, v})
		}
	}
	slices.SortFunc(pairs, func(x, y pair) int { return strings.Compare(x.a+" "+x.b, y.a+" "+y.b) })
	pairs = slices.Compact(pairs)
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	if len(pairs) > 150 {
		pairs = pairs[:150]
	}
	var all []string
	for _, vs := range listed {
		all = append(all, vs...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	for len(pairs) < 400 && len(all) > 1 {
		a, b := all[rng.IntN(len(all))], all[rng.IntN(len(all))]
		if strings.Count(a, ".") > 0 && rng.IntN(4) == 0 {
			b = a // some equal pairs
		}
		pairs = append(pairs, pair{a, b})
	}
	compared := 0
	for _, p := range pairs {
		got, err := compareVersions(p.a, p.b)
		if err != nil {
			t.Errorf("compareVersions(%q, %q): %v", p.a, p.b, err)
			continue
		}
		op := map[int]string{-1: "lt", 0: "eq", 1: "gt"}[sign(got)]
		if !dpkgCompare(t, dpkg, p.a, op, p.b) {
			t.Errorf("compareVersions(%q, %q) = %s, dpkg disagrees", p.a, p.b, op)
		}
		compared++
	}
	t.Logf("%d version pairs agree with dpkg --compare-versions", compared)
	if compared < 300 {
		t.Errorf("only %d pairs compared, want at least 300", compared)
	}
}

func parseDetail(detail string, installed, offered *string) (int, error) {
	rest, ok := strings.CutPrefix(detail, "installed ")
	if !ok {
		return 0, errors.New("no installed")
	}
	*installed, *offered, ok = strings.Cut(rest, ", offered ")
	if !ok {
		return 0, errors.New("no offered")
	}
	return 2, nil
}

// dpkgCompare runs dpkg --compare-versions a op b for real.
func dpkgCompare(t *testing.T, dpkg, a, op, b string) bool {
	t.Helper()
	cmd := exec.Command(dpkg, "--compare-versions", a, op, b)
	cmd.Stderr = io.Discard
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false
	}
	t.Fatalf("dpkg --compare-versions %s %s %s: %v", a, op, b, err)
	return false
}
