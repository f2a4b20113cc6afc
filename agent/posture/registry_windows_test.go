//go:build windows

package posture

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/vcguard/vcguard/policies"
)

// currentSID is the test process's user SID: its HKCU is HKEY_USERS\<SID>,
// the hive the agent (as SYSTEM) reads for HKCU\ checks.
func currentSID(t *testing.T) string {
	t.Helper()
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	return u.User.Sid.String()
}

// TestReadRegistry creates real values under
// HKCU\Software\vcguard-test-<pid>-<time>, reads them through Read as HKCU\
// checks of the process owner (HKEY_USERS\<SID>\...), and deletes them.
func TestReadRegistry(t *testing.T) {
	sub := fmt.Sprintf(`Software\vcguard-test-%d-%d`, os.Getpid(), time.Now().UnixNano())
	k, _, err := registry.CreateKey(registry.CURRENT_USER, sub+`\Policies`, registry.ALL_ACCESS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		registry.DeleteKey(registry.CURRENT_USER, sub+`\Policies`)
		if err := registry.DeleteKey(registry.CURRENT_USER, sub); err != nil {
			t.Errorf("delete HKCU\\%s: %v", sub, err)
		}
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(k.SetDWordValue("EnableAutoUpdater", 0))
	must(k.SetDWordValue("Telemetry", 2))
	must(k.SetQWordValue("Big", 1<<40))
	must(k.SetStringValue("Mode", "Disabled"))
	must(k.SetExpandStringValue("Path", `%APPDATA%\x`))
	must(k.SetStringsValue("List", []string{"a", "b"}))
	k.Close()

	key := `HKCU\` + sub + `\Policies`
	c := func(kind policies.PostureKind, reg, name string, values []string, absent bool) policies.PostureCheck {
		return policies.PostureCheck{Kind: kind, OS: "windows", Registry: reg, Key: name, Values: values, Absent: absent, Source: "https://example.org"}
	}
	present := func(reg, name string) policies.PostureCheck {
		return policies.PostureCheck{Kind: policies.PostureAutostart, OS: "windows", Registry: reg, Key: name, Present: true, Source: "https://example.org"}
	}
	checks := []policies.PostureCheck{
		c(policies.PostureUpdatesOff, key, "EnableAutoUpdater", []string{"0"}, false),                    // holds: DWORD 0
		c(policies.PostureTelemetryOn, key, "Telemetry", []string{"1"}, false),                           // clear: 2
		c(policies.PostureTelemetryOn, key, "Big", []string{"1099511627776"}, false),                     // holds: QWORD
		c(policies.PostureUpdatesOff, key, "Mode", []string{"disabled"}, false),                          // holds: string, any case
		c(policies.PostureSSONotEnforced, key, "ForceSSOURL", nil, true),                                 // holds: absent value
		c(policies.PostureSSONotEnforced, key, "Mode", nil, true),                                        // clear: present
		c(policies.PostureSSONotEnforced, `HKCU\`+sub+`\Missing`, "ForceSSOURL", nil, true),              // holds: absent key
		c(policies.PostureUpdatesOff, `HKCU\`+sub+`\Missing`, "EnableAutoUpdater", []string{"0"}, false), // clear
		c(policies.PostureUpdatesOff, key, "List", []string{"a\nb"}, false),                              // holds: MULTI_SZ
		c(policies.PostureUpdatesOff, `HKLM\SOFTWARE\vcguard-test-none`, "X", []string{"0"}, false),      // clear: no key
		present(key, "Mode"),                 // holds: there, whatever its value
		present(`HKCU\`+sub+`\Missing`, "X"), // clear: not there
	}
	var r Reader
	got, errs := r.Read(context.Background(), checks, Owner{Home: os.Getenv("USERPROFILE"), SID: currentSID(t)})
	for _, err := range errs {
		t.Errorf("Read: %v", err)
	}
	want := []policies.PostureReading{
		{Kind: policies.PostureUpdatesOff, Where: key + `\EnableAutoUpdater`, Detail: "0"},
		{Kind: policies.PostureTelemetryOn, Where: key + `\Big`, Detail: "1099511627776"},
		{Kind: policies.PostureUpdatesOff, Where: key + `\Mode`, Detail: "disabled"},
		{Kind: policies.PostureSSONotEnforced, Where: key + `\ForceSSOURL`, Detail: "not set"},
		{Kind: policies.PostureSSONotEnforced, Where: `HKCU\` + sub + `\Missing\ForceSSOURL`, Detail: "not set"},
		{Kind: policies.PostureUpdatesOff, Where: key + `\List`, Detail: "a\nb"},
		{Kind: policies.PostureAutostart, Where: key + `\Mode`, Detail: "present"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read =\n%+v\nwant\n%+v", got, want)
	}

	// Without the owner's SID an HKCU check is an error, not the
	// service's own HKCU.
	_, errs = r.Read(context.Background(), checks[:1], Owner{})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "no SID") {
		t.Errorf("no SID: errors = %v", errs)
	}
}

// TestCatalogRegistryChecks reads every registry check of the catalog
// against values written under a test key: each check's key is moved
// under HKCU\Software\vcguard-test-..., its value set to the first of its
// Values (finding holds), then to something else (clear).
func TestCatalogRegistryChecks(t *testing.T) {
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf(`Software\vcguard-test-%d-%d-catalog`, os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { deleteTree(t, registry.CURRENT_USER, base) })
	owner := Owner{SID: currentSID(t)}
	n := 0
	for _, app := range cat.Apps() {
		for i, c := range app.Posture {
			if c.Registry == "" {
				continue
			}
			n++
			sub := fmt.Sprintf(`%s\%s-%d`, base, app.ID, i)
			test := c
			test.Registry = `HKCU\` + sub
			k, _, err := registry.CreateKey(registry.CURRENT_USER, sub, registry.ALL_ACCESS)
			if err != nil {
				t.Fatal(err)
			}
			var r Reader
			for _, tc := range []struct {
				set  func() error
				want bool
			}{
				{func() error { return nil }, c.Absent},
				{func() error { return setLike(k, c.Key, firstOr(c.Values, "x")) }, len(c.Values) > 0 || c.Present},
				{func() error { return setLike(k, c.Key, "12345-not-a-listed-value") }, c.Present},
			} {
				if err := tc.set(); err != nil {
					t.Fatal(err)
				}
				got, errs := r.Read(context.Background(), []policies.PostureCheck{test}, owner)
				if len(errs) != 0 || (len(got) == 1) != tc.want {
					t.Errorf("%s/%d %s: readings %+v, errors %v, want finding %v", app.ID, i, c.Where(), got, errs, tc.want)
				}
			}
			k.Close()
		}
	}
	t.Logf("%d registry checks of the catalog read", n)
}

func firstOr(values []string, def string) string {
	if len(values) > 0 {
		return values[0]
	}
	return def
}

// setLike writes v as a DWORD when it is a number (as policies set them),
// else as a string.
func setLike(k registry.Key, name, v string) error {
	var n uint32
	if _, err := fmt.Sscan(v, &n); err == nil && fmt.Sprint(n) == v {
		return k.SetDWordValue(name, n)
	}
	return k.SetStringValue(name, v)
}

func deleteTree(t *testing.T, root registry.Key, path string) {
	k, err := registry.OpenKey(root, path, registry.ENUMERATE_SUB_KEYS)
	if err == nil {
		names, _ := k.ReadSubKeyNames(-1)
		k.Close()
		for _, n := range names {
			deleteTree(t, root, path+`\`+n)
		}
	}
	if err := registry.DeleteKey(root, path); err != nil && err != registry.ErrNotExist {
		t.Errorf("delete %s: %v", path, err)
	}
}
