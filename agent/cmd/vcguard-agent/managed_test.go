package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"howett.net/plist"
)

var fixtureFP = strings.Repeat("ab", 32)

const fixturePlist = "testdata/managed/eu.vcguard.agent.plist"

func TestParseManagedPlist(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(fixturePlist)
	if err != nil {
		t.Fatal(err)
	}
	want := managedConfig{Source: "managed: preferences", Server: "10.0.0.5:8443", EnrollSecret: "vcg_enroll_managed-secret-value",
		CAFingerprint: strings.Repeat("AB:", 31) + "AB", DeviceGroup: "finance"}
	got, err := parseManagedPlist(data)
	if err != nil || got != want {
		t.Errorf("XML plist: %+v, %v; want %+v", got, err, want)
	}
	// The same in binary form, as mdmclient may write it.
	var m map[string]any
	if _, err := plist.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m[keyCACertificate] = "-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n"
	bin, err := plist.Marshal(m, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	want.CACertificate = "-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----"
	if got, err := parseManagedPlist(bin); err != nil || got != want {
		t.Errorf("binary plist: %+v, %v", got, err)
	}

	wrong, err := os.ReadFile("testdata/managed/wrong-type.plist")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseManagedPlist(wrong); err == nil || !strings.Contains(err.Error(), "key Server: want a string") {
		t.Errorf("integer Server: %v", err)
	}
	if _, err := parseManagedPlist([]byte("server: x\n")); err == nil {
		t.Error("YAML parsed as a plist")
	}
}

func TestManagedFromRegistry(t *testing.T) {
	t.Parallel()
	got := managedFromRegistry(map[string]string{
		"Server": " 10.0.0.5:8443 ", "cafile": `C:\ProgramData\vcguard\ca.pem`, "CAFingerprint": fixtureFP, "DeviceGroup": "finance",
		// The registry carries no secret (the MSI stores it with
		// enroll-secret) and no PEM.
		"EnrollSecret": "leaked", "CACertificate": "pem", "Other": "x",
	})
	want := managedConfig{Source: "managed: registry", Server: "10.0.0.5:8443", CAFile: `C:\ProgramData\vcguard\ca.pem`, CAFingerprint: fixtureFP, DeviceGroup: "finance"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// plistStore reads path as managed preferences; the ownership check returns checkErr.
func plistStore(path string, checkErr error) managedStore {
	return plistFileStore{path: path, check: func(string) error { return checkErr }, readFile: os.ReadFile}
}

// registryFixture serves values as the policy key's.
func registryFixture(values map[string]string) managedStore {
	return registryStore{read: func() (map[string]string, error) { return values, nil }}
}

// TestConfigPrecedencePerOS: managed configuration, then flags, then the
// environment, then the file, for each OS's managed store, with each
// value's source.
func TestConfigPrecedencePerOS(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "server: file.example:8443\nca_file: /file/ca.pem\ndevice_group: file-group\nenroll_secret_file: /file/secret\nstate_dir: /file/state\n")
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	winValues := map[string]string{"Server": "10.0.0.5:8443", "CAFingerprint": fixtureFP, "DeviceGroup": "finance"}
	type want struct {
		server, caFile, caFP, group, secretFile, stateDir, secret string
		sources                                                   map[string]string
	}
	fsrc := "file " + file
	for _, tc := range []struct {
		name    string
		managed managedStore
		args    []string
		env     map[string]string
		want    want
	}{
		{
			name: "linux: no managed store, flags win over environment over file",
			args: []string{"--config", file, "--server", "flag.example:1"},
			env:  map[string]string{"VCGUARD_SERVER": "env.example:1", "VCGUARD_DEVICE_GROUP": "env-group"},
			want: want{server: "flag.example:1", caFile: "/file/ca.pem", group: "env-group", secretFile: "/file/secret", stateDir: "/file/state",
				sources: map[string]string{"server": "flag --server", "ca_file": fsrc, "device_group": "environment VCGUARD_DEVICE_GROUP", "enroll_secret_file": fsrc, "state_dir": fsrc}},
		},
		{
			name: "linux: environment wins over the file",
			args: []string{"--config", file},
			env:  map[string]string{"VCGUARD_SERVER": "env.example:1", "VCGUARD_CA_FINGERPRINT": withColons(fixtureFP)},
			want: want{server: "env.example:1", caFile: "/file/ca.pem", caFP: fixtureFP, group: "file-group", secretFile: "/file/secret", stateDir: "/file/state",
				sources: map[string]string{"server": "environment VCGUARD_SERVER", "ca_file": fsrc, "ca_fingerprint": "environment VCGUARD_CA_FINGERPRINT", "device_group": fsrc, "enroll_secret_file": fsrc, "state_dir": fsrc}},
		},
		{
			name:    "windows: the registry wins over flags, environment and file; the managed CA replaces the file's",
			managed: registryFixture(winValues),
			args:    []string{"--config", file, "--server", "flag.example:1", "--state-dir", "/flag/state"},
			env:     map[string]string{"VCGUARD_DEVICE_GROUP": "env-group"},
			want: want{server: "10.0.0.5:8443", caFP: fixtureFP, group: "finance", secretFile: "/file/secret", stateDir: "/flag/state",
				sources: map[string]string{
					"server":             "managed: registry; overrides flag --server",
					"ca_fingerprint":     "managed: registry; overrides " + fsrc,
					"device_group":       "managed: registry; overrides environment VCGUARD_DEVICE_GROUP",
					"enroll_secret_file": fsrc, "state_dir": "flag --state-dir",
				}},
		},
		{
			name:    "windows: registry CAFile replaces a flag's fingerprint",
			managed: registryFixture(map[string]string{"CAFile": `C:\ca.pem`}),
			args:    []string{"--ca-fingerprint", fixtureFP},
			want: want{caFile: `C:\ca.pem`, stateDir: defaultStateDir,
				sources: map[string]string{"ca_file": "managed: registry; overrides flag --ca-fingerprint"}},
		},
		{
			name:    "windows: an empty policy key changes nothing",
			managed: registryFixture(nil),
			args:    []string{"--config", file},
			want: want{server: "file.example:8443", caFile: "/file/ca.pem", group: "file-group", secretFile: "/file/secret", stateDir: "/file/state",
				sources: map[string]string{"server": fsrc, "ca_file": fsrc, "device_group": fsrc, "enroll_secret_file": fsrc, "state_dir": fsrc}},
		},
		{
			name:    "darwin: managed preferences win, secret and all",
			managed: plistStore(fixturePlist, nil),
			args:    []string{"--config", file, "--device-group", "flag-group"},
			want: want{server: "10.0.0.5:8443", caFP: fixtureFP, group: "finance", secretFile: "/file/secret", stateDir: "/file/state", secret: "vcg_enroll_managed-secret-value",
				sources: map[string]string{
					"server":             "managed: preferences; overrides " + fsrc,
					"ca_fingerprint":     "managed: preferences; overrides " + fsrc,
					"device_group":       "managed: preferences; overrides flag --device-group",
					"enroll_secret":      "managed: preferences",
					"enroll_secret_file": fsrc, "state_dir": fsrc,
				}},
		},
		{
			name:    "darwin: no profile installed",
			managed: plistStore(filepath.Join(t.TempDir(), "absent.plist"), fmt.Errorf("read x: %w", fs.ErrNotExist)),
			args:    []string{"--server", "flag.example:1"},
			want:    want{server: "flag.example:1", stateDir: defaultStateDir, sources: map[string]string{"server": "flag --server"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig("run", tc.args, configInputs{DefaultFile: noDefault(t), Managed: tc.managed, Getenv: env(tc.env)})
			if err != nil {
				t.Fatal(err)
			}
			got := want{server: c.Server, caFile: c.CAFile, caFP: c.CAFingerprint, group: c.DeviceGroup, secretFile: c.EnrollSecretFile,
				stateDir: c.StateDir, secret: c.enrollSecret, sources: c.sources}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got  %+v\n want %+v", got, tc.want)
			}
			// The service's command line carries the flags only, never a
			// managed value.
			for _, a := range c.flagArgs {
				if strings.Contains(a, "10.0.0.5") || strings.Contains(a, "managed-secret") {
					t.Errorf("flagArgs holds a managed value: %v", c.flagArgs)
				}
			}
		})
	}
}

func withColons(hex string) string {
	var b strings.Builder
	for i := 0; i < len(hex); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(hex[i : i+2]))
	}
	return b.String()
}

func TestManagedConfigRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		managed managedStore
		want    []string
	}{
		{"plist writable by others", plistStore(fixturePlist, errors.New("/Library/Managed Preferences/eu.vcguard.agent.plist: owned by uid 501, not root")),
			[]string{"managed preferences refused", "owned by uid 501, not root"}},
		{"plist of the wrong shape", plistStore("testdata/managed/wrong-type.plist", nil), []string{"wrong-type.plist", "key Server: want a string"}},
		{"registry unreadable", registryStore{read: func() (map[string]string, error) { return nil, errors.New("access denied") }},
			[]string{`registry SOFTWARE\Policies\vcguard\Agent`, "access denied"}},
		{"registry fingerprint not hex", registryFixture(map[string]string{"CAFingerprint": "not-a-fingerprint"}),
			[]string{"ca_fingerprint (--ca-fingerprint, managed: registry)", "64 hex digits"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig("run", nil, configInputs{DefaultFile: noDefault(t), Managed: tc.managed})
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not say %q", err, w)
				}
			}
		})
	}
}

// status names each value's source and never shows the secret.
func TestStatusShowsSources(t *testing.T) {
	t.Parallel()
	c, err := loadConfig("status", []string{"--server", "flag.example:1", "--state-dir", t.TempDir()}, configInputs{
		DefaultFile: noDefault(t), Managed: plistStore(fixturePlist, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printConfigSources(&out, c)
	for _, want := range []string{
		"Server:      10.0.0.5:8443 (managed: preferences; overrides flag --server)\n",
		"CA SHA-256:  " + fixtureFP + " (managed: preferences)\n",
		"Secret:      set (managed: preferences)\n",
		"Group:       finance (managed: preferences)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status does not say %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "managed-secret-value") {
		t.Errorf("status shows the secret:\n%s", out.String())
	}

	c, err = loadConfig("status", []string{"--state-dir", t.TempDir()}, configInputs{DefaultFile: noDefault(t),
		Managed: registryFixture(map[string]string{"Server": "10.0.0.5:8443", "CAFile": `C:\ca.pem`})})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	printConfigSources(&out, c)
	for _, want := range []string{"Server:      10.0.0.5:8443 (managed: registry)\n", `CA:          C:\ca.pem (managed: registry)` + "\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status does not say %q:\n%s", want, out.String())
		}
	}
}

// A profile uploaded with installer/mobileconfig's placeholders still in it
// is refused with the key named, not taken as a server called __SERVER__.
func TestManagedPlistPlaceholder(t *testing.T) {
	t.Parallel()
	data := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Server</key><string>__SERVER__</string>
<key>DeviceGroup</key><string>board</string>
</dict></plist>`)
	_, err := parseManagedPlist(data)
	if err == nil || !strings.Contains(err.Error(), "key Server still holds the placeholder __SERVER__") {
		t.Errorf("parseManagedPlist(placeholder) = %v", err)
	}
	for s, want := range map[string]bool{"__SERVER__": true, "__CA_FINGERPRINT__": true, "____": false, "__x__": false, "server": false} {
		if got := isPlaceholder(s); got != want {
			t.Errorf("isPlaceholder(%q) = %v, want %v", s, got, want)
		}
	}
}
