package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/vcguard/vcguard/agent/uplink"
	"go.yaml.in/yaml/v3"
)

// config is what every agent subcommand runs with.
//
// Where two sources set the same key, the first of these wins:
//
//  1. managed configuration: macOS managed preferences for the domain
//     eu.vcguard.agent (a configuration profile), the Windows registry
//     policy key HKLM\SOFTWARE\Policies\vcguard\Agent (the MSI's
//     properties, Intune, Group Policy); Linux has none;
//  2. flags (the service's command line, which `install` records);
//  3. environment (VCGUARD_SERVER, VCGUARD_CA_FILE, VCGUARD_CA_FINGERPRINT,
//     VCGUARD_DEVICE_GROUP, VCGUARD_ENROLL_SECRET_FILE);
//  4. the configuration file (--config, or the default file);
//  5. the built-in default.
//
// Managed configuration wins over flags on purpose: IT sets it centrally
// and changes it there (a new server address, a new CA); a flag recorded on
// a service command line at install time, or a stale file, must not
// silently keep the old value. Flags win over the file and environment as
// they always have: a command line is the most specific local choice. Each
// value's source is kept (sources) and shown by `vcguard-agent status`;
// a flag that managed configuration overrode is named there too.
type config struct {
	ConfigFile       string `yaml:"-"`
	Server           string `yaml:"server"`
	EnrollSecretFile string `yaml:"enroll_secret_file"`
	CAFile           string `yaml:"ca_file"`
	// CAFingerprint is the SHA-256 of the server CA certificate's DER
	// (hex, colons allowed): enrollment trusts the CA in the server's chain
	// that has it, instead of a CA file.
	CAFingerprint string `yaml:"ca_fingerprint"`
	// DeviceGroup is the group this device asks for at enrollment; the
	// server refuses it unless the enrollment secret grants that group.
	DeviceGroup  string        `yaml:"device_group"`
	StateDir     string        `yaml:"state_dir"`
	ScanInterval time.Duration `yaml:"scan_interval"`
	CatalogDir   string        `yaml:"catalog_dir"`
	PolicyDir    string        `yaml:"policy_dir"`
	StatusFile   string        `yaml:"status_file"`
	NotifySocket string        `yaml:"notify_socket"`
	RunUserDir   string        `yaml:"run_user_dir"`
	QuietPeriod  time.Duration `yaml:"quiet_period"`
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
	// enrollSecret and caPEM come from managed configuration only (macOS
	// EnrollSecret and CACertificate); never logged.
	enrollSecret string
	caPEM        string
	// sources says where each key's value came from, by configuration
	// key ("server": "managed: registry"); keys left at their default are
	// absent.
	sources map[string]string
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
	if c.EnrollSecretFile == "" && c.enrollSecret == "" {
		if _, err := os.Stat(filepath.Join(c.StateDir, uplink.SecretFile)); err != nil {
			return fmt.Errorf("the agent is not enrolled and has no enrollment secret: give --enroll-secret-file FILE, or store it with `vcguard-agent enroll-secret --set VALUE` (or --stdin)")
		}
	}
	if c.CAFile == "" && c.caPEM == "" && c.CAFingerprint == "" {
		return errors.New("the agent is not enrolled: give --ca-file FILE (the server's ca.pem) or --ca-fingerprint SHA256 (of the server's CA certificate)")
	}
	return nil
}

// configInputs are the sources of configuration besides the command line.
type configInputs struct {
	// DefaultFile is read when no --config is given and it exists.
	DefaultFile string
	// Managed is this OS's managed configuration; nil for none.
	Managed managedStore
	// Getenv reads the environment; nil reads none.
	Getenv func(string) string
	// Extra defines a subcommand's own flags; they are not passed on to
	// the service's command line.
	Extra func(fs *flag.FlagSet)
}

