package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/registry"
)

// testKey creates a fresh key under root and deletes it when the test ends.
func testKey(t *testing.T, root registry.Key, path string) registry.Key {
	t.Helper()
	k, _, err := registry.CreateKey(root, path, registry.ALL_ACCESS|registry.WOW64_64KEY)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	t.Cleanup(func() {
		k.Close()
		_ = registry.DeleteKey(root, path)
	})
	return k
}

func TestReadRegistryValues(t *testing.T) {
	path := fmt.Sprintf(`Software\vcguard-test\Agent-%d`, time.Now().UnixNano())
	if v, err := readRegistryValues(registry.CURRENT_USER, path); err != nil || v != nil {
		t.Fatalf("missing key: %v, %v; want no values and no error", v, err)
	}
	k := testKey(t, registry.CURRENT_USER, path)
	for name, v := range map[string]string{"Server": "10.0.0.5:8443", "CAFingerprint": fixtureFP, "DeviceGroup": "finance"} {
		if err := k.SetStringValue(name, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.SetExpandStringValue("CAFile", `%ProgramData%\vcguard\ca.pem`); err != nil {
		t.Fatal(err)
	}
	if err := k.SetDWordValue("Ignored", 7); err != nil {
		t.Fatal(err)
	}
	got, err := readRegistryValues(registry.CURRENT_USER, path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Server": "10.0.0.5:8443", "CAFingerprint": fixtureFP, "DeviceGroup": "finance", "CAFile": `%ProgramData%\vcguard\ca.pem`}
	if len(got) != len(want) {
		t.Errorf("values = %v, want %v", got, want)
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %q, want %q", name, got[name], v)
		}
	}
}

// The real policy key, as the MSI writes it, wins over flags; status names
// the registry.
func TestPolicyKeyWinsOverFlags(t *testing.T) {
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, policyKeyPath, registry.QUERY_VALUE); err == nil {
		k.Close()
		t.Skip("this machine has a vcguard policy key; not touching it")
	}
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, policyKeyPath, registry.ALL_ACCESS|registry.WOW64_64KEY)
	if err != nil {
		t.Skipf("cannot create HKLM\\%s (not an administrator?): %v", policyKeyPath, err)
	}
	t.Cleanup(func() {
		k.Close()
		_ = registry.DeleteKey(registry.LOCAL_MACHINE, policyKeyPath)
		_ = registry.DeleteKey(registry.LOCAL_MACHINE, `SOFTWARE\Policies\vcguard`)
	})
	for name, v := range map[string]string{"Server": "10.0.0.5:8443", "CAFingerprint": withColons(fixtureFP), "DeviceGroup": "finance"} {
		if err := k.SetStringValue(name, v); err != nil {
			t.Fatal(err)
		}
	}
	c, err := loadConfig("status", []string{"--server", "flag.example:1", "--ca-file", `C:\old\ca.pem`, "--state-dir", t.TempDir()},
		configInputs{DefaultFile: noDefault(t), Managed: osManagedStore()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != "10.0.0.5:8443" || c.CAFingerprint != fixtureFP || c.CAFile != "" || c.DeviceGroup != "finance" {
		t.Errorf("config %+v", c)
	}
	var out strings.Builder
	printConfigSources(&out, c)
	if want := "Server:      10.0.0.5:8443 (managed: registry; overrides flag --server)"; !strings.Contains(out.String(), want) {
		t.Errorf("status does not say %q:\n%s", want, out.String())
	}
}
