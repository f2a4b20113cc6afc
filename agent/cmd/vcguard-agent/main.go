// Command vcguard-agent is the vcguard agent: a background service that sees
// which videoconferencing tools run on the laptop, judges them against the
// organisation's policy and reports to the vcguard server.
//
//	vcguard-agent run       run in the foreground, or as the system service
//	vcguard-agent enroll    enroll with the server and exit
//	vcguard-agent enroll-secret --set VALUE | --stdin   keep the secret for enrollment
//	vcguard-agent status    show what the agent knows and reports
//	vcguard-agent install | uninstall | start | stop   manage the system service
//
// The Go runtime re-reads the CPU count, the affinity mask and the cgroup
// quota about once a second to adjust GOMAXPROCS (Go 1.25 and later): a
// wake-up a second, sched_getaffinity and a pread of the cgroup files
// (strace of the idle agent: 33 of each in 40 s). The agent needs no
// more than the default it starts with, so it turns that off.
//
//go:debug updatemaxprocs=0
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kardianos/service"
	"github.com/vcguard/vcguard/agent"
	"github.com/vcguard/vcguard/agent/appid"
	"github.com/vcguard/vcguard/agent/browserpolicy"
	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/enforce"
	"github.com/vcguard/vcguard/agent/fsperm"
	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/policydir"
	"github.com/vcguard/vcguard/agent/proctable"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/statedir"
	"github.com/vcguard/vcguard/agent/uplink"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: vcguard-agent COMMAND [flags]

commands:
  run        run the agent (foreground, or under the service manager); enrolls first if needed
  enroll     enroll with the server and exit
  enroll-secret --set VALUE | --stdin   store the enrollment secret for the next enrollment
  status     show the policy in force, what the agent sees and exactly what it reports
  notifier   show vcguard's notices in this user session (started at login)
  install    install the system service (runs "run --config FILE")
  uninstall  remove the system service, and the browser policies the agent wrote
  remove-browser-policies   remove the browsers' managed policies the agent wrote (package removal runs it)
  start      start the system service
  stop       stop the system service
  version    print the version