// parseConfig reads the configuration of a subcommand from this machine's
// managed configuration, args, the environment and the configuration file
// (--config, or defaultFile when it exists).
func parseConfig(name string, args []string, defaultFile string) (*config, error) {
	return loadConfig(name, args, configInputs{DefaultFile: defaultFile, Managed: osManagedStore(), Getenv: os.Getenv})
}

// stringKey is a string-valued configuration key and everywhere it may be
// set.
type stringKey struct {
	key  string // configuration file key
	flag string // flag name
	env  string // environment variable; "" for none
	dst  func(c *config) *string
	// managed picks the key from managed configuration; nil when no
	// managed store sets it.
	managed func(m *managedConfig) string
}

var stringKeys = []stringKey{
	{"server", "server", "VCGUARD_SERVER", func(c *config) *string { return &c.Server }, func(m *managedConfig) string { return m.Server }},
	{"enroll_secret_file", "enroll-secret-file", "VCGUARD_ENROLL_SECRET_FILE", func(c *config) *string { return &c.EnrollSecretFile }, nil},
	{"ca_file", "ca-file", "VCGUARD_CA_FILE", func(c *config) *string { return &c.CAFile }, func(m *managedConfig) string { return m.CAFile }},
	{"ca_fingerprint", "ca-fingerprint", "VCGUARD_CA_FINGERPRINT", func(c *config) *string { return &c.CAFingerprint }, func(m *managedConfig) string { return m.CAFingerprint }},
	{"device_group", "device-group", "VCGUARD_DEVICE_GROUP", func(c *config) *string { return &c.DeviceGroup }, func(m *managedConfig) string { return m.DeviceGroup }},
	{"state_dir", "state-dir", "", func(c *config) *string { return &c.StateDir }, nil},
	{"log_format", "log-format", "", func(c *config) *string { return &c.LogFormat }, nil},
	{"log_file", "log-file", "", func(c *config) *string { return &c.LogFile }, nil},
	{"catalog_dir", "catalog-dir", "", func(c *config) *string { return &c.CatalogDir }, nil},
	{"policy_dir", "policy-dir", "", func(c *config) *string { return &c.PolicyDir }, nil},
	{"status_file", "status-file", "", func(c *config) *string { return &c.StatusFile }, nil},
	{"notify_socket", "notify-socket", "", func(c *config) *string { return &c.NotifySocket }, nil},
	{"run_user_dir", "run-user-dir", "", func(c *config) *string { return &c.RunUserDir }, nil},
}

