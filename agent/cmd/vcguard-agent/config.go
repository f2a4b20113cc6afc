package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
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
	LogFormat        string        `yaml:"log_format"`
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
	if _, _, err := net.SplitHostPort(c.Server); err != nil {
		return fmt.Errorf("server (--server) %q: want HOST:PORT: %w", c.Server, err)
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
// the configuration file (--config, or the default file when it exists).
func parseConfig(name string, args []string) (*config, error) {
	fs := flag.NewFlagSet("vcguard-agent "+name, flag.ContinueOnError)
	c := &config{}
	fs.StringVar(&c.ConfigFile, "config", "", "configuration file (YAML; default "+defaultConfigFile+" when it exists)")
	fs.StringVar(&c.Server, "server", "", "server gRPC address HOST:PORT")
	fs.StringVar(&c.EnrollSecretFile, "enroll-secret-file", "", "file holding the enrollment secret (used once, to enroll)")
	fs.StringVar(&c.CAFile, "ca-file", "", "the server's CA certificate (PEM)")
	fs.StringVar(&c.StateDir, "state-dir", defaultStateDir, "directory for the device key, certificate, policy and event outbox")
	fs.DurationVar(&c.ScanInterval, "scan-interval", 5*time.Second, "how often the process table is scanned")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	path := c.ConfigFile
	if path == "" {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			path = defaultConfigFile
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
			return nil, fmt.Errorf("configuration %s: %w", path, err)
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
		if !set["scan-interval"] && fromFile.ScanInterval != 0 {
			c.ScanInterval = fromFile.ScanInterval
		}
		c.ConfigFile = path
	}
	return c, c.Validate()
}