Run "vcguard-agent COMMAND -h" for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "run":
		err = cmdRun(args)
	case "enroll":
		err = cmdEnroll(args)
	case "enroll-secret":
		err = cmdEnrollSecret(args, os.Stdin, os.Stdout)
	case "status":
		err = cmdStatus(args, os.Stdout)
	case "notifier":
		err = cmdNotifier(args)
	case "install", "uninstall", "start", "stop":
		err = cmdControl(cmd, args)
	case "remove-browser-policies":
		err = cmdRemoveBrowserPolicies(args, os.Stdout)
	case "version", "--version", "-version":
		fmt.Println("vcguard-agent", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "vcguard-agent: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vcguard-agent:", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a command line the agent does not understand (an unknown
// flag, a bad flag value, a stray argument): exit status 2, as for an
// unknown command; other failures exit 1.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// deviceInfo is everything the agent reports about the machine itself.
func deviceInfo() *vcguardv1.DeviceInfo {
	hostname, _ := os.Hostname()
	return &vcguardv1.DeviceInfo{Hostname: hostname, Os: runtime.GOOS, Arch: runtime.GOARCH, AgentVersion: version, OsVersion: osVersion()}
}

func enrollConfig(c *config) uplink.EnrollConfig {
	return uplink.EnrollConfig{
		Server: c.Server, Secret: c.enrollSecret, SecretSource: c.sources["enroll_secret"], SecretFile: c.EnrollSecretFile,
		CAFile: c.CAFile, CAPEM: []byte(c.caPEM), CAFingerprint: c.CAFingerprint, Group: c.DeviceGroup,
		StateDir: c.StateDir, Device: deviceInfo(),
	}
}

func cmdEnroll(args []string) error {
	c, err := parseConfig("enroll", args, defaultConfigFile)
	if err != nil {
		return err
	}
	if err := c.validateEnroll(); err != nil {
		return err
	}
	id, err := uplink.Enroll(context.Background(), enrollConfig(c))
	if err != nil {
		return fmt.Errorf("enrollment failed: %w", err)
	}
	fmt.Printf("enrolled with %s as device %s\n", id.Server, id.DeviceID)
	return nil
}

// runOptions are the flags of `run` alone.
type runOptions struct {
	// outboxMaxEvents bounds the events kept while the server cannot be
	// reached; 0 means the outbox's default.
	outboxMaxEvents int
}

func cmdRun(args []string) error {
	var opts runOptions
	c, err := loadConfig("run", args, configInputs{DefaultFile: defaultConfigFile, Managed: osManagedStore(), Getenv: os.Getenv, Extra: func(fs *flag.FlagSet) {
		fs.IntVar(&opts.outboxMaxEvents, "outbox-max-events", outbox.DefaultMaxPending,
			"events kept unsent while the server cannot be reached (days offline); beyond it the oldest routine events are dropped first, the findings last, and the drops are counted, reported to the server and shown by `vcguard-agent status`")
	}})
	if err != nil {
		return err
	}
	if opts.outboxMaxEvents < 1 {
		return fmt.Errorf("--outbox-max-events %d: must be at least 1", opts.outboxMaxEvents)
	}
	logOut := io.Writer(os.Stderr)
	if c.LogFile != "" {
		f, err := openLogFile(c.LogFile, maxLogSize)
		if err != nil {
			return err
		}
		defer f.Close()
		logOut = f
	}
	logger := newLogger(c.LogFormat, logOut)
	prog := &program{cfg: c, opts: opts, logger: logger}
	if !c.Service && service.Interactive() {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return run(ctx, c, opts, logger)
	}
	if err := runService(prog); err != nil {
		logger.Error("service manager", "err", err)
		return err
	}
	return nil
}

// run enrolls when needed and runs the agent until ctx ends.
func run(parent context.Context, c *config, opts runOptions, logger *slog.Logger) error {
	// Whatever ends run ends what it started (the notifier socket too).
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	id, err := uplink.LoadIdentity(c.StateDir)
	if errors.Is(err, uplink.ErrNotEnrolled) {
		if err := c.validateEnroll(); err != nil {
			return err
		}
		logger.Info("enrolling", "server", c.Server)
		id, err = enrollRetrying(ctx, c, logger, time.Second, 5*time.Minute)
		if err != nil {
			return fmt.Errorf("enrollment failed: %w", err)
		}
		logger.Info("enrolled", "device", id.DeviceID)
	} else if err != nil {
		return err
	}
	cat, extra, err := loadCatalog(c.CatalogDir)
	if err != nil {
		return err
	}
	catVersion, err := policies.EmbeddedCatalogVersion()
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	// The process watcher's filter follows the catalog in use, which a
	// signed catalog update from the server replaces.
	var matcher atomic.Pointer[policies.Matcher]
	matcher.Store(cat.Matcher(runtime.GOOS))
	// Device nodes (inotify) and sound servers (their monitors) signal
	// changes; the full /proc fd scan is the safety net.
	media := devices.New(devices.Config{PollInterval: 2 * time.Minute, RunUserDir: c.RunUserDir, Logger: logger.With("component", "devices")})
	watcher := procwatch.New(procwatch.Config{
		Filter:       func(name string) bool { return matcher.Load().Interesting(name) },
		ShortNames:   func() []string { return matcher.Load().ShortNames() },
		PollInterval: c.ScanInterval, Logger: logger.With("component", "procwatch"),
	})
	// The state directory (device key, outbox, policy) is the agent's
	// alone; on Windows that takes a protected access list.
	if err := fsperm.Protect(c.StateDir, false); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	out, err := outbox.Open(statedir.Outbox.Path(c.StateDir), opts.outboxMaxEvents)
	if err != nil {
		return err
	}
	defer out.Close()
	acfg := agent.Config{
		StateDir: c.StateDir, Outbox: out, Catalog: cat, CatalogVersion: catVersion, CatalogExtra: extra, GOOS: runtime.GOOS,
		OnCatalog: func(cat *policies.Catalog) { matcher.Store(cat.Matcher(runtime.GOOS)); watcher.Refilter() },
		Processes: watcher, Identifier: agent.AppIdentifier{GOOS: runtime.GOOS, Inspector: appid.NewInspector("")},
		StatusFile: c.StatusFile,
		Group:      id.Group, // from the enrollment secret
		Version:    version,
		Devices:    media,
		Logger:     logger,
	}
	// Local drop-ins may name a tool only a cached catalog update knows.
	acfg.PolicyDir = policyDir(c.PolicyDir, agent.CachedCatalog(acfg, id))
	// The per-user notifiers connect to this socket (pipe on Windows).
	// What a notifier sees from its session (the camera on macOS) joins
	// what the service sees, as the session's peer uid.
	notifiers := &localipc.Server{Logger: logger.With("component", "ipc"), OnMedia: func(s localipc.Session, ms []localipc.MediaUse) {
		media.Report(s.ID(), s.UID, agent.ReportedMedia(s, ms), localipc.MediaTTL)
	}}
	if err := notifiers.Listen(c.NotifySocket); err != nil {
		logger.Warn("user notices are off: the notifier socket cannot be opened", "err", err)
	} else {
		serveDone := make(chan error, 1)
		go func() { serveDone <- notifiers.Serve(ctx) }()
		defer func() { cancel(); <-serveDone }()
		acfg.Notifier = &notify.Service{Server: notifiers, Limiter: &notify.Limiter{QuietPeriod: c.QuietPeriod}, Logger: logger.With("component", "notify")}
	}
	if c.Enforce {
		enf := enforce.New(enforce.Config{Logger: logger.With("component", "enforce")})
		defer enf.Close()
		acfg.Enforcer = enf
	}
	// Apps' and browsers' settings are read in the home of the person
	// running them, to tell the organisation's server and account from
	// others and to name the meeting site a browser serves.
	owners := homes{tab: proctable.New(proctable.Config{})}
	defer owners.tab.Close()
	acfg.Setups, acfg.Sites = newSetupReader(owners), siteReader{homes: owners}
	acfg.Posture = newPostureReader(owners, acfg.Catalog)
	if bw, err := browserpolicy.New(browserpolicy.Config{StateDir: c.StateDir, Logger: logger}); err != nil {
		logger.Warn("browser policies will not be written", "err", err)
	} else {
		acfg.BrowserPolicy = browserPolicies{w: bw}
	}
	a, err := agent.New(acfg, id)
	if err != nil {
		return err
	}
	// New may have taken a newer catalog from the state directory.
	matcher.Store(a.Catalog().Matcher(runtime.GOOS))
	lighten(ctx, logger)
	client := &uplink.Client{
		StateDir: c.StateDir, Identity: id, Outbox: out, Logger: logger.With("component", "uplink"),
		Hello: a.Hello(deviceInfo()), OnPolicy: a.OnPolicy, OnGroup: a.OnGroup,
		OnCatalog: a.OnCatalog, CatalogChanged: a.CatalogChanged(), CatalogVersion: a.CatalogVersion,
	}
	logger.Info("vcguard-agent running", "version", version, "device", id.DeviceID, "server", id.Server, "state", c.StateDir)
	err = runBoth(ctx, a.Run, client.Run)
	// The status file says the agent stopped, and why when it was not
	// asked to, so that `status` does not show a stopped agent's apps.
	cause := err
	if parent.Err() != nil {
		cause = nil
	}
	if serr := a.WriteStopped(cause); serr != nil {
		logger.Warn("status file not marked stopped", "err", serr)
	}
	return err
}

// runBoth runs the agent's pipeline and its uplink until ctx ends or
// either fails; the first error ends both, and both have ended when it
// returns (so the outbox they share may be closed).
func runBoth(ctx context.Context, runs ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(runs))
	for _, run := range runs {
		go func() { errs <- run(ctx) }()
	}
	var first error
	for range runs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
		cancel()
	}
	return first
}