// loadConfig reads flags for a subcommand from args and merges the other
// sources in the order documented on config.
func loadConfig(name string, args []string, in configInputs) (*config, error) {
	fs := flag.NewFlagSet("vcguard-agent "+name, flag.ContinueOnError)
	c := &config{}
	fs.StringVar(&c.ConfigFile, "config", "", "configuration file (YAML; default "+in.DefaultFile+" when it exists)")
	fs.StringVar(&c.Server, "server", "", "server gRPC address HOST:PORT")
	fs.StringVar(&c.EnrollSecretFile, "enroll-secret-file", "", "file holding the enrollment secret (used once, to enroll); default: the one `enroll-secret --set` stored")
	fs.StringVar(&c.CAFile, "ca-file", "", "the server's CA certificate (PEM)")
	fs.StringVar(&c.CAFingerprint, "ca-fingerprint", "", "instead of --ca-file: SHA-256 of the server CA certificate (hex, colons allowed); enrollment trusts the CA in the server's chain with this fingerprint and keeps it")
	fs.StringVar(&c.DeviceGroup, "device-group", "", "device group to enroll into; the server refuses it unless the enrollment secret grants that group")
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
	own := map[string]bool{"service": true}
	if in.Extra != nil {
		before := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
		in.Extra(fs)
		fs.VisitAll(func(f *flag.Flag) { own[f.Name] = !before[f.Name] || own[f.Name] })
	}
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if !own[f.Name] {
			c.flagArgs = append(c.flagArgs, "--"+f.Name+"="+f.Value.String())
		}
	})
	c.sources = map[string]string{}
	source := func(key, from string) { c.sources[key] = from }
	for _, k := range stringKeys {
		if set[k.flag] {
			source(k.key, "flag --"+k.flag)
		}
	}
	for _, n := range []struct{ key, flag string }{{"scan_interval", "scan-interval"}, {"quiet_period", "quiet-period"}, {"enforce", "enforce"}} {
		if set[n.flag] {
			source(n.key, "flag --"+n.flag)
		}
	}

	path := c.ConfigFile
	if path == "" && in.DefaultFile != "" {
		if _, err := os.Stat(in.DefaultFile); err == nil {
			path = in.DefaultFile
		}
	}
	var fromFile config
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read configuration: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&fromFile); err != nil && !errors.Is(err, io.EOF) {
			return nil, fileError(path, err)
		}
		c.ConfigFile = path
	}
	fileSource := "file " + path
	// Flags, then the environment, then the file.
	for _, k := range stringKeys {
		if set[k.flag] {
			continue
		}
		if k.env != "" && in.Getenv != nil {
			if v := strings.TrimSpace(in.Getenv(k.env)); v != "" {
				*k.dst(c) = v
				source(k.key, "environment "+k.env)
				continue
			}
		}
		if v := *k.dst(&fromFile); v != "" {
			*k.dst(c) = v
			source(k.key, fileSource)
		}
	}
	if !set["quiet-period"] && fromFile.QuietPeriod != 0 {
		c.QuietPeriod = fromFile.QuietPeriod
		source("quiet_period", fileSource)
	}
	if !set["enforce"] && fromFile.EnforceFile != nil {
		c.Enforce = *fromFile.EnforceFile
		source("enforce", fileSource)
	}
	if !set["scan-interval"] && fromFile.ScanInterval != 0 {
		c.ScanInterval = fromFile.ScanInterval
		source("scan_interval", fileSource)
	}

	// Managed configuration wins over everything.
	if in.Managed != nil {
		m, err := in.Managed.Read()
		if err != nil {
			return nil, err
		}
		// The CA is one setting: a managed CA (file, fingerprint or
		// certificate) replaces whatever CA a lower source named, so that
		// a stale --ca-file cannot contradict IT's new fingerprint.
		var caOverrides []string
		if m.CAFile != "" || m.CAFingerprint != "" || m.CACertificate != "" {
			for _, k := range stringKeys {
				if k.key != "ca_file" && k.key != "ca_fingerprint" {
					continue
				}
				if prev, ok := c.sources[k.key]; ok && *k.dst(c) != k.managed(&m) {
					caOverrides = append(caOverrides, prev)
					*k.dst(c) = ""
					delete(c.sources, k.key)
				}
			}
		}
		caNote := ""
		if len(caOverrides) > 0 {
			caNote = "; overrides " + strings.Join(caOverrides, ", ")
		}
		for _, k := range stringKeys {
			if k.managed == nil {
				continue
			}
			v := k.managed(&m)
			if v == "" {
				continue
			}
			from := m.Source
			if prev, ok := c.sources[k.key]; ok && *k.dst(c) != v {
				from += "; overrides " + prev
			}
			if k.key == "ca_file" || k.key == "ca_fingerprint" {
				from += caNote
				caNote = ""
			}
			*k.dst(c) = v
			source(k.key, from)
		}
		if m.EnrollSecret != "" {
			c.enrollSecret = m.EnrollSecret
			source("enroll_secret", m.Source)
		}
		if m.CACertificate != "" {
			c.caPEM = m.CACertificate
			source("ca_certificate", m.Source+caNote)
		}
	}
	if c.CAFingerprint != "" {
		fp, err := uplink.ParseFingerprint(c.CAFingerprint)
		if err != nil {
			return nil, fmt.Errorf("ca_fingerprint (--ca-fingerprint, %s): %w", c.sources["ca_fingerprint"], err)
		}
		c.CAFingerprint = fp
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
