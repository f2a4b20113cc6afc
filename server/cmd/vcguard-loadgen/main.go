// Command vcguard-loadgen measures a vcguard-server under the load of many
// agents, simulated from one process: each one enrolls with its own key and
// a certificate signing request, then holds a real mutually authenticated
// gRPC stream and speaks the agent protocol on it (hello, event batches with
// sequence numbers, heartbeats, acknowledgements, policy updates answered
// with policy_applied). Connections are spread over source addresses in
// 127.0.0.0/8 so that neither the port range nor the server's per-address
// connection limit is what is measured. It is bounded in agents and in time,
// and prints what it saw (--json: one object, see docs/load.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// config is everything a run is started with.
type config struct {
	Server   string // agent gRPC address of the server
	HTTP     string // admin API (HTTPS) address; needed for --publish and the count back
	DataDir  string // the server's data directory: ca.pem, enroll-secret, admin-token
	StateDir string // cached identities of the simulated agents
	Agents   int
	Duration time.Duration // the hold, once every agent is connected
	Rate     float64       // events per agent per minute
	Batch    int           // events per batch
	// Heartbeat is each stream's heartbeat interval, as the agent's.
	Heartbeat time.Duration
	ServerPID int
	Publish   bool
	JSON      bool
	// AgentsPerAddr is how many agents share one source address in
	// 127.0.0.0/8; 0 lets the kernel pick (127.0.0.1).
	AgentsPerAddr int
	// EnrollConcurrency and ConnectConcurrency bound the enrollments and
	// the stream openings (TLS handshake, hello) in progress at once.
	EnrollConcurrency  int
	ConnectConcurrency int
	// RampTimeout bounds the wait for every agent to be connected;
	// DrainTimeout the wait for the last acknowledgements after the hold.
	RampTimeout  time.Duration
	DrainTimeout time.Duration
	Verbose      bool
	// Attack is the attacks run alongside the agents during the hold
	// (attack.go); the rest bound them.
	Attack           []string
	AttackConns      int
	AttackStreams    int
	AttackEnrollMax  int
	AttackDevices    int
	AttackDupStreams int
	AttackAddrs      int
}

