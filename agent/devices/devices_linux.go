package devices

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Sound server kinds of a user session.
const (
	serverPipeWire   = "pipewire"
	serverPulseAudio = "pulseaudio"
)

// toolTimeout bounds one run of pw-dump or pactl.
const toolTimeout = 5 * time.Second

// linuxChecker combines the /proc fd scan (processes holding V4L2 and
// ALSA capture nodes) with the capture streams of every user's sound
// server, found under Config.RunUserDir as a system service must: by
// itself, not from its own XDG_RUNTIME_DIR.
type linuxChecker struct {
	cfg    Config
	log    *slog.Logger
	devDir string // where device nodes are watched; /dev
	euid   int

	// debounce is how long events are gathered before one check.
	debounce time.Duration

	mu      sync.Mutex // guards what check uses
	scanner *fdScanner
	failing map[string]string // session key → last error logged
}

func newOSChecker(cfg Config) osChecker { return newLinuxChecker(cfg) }

func newLinuxChecker(cfg Config) *linuxChecker {
	cfg.defaults()
	return &linuxChecker{
		cfg: cfg, log: cfg.Logger.With("detector", "devices"), devDir: "/dev", euid: os.Geteuid(),
		debounce: 100 * time.Millisecond,
		scanner:  newFDScanner(cfg.ProcRoot), failing: make(map[string]string),
	}
}

// session is a user's runtime directory with a sound server in it.
type session struct {
	uid, gid int
	home     string
	dir      string // the user's XDG_RUNTIME_DIR
	server   string // serverPipeWire or serverPulseAudio
}

func (s session) key() string { return s.server + ":" + strconv.Itoa(s.uid) }

