// Command vcguard-server is the management server: the gRPC listener agents
// connect to (mTLS) and the HTTPS listener of the dashboard and JSON API.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/agentapi"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/connlimit"
	"github.com/vcguard/vcguard/server/dashboard"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/keyring"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/pki"
	"github.com/vcguard/vcguard/server/proxyaddr"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Files written into the data directory on first start.
const (
	enrollSecretFile = "enroll-secret"
	adminTokenFile   = "admin-token"
	databaseFile     = "vcguard.db"
)

// config is everything the server is started with.
type config struct {
	DataDir       string
	GRPCAddr      string
	HTTPAddr      string
	TLSNames      []string
	LogFormat     string
	InitialPolicy string
	StaleAfter    time.Duration
	// InviteTTL is how long an account's invite link works.
	InviteTTL time.Duration
	// DB is "" or "sqlite" for the embedded SQLite database in DataDir, or
	// a postgres:// URL.
	DB string
	// Retention is how long events are kept; 0 keeps them for ever.
	Retention time.Duration
	// KEKFile holds the key-encryption key that seals the CA and policy
	// keys in the database; "" stores them unsealed.
	KEKFile string
	// ClientCertLifetime is the validity of agents' client certificates.
	ClientCertLifetime time.Duration
	// MaxConnectionAge ends agent connections after about this long (±10%)
	// so agents spread over replicas; 0 never does.
	MaxConnectionAge time.Duration
	// MetricsAddr is the plain-HTTP listener of /metrics; "" serves none.
	MetricsAddr string
	// MaxConns bounds the open connections of the gRPC listener; 0 means
	// the default, below the descriptor limit (defaultMaxConns).
	MaxConns int
	// MaxConnsPerAddr bounds the open gRPC connections from one source
	// address (an IPv6 /64 counts as one); 0 means no bound.
	MaxConnsPerAddr int
	// HandshakeTimeout bounds a new gRPC connection's TLS handshake.
	HandshakeTimeout time.Duration
	// TrustedProxies is --trusted-proxies; proxies is it parsed.
	TrustedProxies string
	proxies        proxyaddr.Trusted
	// EnrollPerAddr and EnrollPerSecret are the Enroll token buckets per
	// source address and per enrollment secret (--enroll-rate-per-addr,
	// --enroll-rate-per-secret).
	EnrollPerAddr, EnrollPerSecret enrollRate
	// Budgets bound what each device may store (--device-events-per-sec,
	// --device-event-burst, --device-bytes-per-day, --event-max-string,
	// --event-max-bytes).
	Budgets agentapi.DeviceBudgets
	// SIEM is the export to a SIEM (--siem-*, siem.go).
	SIEM siemConfig
	// OIDC is sign-in through an OpenID Connect provider (--oidc-*).
	OIDC oidcFlags
}

// enrollRate is a token bucket's RATE/BURST, as a flag value.
type enrollRate struct{ Rate, Burst float64 }

func (r *enrollRate) String() string {
	return strconv.FormatFloat(r.Rate, 'g', -1, 64) + "/" + strconv.FormatFloat(r.Burst, 'g', -1, 64)
}

// Set parses RATE/BURST: tokens per second and the bucket's size.
func (r *enrollRate) Set(s string) error {
	rate, burst, ok := strings.Cut(s, "/")
	if !ok {
		return fmt.Errorf("%q: want RATE/BURST, e.g. 2/30 (per second / at once)", s)
	}
	rt, err1 := strconv.ParseFloat(strings.TrimSpace(rate), 64)
	b, err2 := strconv.ParseFloat(strings.TrimSpace(burst), 64)
	if err1 != nil || err2 != nil || rt <= 0 || b < 1 || math.IsInf(rt, 0) || math.IsInf(b, 0) {
		return fmt.Errorf("%q: want RATE/BURST with a rate above 0 and a burst of at least 1, e.g. 2/30", s)
	}
	r.Rate, r.Burst = rt, b
	return nil
}

// buckets returns a fresh token bucket set with this rate and burst.
func (r enrollRate) buckets() *connlimit.Buckets {
	return &connlimit.Buckets{Rate: r.Rate, Burst: r.Burst}
}

// descriptorReserve is kept out of the gRPC listener's cap: the database,
// the dashboard's connections, logs and the metrics listener need some.
const descriptorReserve = 512