// Validate checks the configuration and says what to fix.
func (c *config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Server); err != nil {
		return fmt.Errorf("--server %q: want HOST:PORT of the server's agent listener (--grpc-addr): %w", c.Server, err)
	}
	if c.HTTP != "" {
		if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
			return fmt.Errorf("--http %q: want HOST:PORT of the server's HTTPS listener (--http-addr): %w", c.HTTP, err)
		}
	}
	if c.Publish && c.HTTP == "" {
		return errors.New("--publish needs --http, the admin API's address")
	}
	if c.DataDir == "" {
		return errors.New("--data must name the server's data directory (it holds ca.pem, enroll-secret and admin-token)")
	}
	switch {
	case c.Agents < 1 || c.Agents > 1_000_000:
		return fmt.Errorf("--agents %d: want 1 to 1,000,000", c.Agents)
	case c.Duration < time.Second || c.Duration > 24*time.Hour:
		return fmt.Errorf("--duration %s: want 1s to 24h", c.Duration)
	case c.Rate < 0 || c.Rate > 60_000:
		return fmt.Errorf("--rate %g: want 0 to 60000 events per agent per minute", c.Rate)
	case c.Batch < 1 || c.Batch > 1000:
		return fmt.Errorf("--batch %d: want 1 to 1000 events (the server refuses larger batches)", c.Batch)
	case c.Heartbeat < time.Second:
		return fmt.Errorf("--heartbeat %s: want at least 1s (the agent's is 30s)", c.Heartbeat)
	case c.AgentsPerAddr < 0:
		return errors.New("--agents-per-addr must be 0 or more")
	case c.EnrollConcurrency < 1 || c.ConnectConcurrency < 1:
		return errors.New("--enroll-concurrency and --connect-concurrency must be at least 1")
	case c.RampTimeout < time.Second || c.DrainTimeout < time.Second:
		return errors.New("--ramp-timeout and --drain-timeout must be at least 1s")
	case c.ServerPID < 0:
		return errors.New("--server-pid must be a process id")
	}
	return c.validateAttack()
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("vcguard-loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.StringVar(&c.Server, "server", "127.0.0.1:8443", "the server's agent gRPC address (--grpc-addr)")
	fs.StringVar(&c.HTTP, "http", "", "the server's HTTPS address (--http-addr), for --publish and for counting stored events back; empty skips both")
	fs.StringVar(&c.DataDir, "data", "./vcguard-data", "the server's data directory: ca.pem, enroll-secret and admin-token are read from it")
	fs.StringVar(&c.StateDir, "state", "", "directory caching the simulated agents' keys and certificates, so a later run reuses the devices (default DATA/loadgen)")
	fs.IntVar(&c.Agents, "agents", 100, "simulated agents, each with its own key, certificate, connection and stream")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long the load is held once every agent is connected")
	fs.Float64Var(&c.Rate, "rate", 60, "events per agent per minute")
	fs.IntVar(&c.Batch, "batch", 10, "events per batch")
	fs.DurationVar(&c.Heartbeat, "heartbeat", 30*time.Second, "heartbeat interval of each stream (the agent's default)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "the server's process id: its resident memory (/proc/PID/status) is reported as server_rss_kib; 0 for none")
	fs.BoolVar(&c.Publish, "publish", false, "publish a policy half-way through the hold (admin API, needs --http) and time its arrival on every stream")
	fs.BoolVar(&c.JSON, "json", false, "print the result as one JSON object")
	fs.IntVar(&c.AgentsPerAddr, "agents-per-addr", 32, "agents per source address in 127.0.0.0/8 (keep it below the server's --max-conns-per-addr); 0 uses the default source address")
	fs.IntVar(&c.EnrollConcurrency, "enroll-concurrency", 32, "enrollments in progress at once")
	fs.IntVar(&c.ConnectConcurrency, "connect-concurrency", 128, "stream openings (TLS handshake and hello) in progress at once")
	fs.DurationVar(&c.RampTimeout, "ramp-timeout", 10*time.Minute, "how long to wait for every agent to be enrolled and connected before the hold starts anyway")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 30*time.Second, "how long to wait after the hold for the acknowledgement of every event sent")
	fs.BoolVar(&c.Verbose, "v", false, "log progress to stderr")
	attack := fs.String("attack", "", "comma-separated attacks run during the whole hold from addresses of their own (127.66.x.y): "+
		"conns, handshake, enroll, flood, dupconnect, or all (see docs/load.md, \"Under attack\"); empty runs none")
	fs.IntVar(&c.AttackConns, "attack-conns", 5000, "conns: plain TCP connections held open at most")
	fs.IntVar(&c.AttackStreams, "attack-streams", 1000, "handshake: half-open streams at most, 8 per connection without a client certificate")
	fs.IntVar(&c.AttackEnrollMax, "attack-enroll-max", 2000, "enroll: Enroll calls with the real secret at most (each one a new device)")
	fs.IntVar(&c.AttackDevices, "attack-devices", 5, "flood: enrolled devices sending events as fast as the server acknowledges")
	fs.IntVar(&c.AttackDupStreams, "attack-dup-streams", 200, "dupconnect: Connect streams at once with one device certificate, 4 per connection")
	fs.IntVar(&c.AttackAddrs, "attack-addrs", 8, "source addresses per attack (127.66.K.1 onwards); enroll uses at most 4")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.Attack = parseAttackList(*attack)
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.StateDir == "" {
		c.StateDir = filepath.Join(c.DataDir, "loadgen")
	}
	return c, c.Validate()
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vcguard-loadgen:", err)
		os.Exit(2)
	}
	level := slog.LevelWarn
	if cfg.Verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vcguard-loadgen:", err)
		os.Exit(1)
	}
	if cfg.JSON {
		err = rep.writeJSON(os.Stdout)
	} else {
		err = rep.writeText(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vcguard-loadgen:", err)
		os.Exit(1)
	}
}