// enrollRetrying enrolls, trying again with a growing wait (first, up to
// max) while the server cannot be reached or is shedding load: a laptop
// rolled out before it has a network, a server being upgraded. An answer
// that retrying will not change (the secret refused, an untrusted server, a
// configuration error) ends it, and the agent exits; the service manager
// starts it again, and it reads its configuration anew.
func enrollRetrying(ctx context.Context, c *config, logger *slog.Logger, first, max time.Duration) (*uplink.Identity, error) {
	wait := first
	for {
		id, err := uplink.Enroll(ctx, enrollConfig(c))
		if err == nil || ctx.Err() != nil || !transientEnrollError(err) {
			return id, err
		}
		logger.Warn("enrollment failed; retrying", "server", c.Server, "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (stopped while waiting to retry)", err)
		case <-time.After(wait):
		}
		wait = min(2*wait, max)
	}
}

// transientEnrollError reports whether an enrollment failure may pass by
// itself: the server did not answer, or answered that it is busy.
func transientEnrollError(err error) bool {
	var refused *uplink.EnrollError
	if errors.As(err, &refused) {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}

// program adapts run to the service manager.
type program struct {
	cfg    *config
	opts   runOptions
	logger *slog.Logger
	cancel context.CancelFunc
	done   chan error
}

func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan error, 1)
	go func() {
		err := run(ctx, p.cfg, p.opts, p.logger)
		if err != nil && ctx.Err() == nil {
			// Not asked to stop: exit, so that the service manager
			// restarts the agent instead of keeping a dead one alive.
			p.logger.Error("agent stopped", "err", err)
			os.Exit(1)
		}
		p.done <- err
	}()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.cancel()
	return <-p.done
}