// defaultMaxConns is the gRPC listener's cap when --max-conns is 0: the
// descriptor limit less a reserve, or 50,000 where the limit is unknown
// (Windows).
func defaultMaxConns(limit int) int {
	if limit <= 0 {
		return 50_000
	}
	return max(limit-limit/8-descriptorReserve, 64)
}

// usesPostgres reports whether --db names a PostgreSQL database.
func (c *config) usesPostgres() bool {
	return strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://")
}

// Validate checks the configuration and says what to fix.
func (c *config) Validate() error {
	if c.DataDir == "" {
		return errors.New("--data must name a directory")
	}
	var err error
	if c.proxies, err = proxyaddr.Parse(c.TrustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	for flagName, addr := range map[string]string{"--grpc-addr": c.GRPCAddr, "--http-addr": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: want HOST:PORT: %w", flagName, addr, err)
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %q: want HOST:PORT (e.g. 127.0.0.1:9090), or empty for none: %w", c.MetricsAddr, err)
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	if c.StaleAfter < 10*time.Second {
		return fmt.Errorf("--stale-after %s: must be at least 10s", c.StaleAfter)
	}
	if c.InviteTTL < 10*time.Minute || c.InviteTTL > 30*24*time.Hour {
		return fmt.Errorf("--invite-ttl %s: want 10m to 720h (30 days)", c.InviteTTL)
	}
	if c.DB != "" && c.DB != "sqlite" && !c.usesPostgres() {
		// Never echo the value: it may hold a password.
		return errors.New("--db: want sqlite (the default) or a postgres://user@host:port/database URL")
	}
	if c.ClientCertLifetime < 10*time.Second {
		return fmt.Errorf("--client-cert-lifetime %s: must be at least 10s (the default is 720h)", c.ClientCertLifetime)
	}
	if c.MaxConnectionAge != 0 && c.MaxConnectionAge < 10*time.Second {
		return fmt.Errorf("--max-connection-age %s: must be at least 10s, or 0 to keep connections open", c.MaxConnectionAge)
	}
	if c.MaxConns < 0 || c.MaxConnsPerAddr < 0 {
		return errors.New("--max-conns and --max-conns-per-addr must be 0 or more")
	}
	if limit := connlimit.DescriptorLimit(); limit > 0 && c.MaxConns > limit-descriptorReserve {
		return fmt.Errorf("--max-conns %d: must stay below the process's descriptor limit %d less %d for the database and the dashboard (raise the limit, e.g. LimitNOFILE= in the systemd unit, or lower --max-conns)",
			c.MaxConns, limit, descriptorReserve)
	}
	if c.HandshakeTimeout < time.Second {
		return fmt.Errorf("--handshake-timeout %s: must be at least 1s", c.HandshakeTimeout)
	}
	if c.Retention != 0 && c.Retention < time.Hour {
		return fmt.Errorf("--retention %s: must be at least 1h, or 0 to keep events for ever", c.Retention)
	}
	if err := c.Budgets.Validate(); err != nil {
		return err
	}
	if err := c.SIEM.Validate(); err != nil {
		return err
	}
	return c.OIDC.validate()
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("vcguard-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.StringVar(&c.DataDir, "data", "./vcguard-data", "data directory: database, CA, keys and first-start secrets")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", "127.0.0.1:8443", "agent gRPC listener (TLS; mTLS after enrollment)")
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:8080", "dashboard and JSON API listener (HTTPS)")
	names := fs.String("tls-names", "", "extra comma-separated DNS names or IPs for the server certificate (localhost, 127.0.0.1, ::1 and the hostname are always included)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.InitialPolicy, "initial-policy", "eu-default", "example policy published on first start (policies/examples)")
	fs.DurationVar(&c.StaleAfter, "stale-after", admin.DefaultStaleAfter, "a connected device silent for longer is shown offline")
	fs.DurationVar(&c.InviteTTL, "invite-ttl", admin.DefaultInviteTTL, "a new account's one-time invite link works for this long")
	fs.StringVar(&c.DB, "db", "sqlite", "database: sqlite (embedded, in the data directory) or a postgres://user@host:port/database URL "+
		"for several replicas on one database (give the password through PGPASSWORD or ~/.pgpass, not the URL)")
	fs.DurationVar(&c.Retention, "retention", 90*24*time.Hour, "events received longer ago than this are purged (hourly); 0 keeps them for ever")
	fs.StringVar(&c.KEKFile, "kek-file", os.Getenv("VCGUARD_KEK_FILE"), "file with the key-encryption key (32+ random bytes; mode 0600, on Windows an ACL for the service account and Administrators only) that seals the CA and "+
		"policy keys in the database; every replica needs the same file (default $VCGUARD_KEK_FILE; empty stores the keys unsealed: protect the database)")
	fs.DurationVar(&c.ClientCertLifetime, "client-cert-lifetime", pki.ClientLifetime, "validity of agent client certificates; agents renew when a third remains")
	fs.DurationVar(&c.MaxConnectionAge, "max-connection-age", 30*time.Minute, "agent connections are ended after about this long (±10% jitter) and "+
		"reconnect, spreading agents over replicas; 0 keeps them open")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "plain-HTTP listener of Prometheus /metrics, e.g. 127.0.0.1:9090 for a local Prometheus "+
		"(unauthenticated: keep it on loopback or a monitoring network); empty serves none")
	fs.IntVar(&c.MaxConns, "max-conns", 0, "open connections the agent gRPC listener accepts, beyond which new ones are closed at once; "+
		"0 picks a bound below the process's descriptor limit")
	fs.IntVar(&c.MaxConnsPerAddr, "max-conns-per-addr", 64, "open agent gRPC connections from one source address (an IPv6 /64 counts as one); "+
		"raise it for many agents behind one NAT address; 0 means no bound")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs or addresses of reverse proxies in front of the dashboard and JSON API; only requests from them have "+
		"X-Forwarded-For / Forwarded believed (the right-most address that is not a proxy is the client, for login lockouts, the audit log and logs); empty believes none")
	fs.DurationVar(&c.HandshakeTimeout, "handshake-timeout", 10*time.Second, "a new agent gRPC connection that has not finished its TLS handshake after this long is closed")
	c.EnrollPerAddr = enrollRate{Rate: agentapi.DefaultEnrollPerAddr.Rate, Burst: agentapi.DefaultEnrollPerAddr.Burst}
	c.EnrollPerSecret = enrollRate{Rate: agentapi.DefaultEnrollPerSecret.Rate, Burst: agentapi.DefaultEnrollPerSecret.Burst}
	fs.Var(&c.EnrollPerAddr, "enroll-rate-per-addr", "enrollments accepted from one source address, as RATE/BURST (per second / at once); beyond it Enroll answers ResourceExhausted and agents retry later")
	fs.Var(&c.EnrollPerSecret, "enroll-rate-per-secret", "enrollments accepted with one enrollment secret, as RATE/BURST (per second / at once); raise it for a mass roll-out or a load test")
	c.Budgets.RegisterFlags(fs) // per-device budgets of the agent stream
	c.SIEM.register(fs)
	c.OIDC.register(fs)
	showVersion := fs.Bool("version", false, "print the version and exit (as the version command)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serverUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *showVersion {
		return nil, errVersion
	}
	if rest := fs.Args(); len(rest) > 0 {
		return nil, fmt.Errorf("unexpected argument %q: the commands are admin, version and help, and running the server takes only flags (vcguard-server help)", rest[0])
	}
	for _, n := range strings.Split(*names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			c.TLSNames = append(c.TLSNames, n)
		}
	}
	return c, c.Validate()
}

