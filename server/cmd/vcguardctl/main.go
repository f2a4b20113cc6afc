// Command vcguardctl is IT's command line for a vcguard server: it lists
// devices and events, applies, diffs and rolls back policies and manages
// enrollment secrets over the server's JSON API (HTTPS, bearer token).
//
//	vcguardctl --server https://vcguard.example:8080 --cacert ca.pem --token-file admin-token devices
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// tokenEnv names the environment variable that may hold the API token.
const tokenEnv = "VCGUARD_TOKEN"

// serverEnv names the environment variable that may hold --server.
const serverEnv = "VCGUARD_SERVER"

// Output formats.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// config is what every command is run with: where the server is, how to
// trust and authenticate to it, and how to print.
type config struct {
	Server    string
	CACert    string
	TokenFile string
	Output    string
	Timeout   time.Duration
	// token comes from TokenFile or $VCGUARD_TOKEN; never printed.
	token string
}

// Validate checks the configuration and says what to fix.
func (c *config) Validate() error {
	if c.Server == "" {
		return fmt.Errorf("no server: pass --server https://HOST:PORT (the vcguard-server --http-addr) or set %s", serverEnv)
	}
	u, err := url.Parse(c.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--server %q: want https://HOST:PORT (the JSON API is served over HTTPS only)", c.Server)
	}
	if c.Output != outputTable && c.Output != outputJSON {
		return fmt.Errorf("--output %q: want table or json", c.Output)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", c.Timeout)
	}
	return nil
}

// loadToken reads the API token from --token-file, else $VCGUARD_TOKEN.
func (c *config) loadToken(getenv func(string) string) error {
	if c.TokenFile != "" {
		data, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("read --token-file: %w", err)
		}
		c.token = strings.TrimSpace(string(data))
		if c.token == "" {
			return fmt.Errorf("--token-file %s is empty: it should hold one API token (the server writes its first one to DATA/admin-token)", c.TokenFile)
		}
		return nil
	}
	c.token = strings.TrimSpace(getenv(tokenEnv))
	if c.token == "" {
		return fmt.Errorf("no API token: pass --token-file FILE (the server writes its first admin token to DATA/admin-token) or set %s", tokenEnv)
	}
	return nil
}

// errUsage marks a wrong command line; main exits 2 on it.
var errUsage = errors.New("usage")

// usageError is a wrong command line, with what to type instead.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s (see 'vcguardctl help')", errUsage, fmt.Sprintf(format, args...))
}

// addGlobalFlags registers the flags every command accepts, anywhere on the
// line; their current values in c are the defaults, so flags given before
// the command stay in force after it.
func addGlobalFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.Server, "server", c.Server, "server JSON API URL, https://HOST:PORT (env "+serverEnv+")")
	fs.StringVar(&c.CACert, "cacert", c.CACert, "the server's CA certificate (ca.pem in its data directory); default: the system's roots")
	fs.StringVar(&c.TokenFile, "token-file", c.TokenFile, "file holding the API token (default: env "+tokenEnv+")")
	fs.StringVar(&c.Output, "output", c.Output, "output format: table or json")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "time limit of each request")
}

// parseInterspersed parses fs over args, allowing flags after positional
// arguments ("devices show ID --output json"); it returns the positional
// arguments. "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

const usageText = `vcguardctl: the command line of a vcguard server's JSON API.

Usage: vcguardctl [flags] COMMAND [ARGS] [flags]

Commands:
  devices [list]                         devices with status, agent and policy version
  devices show ID                        one device, its apps and camera/microphone use
  devices revoke ID                      cut a device off at once (also its open stream)
  events [--device ID] [--type T] [--limit N]
                                         events, newest first
  policies [list]                        policy versions with rollout (APPLIED: devices on it or newer / enrolled)
                                         and change comment
  policies show VERSION|current          one policy version with its document (comment and rollout on stderr)
  policy apply FILE --comment C          publish a policy (YAML or JSON) with its change comment;
                                         prints the new version; refused if identical to the current one
  policy validate FILE                   check a policy as publishing would, without publishing
  policy diff VERSION|current [--against N]
                                         unified diff against version N (default: the one before)
  policy rollback VERSION --comment C    publish an earlier version's document again, with why
  catalog [list]                         catalog versions (the tools agents recognise)
  catalog publish DIR|BUNDLE             publish a catalog directory (VERSION + *.yaml) as a new
                                         signed version; agents receive it without an upgrade
  secrets [list]                         enrollment secrets
  secrets create --description D [--ttl 168h] [--max-uses N] [--group G]
                                         new enrollment secret; its value is shown once
  secrets revoke ID                      revoke an enrollment secret
  tokens [list]                          API tokens
  tokens create [--role R] [--ttl 2160h] [--description D]
                                         new API token (auditor by default, analyst or admin),
                                         expiring (90 days by default); value shown once
  tokens revoke ID                       revoke an API token
  admins [list]                          administrator accounts
  admins create USERNAME [--role R]      invite an account (auditor by default); its one-time
                                         invite link (password and authenticator) shown once
  admins disable|enable USERNAME         disable (ends its sessions) or enable an account
  admins reset USERNAME                  forget its password and authenticator, end its sessions;
                                         a new invite link, shown once
  audit [--actor A] [--action X] [--before ID] [--limit N]
                                         audit log, newest first
  version                                print vcguardctl's version

Flags (before or after the command):
  --server https://HOST:PORT   the server's --http-addr (env VCGUARD_SERVER)
  --cacert FILE                the server's ca.pem
  --token-file FILE            API token file (env VCGUARD_TOKEN)
  --output table|json          aligned table (default) or the API's JSON
  --timeout 30s                time limit of each request
`

// run executes one command line; stdout gets the result, stderr notes.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := &config{Server: os.Getenv(serverEnv), Output: outputTable, Timeout: 30 * time.Second}
	fs := flag.NewFlagSet("vcguardctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usageText) }
	addGlobalFlags(fs, cfg)
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usageText)
		return usageError("no command given")
	}
	if rest[0] == "help" {
		fmt.Fprint(stdout, usageText)
		return nil
	}
	if rest[0] == "version" {
		fmt.Fprintln(stdout, "vcguardctl", version)
		return nil
	}
	cmd, words, ok := lookupCommand(rest)
	if !ok {
		return usageError("unknown command %q", strings.Join(rest[:min(len(rest), 2)], " "))
	}
	sub := flag.NewFlagSet("vcguardctl "+cmd.name, flag.ContinueOnError)
	sub.SetOutput(stderr)
	addGlobalFlags(sub, cfg)
	opts := &options{}
	cmd.flags(sub, opts)
	positional, err := parseInterspersed(sub, rest[words:])
	if err != nil {
		return flagError(err)
	}
	if len(positional) != len(cmd.args) {
		if len(cmd.args) == 0 {
			return usageError("vcguardctl %s takes no arguments, got %q", cmd.name, positional)
		}
		return usageError("vcguardctl %s needs %s", cmd.name, strings.Join(cmd.args, " "))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := cfg.loadToken(os.Getenv); err != nil {
		return err
	}
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	return cmd.run(ctx, &env{c: c, cfg: cfg, opts: opts, out: stdout, log: stderr}, positional)
}

// flagError marks a flag parsing error (already printed with the usage by
// the flag package) as a usage error; -h stays flag.ErrHelp.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %w", errUsage, err)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "vcguardctl:", strings.TrimPrefix(err.Error(), "usage: "))
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "vcguardctl:", err)
		os.Exit(1)
	}
}
