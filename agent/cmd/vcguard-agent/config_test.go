package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseHermetic is parseConfig without this machine's managed
// configuration and environment.
func parseHermetic(name string, args []string, defaultFile string) (*config, error) {
	return loadConfig(name, args, configInputs{DefaultFile: defaultFile})
}

// noDefault is a default configuration file that does not exist, so that a
// test does not depend on what is installed in /etc.
func noDefault(t *testing.T) string { return filepath.Join(t.TempDir(), "absent.yaml") }

const fullFile = `# every key
server: file.example:8443
enroll_secret_file: /file/secret
ca_file: /file/ca.pem
state_dir: /file/state
scan_interval: 30s
log_format: json
`

func TestParseConfigPrecedence(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, fullFile)
	for _, tc := range []struct {
		name      string
		args      []string
		want      config
		wantFlags string
	}{
		{
			name: "file only",
			args: []string{"--config", path},
			want: config{ConfigFile: path, Server: "file.example:8443", EnrollSecretFile: "/file/secret", CAFile: "/file/ca.pem",
				StateDir: "/file/state", ScanInterval: 30 * time.Second, PolicyDir: defaultPolicyDir, StatusFile: defaultStatusFile, QuietPeriod: 30 * time.Minute, Enforce: true, LogFormat: "json"},
			wantFlags: "--config=" + path,
		},
		{
			name: "flags win, the file fills the rest",
			args: []string{"--config", path, "--server", "flag.example:443", "--state-dir", "/flag/state", "--scan-interval", "2s"},
			want: config{ConfigFile: path, Server: "flag.example:443", EnrollSecretFile: "/file/secret", CAFile: "/file/ca.pem",
				StateDir: "/flag/state", ScanInterval: 2 * time.Second, PolicyDir: defaultPolicyDir, StatusFile: defaultStatusFile, QuietPeriod: 30 * time.Minute, Enforce: true, LogFormat: "json"},
			wantFlags: "--config=" + path + " --scan-interval=2s --server=flag.example:443 --state-dir=/flag/state",
		},
		{
			// A flag set to its default value was still given: it wins.
			name: "flag equal to its default wins",
			args: []string{"--log-format", "text", "--scan-interval", "2s", "--state-dir", defaultStateDir, "--config", path},
			want: config{ConfigFile: path, Server: "file.example:8443", EnrollSecretFile: "/file/secret", CAFile: "/file/ca.pem",
				StateDir: defaultStateDir, ScanInterval: 2 * time.Second, PolicyDir: defaultPolicyDir, StatusFile: defaultStatusFile, QuietPeriod: 30 * time.Minute, Enforce: true, LogFormat: "text"},
			wantFlags: "--config=" + path + " --log-format=text --scan-interval=2s --state-dir=" + defaultStateDir,
		},
		{
			name: "every flag",
			args: []string{"-config", path, "-server", "f:1", "-enroll-secret-file", "/f/s", "-ca-file", "/f/ca", "-state-dir", "/f/st",
				"-scan-interval", "1m", "-log-format", "text"},
			want: config{ConfigFile: path, Server: "f:1", EnrollSecretFile: "/f/s", CAFile: "/f/ca", StateDir: "/f/st",
				ScanInterval: time.Minute, PolicyDir: defaultPolicyDir, StatusFile: defaultStatusFile, QuietPeriod: 30 * time.Minute, Enforce: true, LogFormat: "text"},
			wantFlags: "--ca-file=/f/ca --config=" + path + " --enroll-secret-file=/f/s --log-format=text --scan-interval=1m0s --server=f:1 --state-dir=/f/st",
		},
		{
			name: "no file: defaults",
			args: nil,
			want: config{StateDir: defaultStateDir, ScanInterval: 2 * time.Second, PolicyDir: defaultPolicyDir, StatusFile: defaultStatusFile, QuietPeriod: 30 * time.Minute, Enforce: true, LogFormat: "text"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseHermetic("run", tc.args, noDefault(t))
			if err != nil {
				t.Fatal(err)
			}
			// The flags given come back for the service's command line.
			if got := strings.Join(c.flagArgs, " "); got != tc.wantFlags {
				t.Errorf("flagArgs = %q, want %q", got, tc.wantFlags)
			}
			c.flagArgs, c.sources = nil, nil
			if !reflect.DeepEqual(*c, tc.want) {
				t.Errorf("config:\n  got  %+v\n  want %+v", *c, tc.want)
			}
		})
	}
}