// serviceConfig describes the system service. Its command line is "run
// --service" and every flag the install command was given, so the service
// runs with the configuration it was installed with.
func serviceConfig(c *config) *service.Config {
	args := append([]string{"run", "--service"}, c.flagArgs...)
	return &service.Config{
		Name:        serviceName,
		DisplayName: "vcguard agent",
		Description: "Checks videoconferencing tools against the organisation's policy and reports to the vcguard server.",
		Arguments:   args,
	}
}

// serviceName is the system service's name (sc query vcguard-agent,
// systemctl status vcguard-agent).
const serviceName = "vcguard-agent"

func cmdControl(action string, args []string) error {
	c, err := parseConfig(action, args, defaultConfigFile)
	if err != nil {
		return err
	}
	s, err := service.New(&program{cfg: c, logger: newLogger(c.LogFormat, os.Stderr)}, serviceConfig(c))
	if err != nil {
		return err
	}
	if err := service.Control(s, action); err != nil {
		return fmt.Errorf("%s the service: %w", action, err)
	}
	if action == "uninstall" {
		// The browsers' policies go with the agent; what another wrote
		// stays.
		if err := removeBrowserPolicies(c.StateDir, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "vcguard-agent: warning: the service is removed, but not the browser policies it wrote: %v\n", err)
		}
	}
	if action == "install" {
		// The service manager restarts the agent when it dies or exits
		// with an error (run exits non-zero when it fails). The service is
		// installed either way: say what is missing rather than fail.
		if err := setRecovery(serviceName); err != nil {
			fmt.Fprintf(os.Stderr, "vcguard-agent: warning: the service is installed, but the service manager refused its recovery actions (restart on failure): %v\n", err)
		}
	}
	fmt.Printf("service %s: done\n", action)
	return nil
}

