package browserpolicy

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// These tests write the real registry (under Wine in the Windows lane, a
// private prefix; on Windows they need an administrator) below a key of
// their own, HKLM\SOFTWARE\vcguard-test-<pid>-<n>, laid out like
// SOFTWARE\Policies, and remove it at the end.

var testKeys atomic.Int64

// regRoot makes the test's own root key with a Policies\Google subkey that
// exists before vcguard runs (as a Google updater's would), and returns its
// path; the whole tree goes at cleanup.
func regRoot(t *testing.T) string {
	t.Helper()
	root := fmt.Sprintf(`SOFTWARE\vcguard-test-%d-%d`, os.Getpid(), testKeys.Add(1))
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, root+`\Policies\Google`, registry.ALL_ACCESS|view)
	if err != nil {
		t.Fatalf("create HKLM\\%s (run as administrator): %v", root, err)
	}
	k.Close()
	t.Cleanup(func() { deleteTree(t, root) })
	return root
}

func deleteTree(t *testing.T, key string) {
	t.Helper()
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.ENUMERATE_SUB_KEYS|view)
	if errors.Is(err, registry.ErrNotExist) {
		return
	}
	if err != nil {
		t.Errorf("cleanup %s: %v", key, err)
		return
	}
	subs, err := k.ReadSubKeyNames(-1)
	k.Close()
	if err != nil {
		t.Errorf("cleanup %s: %v", key, err)
	}
	for _, s := range subs {
		deleteTree(t, key+`\`+s)
	}
	if err := registry.DeleteKey(registry.LOCAL_MACHINE, key); err != nil {
		t.Errorf("cleanup %s: %v", key, err)
	}
}

func regTargets(root string) []Target {
	return []Target{
		{Name: "chrome", Format: ChromiumRegistry, Path: root + `\Policies\Google\Chrome`},
		{Name: "firefox", Format: FirefoxRegistry, Path: root + `\Policies\Mozilla\Firefox`},
	}
}

func regWriter(t *testing.T, state string, targets []Target) *Writer {
	t.Helper()
	w, err := New(Config{StateDir: state, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// regDump lists every value below key as "rel\name=sz:..." or
// "rel\name=dword:N", sorted.
func regDump(t *testing.T, key string) []string {
	t.Helper()
	var out []string
	var walk func(rel string)
	walk = func(rel string) {
		path := key
		if rel != "" {
			path += `\` + rel
		}
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS|view)
		if errors.Is(err, registry.ErrNotExist) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		names, err := k.ReadValueNames(-1)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, ok, err := hklm{}.read(path + `\` + n)
			if err != nil || !ok {
				t.Fatalf("read %s\\%s: %v %v", path, n, ok, err)
			}
			out = append(out, strings.TrimPrefix(rel+`\`+n, `\`)+"="+string(b))
		}
		subs, err := k.ReadSubKeyNames(-1)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			walk(strings.TrimPrefix(rel+`\`+s, `\`))
		}
	}
	walk("")
	slices.Sort(out)
	return out
}

func keyExists(key string) bool { return hklm{}.exists(key) }

func setDWord(t *testing.T, key, name string, v uint32) {
	t.Helper()
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, key, registry.ALL_ACCESS|view)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if err := k.SetDWordValue(name, v); err != nil {
		t.Fatal(err)
	}
}

func setString(t *testing.T, key, name, v string) {
	t.Helper()
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, key, registry.ALL_ACCESS|view)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if err := k.SetStringValue(name, v); err != nil {
		t.Fatal(err)
	}
}

// The policies land as Group Policy stores them (REG_DWORD flags, lists as
// subkeys of "1", "2", ... REG_SZ), are left alone when unchanged, follow a
// changed spec (a list that shrinks loses its last value), and go with
// every key vcguard created; the key that existed before stays.
func TestRegistryWritesKeepsRemoves(t *testing.T) {
	root := regRoot(t)
	targets := regTargets(root)
	chrome, firefox := targets[0].Path, targets[1].Path
	w := regWriter(t, t.TempDir(), targets)

	rep := apply(t, w, &Spec{AllowedOrigins: []string{"https://meet.example.org", "https://bbb.example.org"}, BlockScreenCapture: true})
	if len(rep.Skipped) != 0 || len(rep.Written) != 7+10 {
		t.Fatalf("first apply: %+v, want 17 values written", rep)
	}
	wantChrome := []string{
		`AudioCaptureAllowed=dword:0`,
		`AudioCaptureAllowedUrls\1=sz:https://bbb.example.org`,
		`AudioCaptureAllowedUrls\2=sz:https://meet.example.org`,
		`ScreenCaptureAllowed=dword:0`,
		`VideoCaptureAllowed=dword:0`,
		`VideoCaptureAllowedUrls\1=sz:https://bbb.example.org`,
		`VideoCaptureAllowedUrls\2=sz:https://meet.example.org`,
	}
	if got := regDump(t, chrome); !slices.Equal(got, wantChrome) {
		t.Errorf("HKLM\\%s:\n%s\nwant\n%s", chrome, strings.Join(got, "\n"), strings.Join(wantChrome, "\n"))
	}
	wantFirefox := []string{
		`Permissions\Camera\Allow\1=sz:https://bbb.example.org`,
		`Permissions\Camera\Allow\2=sz:https://meet.example.org`,
		`Permissions\Camera\BlockNewRequests=dword:1`,
		`Permissions\Camera\Locked=dword:1`,
		`Permissions\Microphone\Allow\1=sz:https://bbb.example.org`,
		`Permissions\Microphone\Allow\2=sz:https://meet.example.org`,
		`Permissions\Microphone\BlockNewRequests=dword:1`,
		`Permissions\Microphone\Locked=dword:1`,
		`Permissions\ScreenShare\BlockNewRequests=dword:1`,
		`Permissions\ScreenShare\Locked=dword:1`,
	}
	if got := regDump(t, firefox); !slices.Equal(got, wantFirefox) {
		t.Errorf("HKLM\\%s:\n%s\nwant\n%s", firefox, strings.Join(got, "\n"), strings.Join(wantFirefox, "\n"))
	}
	// The registry types themselves.
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, chrome, registry.QUERY_VALUE|view)
	if err != nil {
		t.Fatal(err)
	}
	if v, typ, err := k.GetIntegerValue("VideoCaptureAllowed"); err != nil || typ != registry.DWORD || v != 0 {
		t.Errorf("VideoCaptureAllowed: %d type %d (%v), want REG_DWORD 0", v, typ, err)
	}
	k.Close()

	rep = apply(t, w, &Spec{AllowedOrigins: []string{"https://bbb.example.org", "https://meet.example.org"}, BlockScreenCapture: true})
	if len(rep.Written) != 0 || len(rep.Unchanged) != 17 {
		t.Errorf("same spec again: %+v, want all 17 unchanged", rep)
	}

	rep = apply(t, w, &Spec{AllowedOrigins: []string{"https://bbb.example.org"}})
	checkList(t, "removed on a shorter list", rep.Removed,
		`HKLM\`+chrome+`\VideoCaptureAllowedUrls\2`, `HKLM\`+chrome+`\AudioCaptureAllowedUrls\2`, `HKLM\`+chrome+`\ScreenCaptureAllowed`,
		`HKLM\`+firefox+`\Permissions\Camera\Allow\2`, `HKLM\`+firefox+`\Permissions\Microphone\Allow\2`,
		`HKLM\`+firefox+`\Permissions\ScreenShare\BlockNewRequests`, `HKLM\`+firefox+`\Permissions\ScreenShare\Locked`,
		`HKLM\`+firefox+`\Permissions\ScreenShare`)
	if keyExists(firefox + `\Permissions\ScreenShare`) {
		t.Errorf("the ScreenShare key vcguard created is still there")
	}

	apply(t, w, nil)
	if got := regDump(t, root); len(got) != 0 {
		t.Errorf("values left after removal: %q", got)
	}
	for _, k := range []string{chrome, root + `\Policies\Mozilla`} {
		if keyExists(k) {
			t.Errorf("HKLM\\%s, which vcguard created, is still there", k)
		}
	}
	if !keyExists(root + `\Policies\Google`) {
		t.Errorf("HKLM\\%s\\Policies\\Google, which existed before, was removed", root)
	}
}

// A value vcguard did not write (Group Policy's) is never overwritten or
// removed: the browser's target is skipped, naming it and what to set.
func TestRegistryLeavesForeignValues(t *testing.T) {
	root := regRoot(t)
	targets := regTargets(root)
	chrome, firefox := targets[0].Path, targets[1].Path
	setDWord(t, chrome, "VideoCaptureAllowed", 1)         // set by Group Policy
	setString(t, chrome, "HomepageLocation", "https://x") // another policy, never ours
	w := regWriter(t, t.TempDir(), targets)
	rep := apply(t, w, &Spec{AllowedOrigins: []string{"https://meet.example.org"}})
	if len(rep.Skipped) != 1 || rep.Skipped[0].Target != "chrome" {
		t.Fatalf("skipped %+v, want chrome", rep.Skipped)
	}
	reason := rep.Skipped[0].Reason
	for _, want := range []string{`HKLM\` + chrome + `\VideoCaptureAllowed`, "not written by vcguard", `VideoCaptureAllowedUrls\1 = "https://meet.example.org"`} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q lacks %q", reason, want)
		}
	}
	if got := regDump(t, chrome); !slices.Equal(got, []string{"HomepageLocation=sz:https://x", "VideoCaptureAllowed=dword:1"}) {
		t.Errorf("the Chrome key changed: %q", got)
	}
	if got := regDump(t, firefox); len(got) != 6 {
		t.Errorf("firefox, not in conflict, holds %q, want its 6 values", got)
	}

	// A value of vcguard's that Group Policy changed since is theirs.
	setDWord(t, firefox+`\Permissions\Camera`, "Locked", 0)
	rep = apply(t, w, nil)
	var skipped []string
	for _, s := range rep.Skipped {
		skipped = append(skipped, s.Target)
	}
	if !slices.Equal(skipped, []string{"firefox"}) || !strings.Contains(rep.Skipped[0].Reason, "changed since vcguard wrote it") {
		t.Fatalf("removal skipped %+v, want firefox, changed since vcguard wrote it", rep.Skipped)
	}
	if got := regDump(t, firefox); !slices.Contains(got, `Permissions\Camera\Locked=dword:0`) {
		t.Errorf("the changed value was touched: %q", got)
	}
	// A list value someone added makes the list theirs too.
	root2 := regRoot(t)
	t2 := regTargets(root2)[:1]
	setString(t, t2[0].Path+`\VideoCaptureAllowedUrls`, "1", "https://intranet.example.org")
	rep = apply(t, regWriter(t, t.TempDir(), t2), &Spec{AllowedOrigins: []string{"https://meet.example.org"}})
	if len(rep.Skipped) != 1 || len(rep.Written) != 0 {
		t.Fatalf("a foreign list entry: %+v, want chrome skipped and nothing written", rep)
	}
}

func TestDefaultTargetsWindows(t *testing.T) {
	want := map[string]string{
		"chrome":   `SOFTWARE\Policies\Google\Chrome`,
		"chromium": `SOFTWARE\Policies\Chromium`,
		"edge":     `SOFTWARE\Policies\Microsoft\Edge`,
		"brave":    `SOFTWARE\Policies\BraveSoftware\Brave`,
		"firefox":  `SOFTWARE\Policies\Mozilla\Firefox`,
	}
	got := DefaultTargets()
	if len(got) != len(want) {
		t.Fatalf("%d targets, want %d", len(got), len(want))
	}
	for _, tg := range got {
		if want[tg.Name] != tg.Path || !tg.Format.registry() {
			t.Errorf("%s: %s %s, want %s in the registry", tg.Name, tg.Format, tg.Path, want[tg.Name])
		}
		if err := tg.validate(); err != nil {
			t.Error(err)
		}
	}
}
