// Command vcguard-server is the management server: the gRPC listener agents
// connect to (mTLS) and the HTTPS listener of the dashboard and JSON API.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/agentapi"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/dashboard"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/pki"
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
	policyKeyFile    = "policy-key.pem"
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
	// DB is "" or "sqlite" for the embedded SQLite database in DataDir, or
	// a postgres:// URL.
	DB string
	// Retention is how long events are kept; 0 keeps them for ever.
	Retention time.Duration
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
	for flagName, addr := range map[string]string{"--grpc-addr": c.GRPCAddr, "--http-addr": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: want HOST:PORT: %w", flagName, addr, err)
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	if c.StaleAfter < 10*time.Second {
		return fmt.Errorf("--stale-after %s: must be at least 10s", c.StaleAfter)
	}
	if c.DB != "" && c.DB != "sqlite" && !c.usesPostgres() {
		// Never echo the value: it may hold a password.
		return errors.New("--db: want sqlite (the default) or a postgres://user@host:port/database URL")
	}
	if c.Retention != 0 && c.Retention < time.Hour {
		return fmt.Errorf("--retention %s: must be at least 1h, or 0 to keep events for ever", c.Retention)
	}
	return nil
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
	fs.DurationVar(&c.StaleAfter, "stale-after", adminapi.DefaultStaleAfter, "a connected device silent for longer is shown offline")
	fs.StringVar(&c.DB, "db", "sqlite", "database: sqlite (embedded, in the data directory) or a postgres://user@host:port/database URL "+
		"for several replicas on one database (give the password through PGPASSWORD or ~/.pgpass, not the URL)")
	fs.DurationVar(&c.Retention, "retention", 90*24*time.Hour, "events older than this are purged (hourly); 0 keeps them for ever")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *showVersion {
		fmt.Fprintln(stderr, "vcguard-server", version)
		os.Exit(0)
	}
	for _, n := range strings.Split(*names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			c.TLSNames = append(c.TLSNames, n)
		}
	}
	return c, c.Validate()
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
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
	ca, err := pki.LoadOrCreate(cfg.DataDir, dedupe(names))
	if err != nil {
		return fmt.Errorf("certificate authority: %w", err)
	}
	policyKey, err := loadOrCreatePolicyKey(filepath.Join(cfg.DataDir, policyKeyFile))
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
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
	api := &adminapi.API{
		Store: st, Catalog: cat, PolicyKey: policyKey, Hub: hub, Tokens: auth.TokenChecker{Store: st},
		Logger: logger.With("component", "adminapi"), StaleAfter: cfg.StaleAfter,
	}
	if err := firstStart(ctx, cfg, api, logger); err != nil {
		return err
	}

	grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen --grpc-addr: %w", err)
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("listen --http-addr: %w", err)
	}

	admin := &adminapi.GRPC{API: api}
	gs := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(ca.ServerTLS())),
		grpc.UnaryInterceptor(admin.UnaryInterceptor),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 30 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Minute, Timeout: 20 * time.Second}),
	)
	agents := &agentapi.Server{
		Store: st, CA: ca, PolicyKey: policyKey.Public().(ed25519.PublicKey), Hub: hub, Logger: logger.With("component", "agentapi"),
	}
	vcguardv1.RegisterAgentServiceServer(gs, agents)
	vcguardv1.RegisterAdminServiceServer(gs, admin)
	healthSrv := health.NewServer()
	healthpb.RegisterHealthServer(gs, healthSrv)

	dash, err := dashboard.New(api, logger.With("component", "dashboard"))
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
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
		Handler:           dashboard.SecurityHeaders(mux),
		TLSConfig:         ca.HTTPSTLS(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	errc := make(chan error, 2)
	go func() { errc <- gs.Serve(grpcLis) }()
	go func() { errc <- hs.ServeTLS(httpLis, "", "") }()
	logger.Info("vcguard-server started", "version", version, "data", cfg.DataDir, "db", cfg.dbForLog(),
		"grpc", grpcLis.Addr().String(), "dashboard", "https://"+httpLis.Addr().String()+"/")

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

// dbForLog names the database for logs, without a password.
func (c *config) dbForLog() string {
	if !c.usesPostgres() {
		return "sqlite:" + filepath.Join(c.DataDir, databaseFile)
	}
	u, err := url.Parse(c.DB)
	if err != nil {
		return "postgres"
	}
	u.RawQuery = "" // may hold a password parameter
	return u.Redacted()
}

// openStore opens the database --db names.
func openStore(ctx context.Context, cfg *config) (*store.Store, error) {
	if cfg.usesPostgres() {
		return store.OpenPostgres(ctx, cfg.DB)
	}
	return store.OpenSQLite(ctx, filepath.Join(cfg.DataDir, databaseFile))
}

// firstStart creates, in an empty installation, the first enrollment secret,
// the first admin API token and the initial policy, writing the secrets into
// the data directory (0600) for the person who set the server up.
func firstStart(ctx context.Context, cfg *config, api *adminapi.API, logger *slog.Logger) error {
	secrets, err := api.Store.EnrollmentSecrets(ctx)
	if err != nil {
		return err
	}
	if len(secrets) == 0 {
		_, value, err := api.CreateEnrollmentSecret(ctx, "created on first start", 0)
		if err != nil {
			return err
		}
		if err := writeSecretFile(filepath.Join(cfg.DataDir, enrollSecretFile), value); err != nil {
			return err
		}
		logger.Info("first enrollment secret written", "file", filepath.Join(cfg.DataDir, enrollSecretFile))
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, adminTokenFile)); errors.Is(err, os.ErrNotExist) {
		value, hash := auth.NewSecret("vcg_admin_")
		if err := api.Store.CreateAPIToken(ctx, store.APIToken{
			ID: "tok_" + auth.NewID(), Description: "created on first start", Hash: hash, Role: store.RoleAdmin, Created: time.Now(),
		}); err != nil {
			return err
		}
		if err := writeSecretFile(filepath.Join(cfg.DataDir, adminTokenFile), value); err != nil {
			return err
		}
		logger.Info("admin API token written", "file", filepath.Join(cfg.DataDir, adminTokenFile))
	}
	if _, err := api.Store.CurrentPolicy(ctx); errors.Is(err, store.ErrNotFound) && cfg.InitialPolicy != "" {
		doc, err := policies.ExamplePolicy(cfg.InitialPolicy)
		if err != nil {
			return fmt.Errorf("--initial-policy: %w", err)
		}
		if _, err := api.PublishPolicy(ctx, doc, "vcguard-server (first start)"); err != nil {
			return fmt.Errorf("publish initial policy: %w", err)
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func writeSecretFile(path, value string) error {
	if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// loadOrCreatePolicyKey returns the Ed25519 key that signs policies.
func loadOrCreatePolicyKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate policy key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("encode policy key: %w", err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("write policy key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read policy key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: key type %T, want Ed25519", path, k)
	}
	return key, nil
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