func TestParseConfigDefaultFile(t *testing.T) {
	t.Parallel()
	def := writeConfig(t, "server: default.example:8443\nscan_interval: 10s\n")
	c, err := parseHermetic("run", nil, def)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigFile != def || c.Server != "default.example:8443" || c.ScanInterval != 10*time.Second {
		t.Errorf("the default file was not read: %+v", *c)
	}
	// --config replaces the default file, it is not merged with it.
	other := writeConfig(t, "state_dir: /other\n")
	c, err = parseHermetic("run", []string{"--config", other}, def)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigFile != other || c.Server != "" || c.StateDir != "/other" || c.ScanInterval != 2*time.Second {
		t.Errorf("with --config: %+v", *c)
	}
}

func TestParseConfigEmptyFile(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "# nothing set yet\n", "\n\n"} {
		path := writeConfig(t, content)
		c, err := parseHermetic("status", []string{"--config", path}, noDefault(t))
		if err != nil {
			t.Errorf("file %q: %v", content, err)
			continue
		}
		c.sources = nil
		if want := (config{ConfigFile: path, StateDir: defaultStateDir, ScanInterval: 2 * time.Second, PolicyDir: defaultPolicyDir, StatusFile: defaultStatusFile, QuietPeriod: 30 * time.Minute, Enforce: true, LogFormat: "text", flagArgs: []string{"--config=" + path}}); !reflect.DeepEqual(*c, want) {
			t.Errorf("file %q: got %+v, want %+v", content, *c, want)
		}
	}
}

func TestParseConfigFileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		content string
		want    []string // substrings after the path
	}{
		{"unknown key", "server: a.example:1\nstate_dir: /s\ncolour: red\n",
			[]string{":3: unknown key \"colour\"", "known keys: server, enroll_secret_file, ca_file, ca_fingerprint, device_group, state_dir, scan_interval, catalog_dir, policy_dir, status_file, notify_socket, run_user_dir, quiet_period, enforce, log_format, log_file"}},
		{"misspelt key", "# comment\nscan-interval: 10s\n", []string{":2: unknown key \"scan-interval\""}},
		{"two unknown keys", "a: 1\nserver: x:1\nb: 2\n", []string{":1: unknown key \"a\"", ":3: unknown key \"b\""}},
		{"not a duration", "log_format: json\nscan_interval: fast\n", []string{":2: cannot unmarshal", "time.Duration"}},
		{"a bare number is no duration", "scan_interval: 5\n", []string{":1: cannot unmarshal"}},
		{"wrong shape", "- server\n- state_dir\n", []string{":1: cannot unmarshal"}},
		{"syntax error", "server: [unclosed\n", []string{": yaml: line"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			_, err := parseHermetic("run", []string{"--config", path}, noDefault(t))
			if err == nil {
				t.Fatal("parseConfig succeeded")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q:\n%v", want, err)
				}
			}
			if !strings.Contains(err.Error(), "configuration "+path) {
				t.Errorf("error does not name the file %s:\n%v", path, err)
			}
			if strings.Contains(err.Error(), "main.config") {
				t.Errorf("error shows a Go type name:\n%v", err)
			}
		})
	}
}

func TestParseConfigMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := parseHermetic("run", []string{"--config", path}, noDefault(t))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name the missing file %s", err, path)
	}
}

func TestParseConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		file string
		want string
	}{
		{"empty state dir", []string{"--state-dir", ""}, "", "state_dir (--state-dir)"},
		{"scan interval too short", []string{"--scan-interval", "50ms"}, "", "scan_interval (--scan-interval) 50ms: must be at least 100ms"},
		{"negative scan interval", []string{"--scan-interval", "-1s"}, "", "scan_interval (--scan-interval) -1s"},
		{"scan interval too short in the file", nil, "scan_interval: 10ms\n", "scan_interval (--scan-interval) 10ms"},
		{"unknown log format", []string{"--log-format", "xml"}, "", `log_format (--log-format) "xml": want text or json`},
		{"unknown log format in the file", nil, "log_format: logfmt\n", `log_format (--log-format) "logfmt"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config", writeConfig(t, tc.file))
			}
			_, err := parseHermetic("run", args, noDefault(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one that says %q", err, tc.want)
			}
		})
	}
	// The boundary is allowed.
	if _, err := parseHermetic("run", []string{"--scan-interval", "100ms"}, noDefault(t)); err != nil {
		t.Errorf("--scan-interval 100ms: %v", err)
	}
}

// quietStderr sends what the flag package prints (the usage, after an
// error) to /dev/null. Not for parallel tests: it swaps os.Stderr.
func quietStderr(t *testing.T) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = devnull
	t.Cleanup(func() {
		os.Stderr = stderr
		devnull.Close()
	})
}

func TestParseConfigArguments(t *testing.T) {
	quietStderr(t)
	if _, err := parseHermetic("run", []string{"--state-dir", "/s", "extra"}, noDefault(t)); err == nil || !strings.Contains(err.Error(), `unexpected argument "extra"`) {
		t.Errorf("extra argument: %v", err)
	}
	if _, err := parseHermetic("run", []string{"--no-such-flag"}, noDefault(t)); err == nil || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("unknown flag: %v", err)
	}
	if _, err := parseHermetic("run", []string{"--scan-interval", "soon"}, noDefault(t)); err == nil || !strings.Contains(err.Error(), "scan-interval") {
		t.Errorf("bad duration flag: %v", err)
	}
	if _, err := parseHermetic("run", []string{"-h"}, noDefault(t)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestConfigKeysMatchYAMLTags(t *testing.T) {
	t.Parallel()
	want := []string{"server", "enroll_secret_file", "ca_file", "ca_fingerprint", "device_group", "state_dir", "scan_interval", "catalog_dir", "policy_dir", "status_file", "notify_socket", "run_user_dir", "quiet_period", "enforce", "log_format", "log_file"}
	if got := configKeys(); !slices.Equal(got, want) {
		t.Errorf("configKeys() = %v, want %v", got, want)
	}
}

func TestValidateEnroll(t *testing.T) {
	t.Parallel()
	ok := config{Server: "vcguard.example:8443", EnrollSecretFile: "/s", CAFile: "/ca.pem"}
	with := func(mutate func(c *config)) config {
		c := ok
		mutate(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		c    config
		want string
	}{
		{"complete", ok, ""},
		{"IPv6 server", with(func(c *config) { c.Server = "[2001:db8::1]:8443" }), ""},
		{"no server", with(func(c *config) { c.Server = "" }), "no server is set: give --server HOST:PORT"},
		{"server without port", with(func(c *config) { c.Server = "vcguard.example" }), `server (--server) "vcguard.example": want HOST:PORT`},
		{"server with empty port", with(func(c *config) { c.Server = "vcguard.example:" }), `server (--server) "vcguard.example:": want HOST:PORT with both parts`},
		{"server with empty host", with(func(c *config) { c.Server = ":8443" }), `server (--server) ":8443": want HOST:PORT with both parts`},
		{"URL for a server", with(func(c *config) { c.Server = "https://vcguard.example:8443" }), "want HOST:PORT"},
		{"no secret", with(func(c *config) { c.EnrollSecretFile = "" }), "give --enroll-secret-file FILE"},
		{"no CA", with(func(c *config) { c.CAFile = "" }), "give --ca-file FILE (the server's ca.pem)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.validateEnroll()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("validateEnroll: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("validateEnroll = %v, want an error that says %q", err, tc.want)
			}
		})
	}
}