// sessions lists the users' sound servers: a runtime directory
// RunUserDir/<uid> owned by uid with a pipewire-0 socket (PipeWire, also
// when pipewire-pulse serves PulseAudio clients too) or else a
// pulse/native socket (PulseAudio). Users this process cannot act as
// (it is not root and not them) are left out.
func (c *linuxChecker) sessions() ([]session, error) {
	ents, err := os.ReadDir(c.cfg.RunUserDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list user sessions: %w", err)
	}
	var ss []session
	for _, e := range ents {
		uid, err := strconv.Atoi(e.Name())
		if err != nil || uid < 0 || !e.IsDir() {
			continue
		}
		if c.euid != 0 && uid != c.euid {
			continue
		}
		dir := filepath.Join(c.cfg.RunUserDir, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(dir, &st); err != nil || int(st.Uid) != uid {
			continue // not that user's own directory
		}
		s := session{uid: uid, gid: int(st.Gid), dir: dir, home: "/"}
		switch {
		case isSocket(filepath.Join(dir, "pipewire-0")):
			s.server = serverPipeWire
		case isSocket(filepath.Join(dir, "pulse", "native")):
			s.server = serverPulseAudio
		default:
			continue
		}
		if u, err := user.LookupId(e.Name()); err == nil {
			if gid, err := strconv.Atoi(u.Gid); err == nil {
				s.gid = gid
			}
			if u.HomeDir != "" {
				s.home = u.HomeDir
			}
		}
		ss = append(ss, s)
	}
	return ss, nil
}

func isSocket(p string) bool {
	var st unix.Stat_t
	return unix.Lstat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK
}

// command prepares a sound server client for session s: run as the
// user (when this process is root and the user is not), with only the
// environment it needs, killed with ctx and if this process dies.
func (c *linuxChecker) command(ctx context.Context, s session, tool string, args ...string) (*exec.Cmd, error) {
	bin, err := exec.LookPath(tool)
	if err != nil {
		return nil, fmt.Errorf("%s not found (install %s): %w", tool, packageOf(tool), err)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"XDG_RUNTIME_DIR=" + s.dir, "HOME=" + s.home, "PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if c.euid == 0 && s.uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(s.uid), Gid: uint32(s.gid), Groups: []uint32{}}
	}
	cmd.WaitDelay = time.Second
	return cmd, nil
}

func packageOf(tool string) string {
	switch tool {
	case "pw-dump":
		return "pipewire-bin"
	case "pactl":
		return "pulseaudio-utils"
	}
	return tool
}

// run runs a sound server client for s and returns its output.
func (c *linuxChecker) run(ctx context.Context, s session, tool string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	cmd, err := c.command(ctx, s, tool, args...)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &limitedBuffer{max: 4096, buf: &stderr}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s for uid %d in %s: %w: %s", tool, s.uid, s.dir, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	max int
	buf *bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// readServer lists the capture streams of one session's sound server.
func (c *linuxChecker) readServer(ctx context.Context, s session) ([]Use, error) {
	switch s.server {
	case serverPipeWire:
		out, err := c.run(ctx, s, "pw-dump", "--no-colors")
		if err != nil {
			return nil, err
		}
		return ParsePWDump(out, s.uid)
	case serverPulseAudio:
		pulse := "--server=unix:" + filepath.Join(s.dir, "pulse", "native")
		srcs, err := c.run(ctx, s, "pactl", pulse, "--format=json", "list", "sources")
		if err != nil {
			return nil, err
		}
		sources, err := ParsePactlSources(srcs)
		if err != nil {
			return nil, err
		}
		out, err := c.run(ctx, s, "pactl", pulse, "--format=json", "list", "source-outputs")
		if err != nil {
			return nil, err
		}
		return ParsePactlSourceOutputs(out, s.uid, sources)
	}
	return nil, fmt.Errorf("unknown sound server %q", s.server)
}

// check lists the uses now. A sound server that cannot be read is
// logged and left out (its daemons' own device holds are then kept, so
// the device still shows as in use); only an unreadable /proc fails the
// check.
func (c *linuxChecker) check(ctx context.Context) ([]Use, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sessions, err := c.sessions()
	if err != nil {
		c.log.Warn("camera/microphone: user sessions", "err", err)
	}
	var uses []Use
	served := make(map[int]bool)
	for _, s := range sessions {
		us, err := c.readServer(ctx, s)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.failed(s, err)
			continue
		}
		c.recovered(s)
		served[s.uid] = true
		for i := range us {
			c.resolveProcess(&us[i])
		}
		uses = append(uses, us...)
	}
	holds, err := c.scanner.scan(ctx)
	if err != nil {
		return nil, err
	}
	return appendHolds(uses, holds, served), nil
}

// appendHolds appends the device holds to uses, less those of sound
// server daemons whose user's server was read (served): its streams name
// the real clients.
func appendHolds(uses []Use, holds []fdHold, served map[int]bool) []Use {
	for _, h := range holds {
		if served[h.UID] && isSoundServer(h.exeBase(), h.comm) {
			continue
		}
		uses = append(uses, h.Use)
	}
	return uses
}

// resolveProcess replaces a sound server client's own name for itself by
// its executable's path when the PID is a live process of the session's
// user; a PID of another user (a false claim) or of no process (one in a
// sandbox's PID namespace) keeps the name.
func (c *linuxChecker) resolveProcess(u *Use) {
	if u.PID <= 0 {
		return
	}
	exe, uid, ok := c.scanner.processOf(u.PID)
	if ok && uid == u.UID && exe != "" {
		u.Process = exe
	}
}

// failed logs a session's failure once, and again when it changes.
func (c *linuxChecker) failed(s session, err error) {
	msg := err.Error()
	if c.failing[s.key()] == msg {
		c.log.Debug("sound server unreadable", "uid", s.uid, "server", s.server, "err", err)
		return
	}
	c.failing[s.key()] = msg
	c.log.Warn("sound server unreadable; its clients are not attributed", "uid", s.uid, "server", s.server, "err", err)
}

func (c *linuxChecker) recovered(s session) {
	if _, ok := c.failing[s.key()]; ok {
		delete(c.failing, s.key())
		c.log.Info("sound server readable again", "uid", s.uid, "server", s.server)
	}
}