// serverUsage heads the --help text; the flags follow.
const serverUsage = `vcguard-server: the vcguard management server (agent gRPC API, dashboard and JSON API).

Usage:
  vcguard-server [flags]            run the server (the flags below)
  vcguard-server admin COMMAND ...  manage dashboard accounts offline (vcguard-server admin help)
  vcguard-server version            print the version
  vcguard-server help               print this help

Exit status: 0 on success, 1 when the server fails, 2 for a usage error
(an unknown flag, command or value).

Flags:
`

// errVersion asks for the version (--version).
var errVersion = errors.New("version")

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "admin":
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := adminMain(ctx, os.Args[2:], os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		case "version":
			fmt.Println("vcguard-server", version)
			return
		case "help":
			os.Args[1] = "--help"
		}
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errVersion):
		fmt.Println("vcguard-server", version)
		return
	case err != nil:
		fmt.Fprintln(os.Stderr, "vcguard-server:", err)
		os.Exit(2)
	}
	var handler slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if cfg.LogFormat == "json" {
		handler = slog.NewJSONHandler(os.Stderr, nil)
	}
	logger := slog.New(handler)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("vcguard-server stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg *config, logger *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	hostname, _ := os.Hostname()
	names := append([]string{"localhost", "127.0.0.1", "::1"}, cfg.TLSNames...)
	if hostname != "" {
		names = append(names, hostname)
	}
	for _, addr := range []string{cfg.GRPCAddr, cfg.HTTPAddr} {
		if host, _, _ := net.SplitHostPort(addr); host != "" && host != "0.0.0.0" && host != "::" {
			names = append(names, host)
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	// The CA and the policy key live in the database, so that every
	// replica shares them; this server's TLS certificate stays in its own
	// data directory.
	keys := &keyring.Keyring{Store: st, Logger: logger.With("component", "keyring")}
	if cfg.KEKFile != "" {
		if keys.KEK, err = keyring.LoadKEK(cfg.KEKFile); err != nil {
			return err
		}
	}
	if err := sealTOTPSecrets(ctx, st, keys.KEK, logger); err != nil {
		return err
	}
	caCert, caKey, err := keys.CA(ctx, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("certificate authority: %w", err)
	}
	ca, err := pki.New(caCert, caKey, cfg.DataDir, dedupe(names), pki.Options{ClientLifetime: cfg.ClientCertLifetime})
	if err != nil {
		return fmt.Errorf("certificate authority: %w", err)
	}
	policyKey, err := keys.PolicyKey(ctx, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("policy key: %w", err)
	}
	if cfg.Retention > 0 {
		retention := &store.Retention{Store: st, Keep: cfg.Retention, Logger: logger.With("component", "retention")}
		retCtx, stopRetention := context.WithCancel(ctx)
		retDone := make(chan struct{})
		go func() {
			defer close(retDone)
			retention.Run(retCtx)
		}()
		// Stopped before the store closes (defers run last first).
		defer func() {
			stopRetention()
			<-retDone
		}()
	}
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	hub := &fanout.Hub{}
	met := metrics.New()
	st.Refused = met.Refused // the store's per-device row caps, counted by reason
	svc := &admin.Service{
		Store: st, Catalog: cat, PolicyKey: policyKey, Hub: hub,
		Logger: logger.With("component", "admin"), StaleAfter: cfg.StaleAfter, Metrics: met, InviteTTL: cfg.InviteTTL,
	}
	if st.Shared() {
		// Other replicas publish and revoke too: hear about it.
		// A catalog published on another replica is also the one this
		// replica validates policies against.
		bridge := &fanout.Bridge{Hub: hub, Store: st, Logger: logger.With("component", "fanout"), OnCatalog: func(ctx context.Context) {
			if _, err := svc.RefreshCatalog(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("load the catalog published by another replica", "err", err)
			}
		}}
		bridgeCtx, stopBridge := context.WithCancel(ctx)
		bridgeDone := make(chan struct{})
		go func() {
			defer close(bridgeDone)
			bridge.Run(bridgeCtx)
		}()
		defer func() {
			stopBridge()
			<-bridgeDone
		}()
	}
	api := &adminapi.API{Admin: svc, Tokens: auth.TokenChecker{Store: st}, Logger: logger.With("component", "adminapi")}
	// Replicas starting at once take turns, so the first secret and the
	// initial policy are created once.
	if err := st.Exclusive(ctx, "vcguard first start", func() error {
		// The embedded catalog first: the initial policy is validated
		// against the newest catalog.
		if err := svc.SeedCatalog(ctx); err != nil {
			return err
		}
		return firstStart(ctx, cfg, svc, logger)
	}); err != nil {
		return err
	}

	stopSIEM, err := startSIEM(ctx, &cfg.SIEM, st, met, logger)
	if err != nil {
		return fmt.Errorf("SIEM export: %w", err)
	}
	defer stopSIEM() // before the store closes

	grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen --grpc-addr: %w", err)
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("listen --http-addr: %w", err)
	}
	var metricsLis net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLis, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			grpcLis.Close()
			httpLis.Close()
			return fmt.Errorf("listen --metrics-addr: %w", err)
		}
	}

	maxConns := cfg.MaxConns
	if maxConns == 0 {
		maxConns = defaultMaxConns(connlimit.DescriptorLimit())
	}
	refusals := &connlimit.Sampler{Logger: logger.With("component", "grpc-listener")}
	grpcLis = &connlimit.Listener{Listener: grpcLis, Max: maxConns, PerAddr: cfg.MaxConnsPerAddr,
		OnRefuse: func(reason, addr string) {
			met.Refused(reason)
			refusals.Log(slog.LevelWarn, reason, "agent connections refused (sampled: at most one line per reason per 10s)", "addr", addr)
		}}
	logger.Info("agent connection bounds", "max_conns", maxConns, "max_conns_per_addr", cfg.MaxConnsPerAddr,
		"descriptor_limit", connlimit.DescriptorLimit(), "max_streams_per_conn", maxStreamsPerConn)

	gs := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(ca.ServerTLS())),
		// A connection that never finishes its handshake is closed.
		grpc.ConnectionTimeout(cfg.HandshakeTimeout),
		// An agent holds one Connect stream plus the odd unary call
		// (renewal).
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		// A connection holds one mostly idle stream whose messages are a
		// few KiB. No read buffer of gRPC's own (TLS already buffers a
		// record), an 8 KiB write buffer instead of 32 KiB, returned to a
		// shared pool after each flush (gRPC's default), so that tens of
		// thousands of connections fit (see the README's load figures).
		grpc.ReadBufferSize(0),
		grpc.WriteBufferSize(8<<10),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 30 * time.Second, PermitWithoutStream: true}),
		// MaxConnectionAge gets ±10% jitter from gRPC; after the GOAWAY
		// a stream has the grace period, then agents reconnect (to
		// whichever replica the balancer picks).
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Minute, Timeout: 20 * time.Second,
			MaxConnectionAge: maxConnectionAge(cfg.MaxConnectionAge), MaxConnectionAgeGrace: 30 * time.Second}),
	)
	agents := &agentapi.Server{
		Store: st, CA: ca, PolicyKey: policyKey.Public().(ed25519.PublicKey), Hub: hub, Logger: logger.With("component", "agentapi"),
		Metrics: met, EnrollPerAddr: cfg.EnrollPerAddr.buckets(), EnrollPerSecret: cfg.EnrollPerSecret.buckets(),
	}
	// Per-device budgets, and one live stream per device across replicas
	// (announced on the database the replicas share).
	agents.Budgets = cfg.Budgets
	if st.Shared() {
		agents.Streams = st
	}
	vcguardv1.RegisterAgentServiceServer(gs, agents)
	healthSrv := health.NewServer()
	healthpb.RegisterHealthServer(gs, healthSrv)

	dash, err := dashboard.New(api, logger.With("component", "dashboard"))
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	if dash.OIDC, err = cfg.OIDC.provider(ctx, logger.With("component", "oidc")); err != nil {
		return err
	}
	mux := http.NewServeMux()
	api.Register(mux)
	dash.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.Ping(r.Context()); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	hs := &http.Server{
		Handler:           cfg.proxies.Handler(adminapi.RefuseGRPC(dashboard.SecurityHeaders(mux))),
		TLSConfig:         ca.HTTPSTLS(),
		ReadHeaderTimeout: 10 * time.Second,
		// A body dripped slowly, or an idle connection, is cut off.
		ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// The dashboard's live streams would hold a graceful shutdown up.
	hs.RegisterOnShutdown(dash.EndStreams)

	var ms *http.Server
	if metricsLis != nil {
		metricsMux := http.NewServeMux()
		metricsMux.Handle("GET /metrics", met.Handler())
		ms = &http.Server{
			Handler:           metricsMux,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
	}

	errc := make(chan error, 3)
	go func() { errc <- gs.Serve(grpcLis) }()
	go func() { errc <- hs.ServeTLS(httpLis, "", "") }()
	if ms != nil {
		go func() { errc <- ms.Serve(metricsLis) }()
	}
	logger.Info("vcguard-server started", "version", version, "data", cfg.DataDir, "db", cfg.dbForLog(),
		"grpc", grpcLis.Addr().String(), "dashboard", "https://"+httpLis.Addr().String()+"/")
	if metricsLis != nil {
		logger.Info("metrics served", "url", "http://"+metricsLis.Addr().String()+"/metrics")
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	logger.Info("shutting down")
	healthSrv.Shutdown()
	agents.Shutdown()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutdownCtx)
	if ms != nil {
		_ = ms.Shutdown(shutdownCtx)
	}
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-shutdownCtx.Done():
		gs.Stop()
	}
	if errors.Is(runErr, http.ErrServerClosed) || errors.Is(runErr, grpc.ErrServerStopped) {
		runErr = nil
	}
	return runErr
}

// maxStreamsPerConn bounds the concurrent streams of one gRPC connection.
const maxStreamsPerConn = 4

// maxConnectionAge is the keepalive setting for --max-connection-age: 0
// means for ever.
func maxConnectionAge(d time.Duration) time.Duration {
	if d == 0 {
		return time.Duration(math.MaxInt64)
	}
	return d
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