// serviceState describes the installed service's state for status output;
// "" when no service is installed.
func serviceState(c *config) string {
	s, err := service.New(&program{cfg: c}, serviceConfig(c))
	if err != nil {
		return ""
	}
	st, err := s.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return ""
	case err != nil:
		return "state unknown: " + err.Error()
	case st == service.StatusRunning:
		return "running"
	case st == service.StatusStopped:
		return "stopped"
	default:
		return "state unknown"
	}
}

// loadCatalog returns the built-in catalog plus the entries in dir, if
// given, and those entries alone (they are added to every catalog version
// the server pushes too). An entry that is broken or claims an id or
// executable of another fails the start with its file and line.
func loadCatalog(dir string) (*policies.Catalog, []*policies.App, error) {
	builtin, err := policies.EmbeddedCatalog()
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %w", err)
	}
	if dir == "" {
		return builtin, nil, nil
	}
	extra, err := policies.LoadCatalog(os.DirFS(dir), ".")
	if err != nil {
		return nil, nil, fmt.Errorf("catalog_dir (--catalog-dir) %s: %w", dir, err)
	}
	cat, err := policies.NewCatalog(append(slices.Clone(builtin.Apps()), extra.Apps()...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog_dir (--catalog-dir) %s: %w", dir, err)
	}
	return cat, extra.Apps(), nil
}

// policyDir opens the local policy directory; "" turns it off.
func policyDir(path string, cat *policies.Catalog) *policydir.Dir {
	if path == "" {
		return nil
	}
	return policydir.Open(path, cat)
}

// cmdNotifier runs the per-user notifier until it is stopped.
func cmdNotifier(args []string) error {
	fs := flag.NewFlagSet("vcguard-agent notifier", flag.ContinueOnError)
	socket := fs.String("socket", "", "the service's notifier socket (default "+localipc.DefaultPath+")")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	displayName := fs.String("display", "system", "where notices go: system (the desktop's notifications) or lines (one JSON line each on standard output, where no desktop is)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	logger := newLogger(*logFormat, os.Stderr)
	var display notify.SystemDisplay
	switch *displayName {
	case "system":
		d, err := notify.OpenSystemDisplay("vcguard")
		if err != nil {
			return fmt.Errorf("notifier: %w", err)
		}
		display = d
	case "lines":
		display = &notify.LineDisplay{W: os.Stdout}
	default:
		return fmt.Errorf("notifier: --display %q: want system or lines", *displayName)
	}
	defer display.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return notify.RunNotifier(ctx, notify.NotifierConfig{
		Path: *socket, Locale: userLocale(), Session: os.Getenv("XDG_SESSION_ID"), Display: display, Logger: logger,
		MediaProbe: mediaProbe(logger),
	})
}

// userLocale is the locale messages are shown in, by the POSIX order of
// precedence.
func userLocale() string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if l := os.Getenv(v); l != "" {
			return l
		}
	}
	return ""
}

// cmdRemoveBrowserPolicies removes the browsers' managed policies the
// agent wrote (and only those), as package removal and uninstall do.
func cmdRemoveBrowserPolicies(args []string, out io.Writer) error {
	c, err := parseConfig("remove-browser-policies", args, defaultConfigFile)
	if err != nil {
		return err
	}
	return removeBrowserPolicies(c.StateDir, out)
}

func removeBrowserPolicies(stateDir string, out io.Writer) error {
	if _, err := os.Stat(statedir.BrowserPolicies.Path(stateDir)); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(out, "browser policies: none written")
		return nil
	}
	w, err := browserpolicy.New(browserpolicy.Config{StateDir: stateDir})
	if err != nil {
		return err
	}
	rep, err := w.Apply(nil)
	for _, p := range rep.Removed {
		fmt.Fprintln(out, "browser policies: removed", p)
	}
	for _, sk := range rep.Skipped {
		fmt.Fprintf(out, "browser policies: left %s alone: %s\n", sk.Target, sk.Reason)
	}
	return err
}
