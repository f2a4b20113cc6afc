package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// config is what every agent subcommand runs with. Flags win over the
// configuration file.
type config struct {
	ConfigFile       string        `yaml:"-"`
	Server           string        `yaml:"server"`
	EnrollSecretFile string        `yaml:"enroll_secret_file"`
	CAFile           string        `yaml:"ca_file"`
	StateDir         string        `yaml:"state_dir"`
	ScanInterval     time.Duration `yaml:"scan_interval"`
	CatalogDir       string        `yaml:"catalog_dir"`
	PolicyDir        string        `yaml:"policy_dir"`
	StatusFile       string        `yaml:"status_file"`
	NotifySocket     string        `yaml:"notify_socket"`
	RunUserDir       string        `yaml:"run_user_dir"`
	QuietPeriod      time.Duration `yaml:"quiet_period"`
	// Enforce comes from the flag; EnforceFile from the file, where an
	// absent key must not mean false.
	Enforce     bool   `yaml:"-"`
	EnforceFile *bool  `yaml:"enforce"`
	LogFormat   string `yaml:"log_format"`
	LogFile     string `yaml:"log_file"`
	// Service is set on the command line the service manager starts: the
	// agent then talks to the service manager whatever its heuristics say
	// (under Wine, and in some Windows containers, the service's session is
	// not 0 and svc.IsWindowsService answers false).
	Service bool `yaml:"-"`
	// flagArgs are the flags given on the command line, as
	// "--name=value", for the service's command line.
	flagArgs []string
}

// Validate checks the configuration a running agent needs.
func (c *config) Validate() error {
	if c.StateDir == "" {
		return errors.New("state_dir (--state-dir) must name a directory")
	}
	if c.ScanInterval < 100*time.Millisecond {
		return fmt.Errorf("scan_interval (--scan-interval) %s: must be at least 100ms", c.ScanInterval)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log_format (--log-format) %q: want text or json", c.LogFormat)
	}
	return nil
}

// validateEnroll checks what enrollment needs.
func (c *config) validateEnroll() error {
	if c.Server == "" {
		return errors.New("the agent is not enrolled and no server is set: give --server HOST:PORT")
	}
	host, port, err := net.SplitHostPort(c.Server)
	if err != nil {
		return fmt.Errorf("server (--server) %q: want HOST:PORT: %w", c.Server, err)
	}
	if host == "" || port == "" {
		return fmt.Errorf("server (--server) %q: want HOST:PORT with both parts", c.Server)
	}
	if c.EnrollSecretFile == "" {
		return errors.New("the agent is not enrolled: give --enroll-secret-file FILE")
	}
	if c.CAFile == "" {
		return errors.New("the agent is not enrolled: give --ca-file FILE (the server's ca.pem)")
	}
	return nil
}

// parseConfig reads flags for a subcommand, then fills what no flag set from
// the configuration file (--config, or defaultFile when it exists).
func parseConfig(name string, args []string, defaultFile string) (*config, error) {
	fs := flag.NewFlagSet("vcguard-agent "+name, flag.ContinueOnError)
	c := &config{}
	fs.StringVar(&c.ConfigFile, "config", "", "configuration file (YAML; default "+defaultFile+" when it exists)")
	fs.StringVar(&c.Server, "server", "", "server gRPC address HOST:PORT")
	fs.StringVar(&c.EnrollSecretFile, "enroll-secret-file", "", "file holding the enrollment secret (used once, to enroll)")
	fs.StringVar(&c.CAFile, "ca-file", "", "the server's CA certificate (PEM)")
	fs.StringVar(&c.StateDir, "state-dir", defaultStateDir, "directory for the device key, certificate, policy and event outbox")
	fs.DurationVar(&c.ScanInterval, "scan-interval", 2*time.Second, "how often the process table is polled where the OS gives no process events (Linux without root, macOS, Windows)")
	fs.StringVar(&c.CatalogDir, "catalog-dir", "", "directory of extra catalog entries (*.yaml, the organisation's own tools), added to the built-in catalog")
	fs.StringVar(&c.PolicyDir, "policy-dir", defaultPolicyDir, "local policy directory (root-owned, MDM drop-ins), applied beside the central policy; the strictest finding wins")
	fs.StringVar(&c.StatusFile, "status-file", defaultStatusFile, "where the agent shows the person at the keyboard what it sees and reports (read by `vcguard-agent status`)")
	fs.StringVar(&c.NotifySocket, "notify-socket", "", "socket (pipe on Windows) the per-user notifiers connect to; default per OS")
	fs.StringVar(&c.RunUserDir, "run-user-dir", "", "where the users' runtime directories are (Linux, default /run/user): the agent finds each user's PipeWire or PulseAudio there")
	fs.DurationVar(&c.QuietPeriod, "quiet-period", 30*time.Minute, "a finding that persists is told again after this long; negative: never again")
	fs.BoolVar(&c.Enforce, "enforce", true, "close apps a block rule forbids (false: block rules only warn)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogFile, "log-file", "", "append the log to this file (kept under "+fmt.Sprint(maxLogSize>>20)+" MiB, one older copy as FILE.1) instead of standard error; a service has no standard error on Windows")
	fs.BoolVar(&c.Service, "service", false, "run under the service manager (install puts it on the service's command line)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if f.Name != "service" {
			c.flagArgs = append(c.flagArgs, "--"+f.Name+"="+f.Value.String())
		}
	})
	path := c.ConfigFile
	if path == "" && defaultFile != "" {
		if _, err := os.Stat(defaultFile); err == nil {
			path = defaultFile
		}
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read configuration: %w", err)
		}
		var fromFile config
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&fromFile); err != nil && !errors.Is(err, io.EOF) {
			return nil, fileError(path, err)
		}
		merge := func(flagName string, dst *string, v string) {
			if !set[flagName] && v != "" {
				*dst = v
			}
		}
		merge("server", &c.Server, fromFile.Server)
		merge("enroll-secret-file", &c.EnrollSecretFile, fromFile.EnrollSecretFile)
		merge("ca-file", &c.CAFile, fromFile.CAFile)
		merge("state-dir", &c.StateDir, fromFile.StateDir)
		merge("log-format", &c.LogFormat, fromFile.LogFormat)
		merge("log-file", &c.LogFile, fromFile.LogFile)
		merge("catalog-dir", &c.CatalogDir, fromFile.CatalogDir)
		merge("policy-dir", &c.PolicyDir, fromFile.PolicyDir)
		merge("status-file", &c.StatusFile, fromFile.StatusFile)
		merge("notify-socket", &c.NotifySocket, fromFile.NotifySocket)
		merge("run-user-dir", &c.RunUserDir, fromFile.RunUserDir)
		if !set["quiet-period"] && fromFile.QuietPeriod != 0 {
			c.QuietPeriod = fromFile.QuietPeriod
		}
		if !set["enforce"] && fromFile.EnforceFile != nil {
			c.Enforce = *fromFile.EnforceFile
		}
		if !set["scan-interval"] && fromFile.ScanInterval != 0 {
			c.ScanInterval = fromFile.ScanInterval
		}
		c.ConfigFile = path
	}
	return c, c.Validate()
}

// fileError says where in the configuration file path decoding failed:
// "configuration /etc/vcguard/agent.yaml:3: unknown key "colour" (known
// keys: …)".
func fileError(path string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// Syntax errors read "yaml: line N: …".
		return fmt.Errorf("configuration %s: %w", path, err)
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		line, msg := e, ""
		if rest, ok := strings.CutPrefix(e, "line "); ok {
			if n, m, ok := strings.Cut(rest, ": "); ok {
				line, msg = n, m
			}
		}
		if key, ok := strings.CutPrefix(msg, "field "); ok {
			if key, ok = strings.CutSuffix(key, " not found in type main.config"); ok {
				msg = fmt.Sprintf("unknown key %q (known keys: %s)", key, strings.Join(configKeys(), ", "))
			}
		}
		if what, ok := strings.CutSuffix(msg, " into main.config"); ok {
			msg = what + ": the file must hold key: value lines"
		}
		if msg == "" {
			msgs = append(msgs, fmt.Sprintf("configuration %s: %s", path, e))
		} else {
			msgs = append(msgs, fmt.Sprintf("configuration %s:%s: %s", path, line, msg))
		}
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// configKeys lists the keys a configuration file may set.
func configKeys() []string {
	t := reflect.TypeFor[config]()
	keys := make([]string, 0, t.NumField())
	for f := range t.Fields() {
		if k := f.Tag.Get("yaml"); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}
