package devices

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// start feeds changed from inotify on the capture device nodes (opened,
// closed, created) and on the users' runtime directories, and from a
// monitor per user sound server (`pw-dump --monitor`, `pactl
// subscribe`), debounced. Everything it starts, goroutines and child
// processes, stops when ctx ends. It fails only when neither source can
// run; the Watcher then polls.
func (c *linuxChecker) start(ctx context.Context) (<-chan struct{}, error) {
	changed := make(chan struct{}, 1)
	kick := make(chan struct{}, 1)
	signal := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	resync := make(chan struct{}, 1)
	usersChanged := func() {
		select {
		case resync <- struct{}{}:
		default:
		}
		signal()
	}
	w, err := newDevWatch(c.devDir, c.cfg.RunUserDir)
	if err != nil {
		c.log.Info("no inotify on device nodes; polling them", "interval", c.cfg.PollInterval, "reason", err)
	} else {
		go w.run(ctx, c.log, signal, usersChanged)
	}
	go debounce(ctx, c.debounce, kick, changed)
	go c.superviseMonitors(ctx, signal, resync)
	return changed, nil
}

// debounce turns bursts on kick into one send on changed, d after the
// first; a kick during the wait is kept for the next round, so the last
// change of a burst is always followed by a check.
func debounce(ctx context.Context, d time.Duration, kick <-chan struct{}, changed chan<- struct{}) {
	t := time.NewTimer(d)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
		t.Reset(d)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
}

// Inotify masks.
const (
	nodeMask = unix.IN_OPEN | unix.IN_CLOSE_WRITE | unix.IN_CLOSE_NOWRITE
	dirMask  = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_ONLYDIR
)

// devWatch is an inotify instance on the device nodes, their
// directories (for hotplug) and the users' runtime directories.
type devWatch struct {
	f      *os.File
	fd     int
	devDir string
	runDir string
	wds    map[int32]string // watch descriptor → path
}

func newDevWatch(devDir, runDir string) (*devWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &devWatch{fd: fd, devDir: devDir, runDir: runDir, wds: make(map[int32]string)}
	// A nonblocking fd goes to the runtime's poller, so that Close ends
	// a pending Read.
	w.f = os.NewFile(uintptr(fd), "inotify")
	if err := w.add(devDir, dirMask); err != nil {
		w.f.Close()
		return nil, err
	}
	w.addSnd()
	w.addNodes(devDir, "video")
	// Absent on a machine without user sessions.
	if w.add(runDir, dirMask) == nil {
		if ents, err := os.ReadDir(runDir); err == nil {
			for _, e := range ents {
				w.addUserDir(e.Name())
			}
		}
	}
	return w, nil
}

// addUserDir watches a user's runtime directory runDir/<uid> for its
// sound server's socket.
func (w *devWatch) addUserDir(name string) {
	if isDigits(name) {
		_ = w.add(filepath.Join(w.runDir, name), dirMask)
	}
}

func (w *devWatch) add(path string, mask uint32) error {
	wd, err := unix.InotifyAddWatch(w.fd, path, mask)
	if err != nil {
		return fmt.Errorf("inotify watch %s: %w", path, err)
	}
	w.wds[int32(wd)] = path
	return nil
}

// addSnd watches the ALSA directory and its capture PCMs.
func (w *devWatch) addSnd() {
	snd := filepath.Join(w.devDir, "snd")
	if w.add(snd, dirMask) == nil {
		w.addNodes(snd, "pcm")
	}
}

// addNodes watches the capture nodes named prefix* in dir.
func (w *devWatch) addNodes(dir, prefix string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) && w.isCaptureNode(dir, e.Name()) {
			_ = w.add(filepath.Join(dir, e.Name()), nodeMask)
		}
	}
}

// isCaptureNode reports whether dir/name is a node worth watching.
func (w *devWatch) isCaptureNode(dir, name string) bool {
	switch dir {
	case w.devDir:
		return isVideoName("/dev/" + name)
	case filepath.Join(w.devDir, "snd"):
		return isALSACaptureName("/dev/snd/" + name)
	}
	return false
}

// run reads events until ctx ends: node events call signal, a change in
// the runtime directories calls usersChanged, new nodes are watched.
func (w *devWatch) run(ctx context.Context, log *slog.Logger, signal, usersChanged func()) {
	stop := context.AfterFunc(ctx, func() { w.f.Close() })
	defer func() {
		if stop() {
			w.f.Close()
		}
	}()
	buf := make([]byte, 16<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, io.EOF) {
				log.Warn("device events stopped; polling", "err", err)
			}
			return
		}
		w.handle(buf[:n], signal, usersChanged)
	}
}

// handle decodes inotify_event records (wd s32, mask u32, cookie u32,
// len u32, name[len]).
func (w *devWatch) handle(buf []byte, signal, usersChanged func()) {
	const hdr = unix.SizeofInotifyEvent
	for len(buf) >= hdr {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := hdr + int(ev.Len)
		if end > len(buf) {
			return
		}
		name := string(trimNUL(buf[hdr:end]))
		buf = buf[end:]
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			signal()
			continue
		}
		dir, ok := w.wds[ev.Wd]
		if !ok {
			continue
		}
		if ev.Mask&unix.IN_IGNORED != 0 {
			delete(w.wds, ev.Wd)
			continue
		}
		switch {
		case dir == w.runDir:
			if ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
				w.addUserDir(name)
			}
			usersChanged()
		case filepath.Dir(dir) == w.runDir:
			// A user's sound server started or ended.
			if name == "pipewire-0" || name == "pulse" {
				usersChanged()
			}
		case ev.Mask&nodeMask != 0:
			signal()
		case ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 && dir == w.devDir && name == "snd":
			w.addSnd()
			signal()
		case ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 && w.isCaptureNode(dir, name):
			_ = w.add(filepath.Join(dir, name), nodeMask)
			signal()
		case w.isCaptureNode(dir, name):
			signal() // removed
		}
	}
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// monitor is a long-running sound server client whose output means a
// change.
type monitor struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// superviseMonitors keeps one monitor per user sound server, started for
// new sessions and restarted when one ends, checked at every poll and
// when the runtime directories change; all are stopped when ctx ends.
func (c *linuxChecker) superviseMonitors(ctx context.Context, signal func(), resync <-chan struct{}) {
	running := make(map[string]*monitor)
	defer func() {
		for _, m := range running {
			m.cancel()
		}
		for _, m := range running {
			<-m.done
		}
	}()
	tick := time.NewTicker(c.cfg.PollInterval)
	defer tick.Stop()
	for {
		c.syncMonitors(ctx, running, signal)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-resync:
		}
	}
}

func (c *linuxChecker) syncMonitors(ctx context.Context, running map[string]*monitor, signal func()) {
	sessions, err := c.sessions()
	if err != nil {
		return
	}
	want := make(map[string]session, len(sessions))
	for _, s := range sessions {
		want[s.key()] = s
	}
	for key, m := range running {
		ended := false
		select {
		case <-m.done:
			ended = true
		default:
		}
		if _, ok := want[key]; !ok || ended {
			m.cancel()
			<-m.done
			delete(running, key)
		}
	}
	for key, s := range want {
		if _, ok := running[key]; ok {
			continue
		}
		m, err := c.startMonitor(ctx, s, signal)
		if err != nil {
			c.log.Debug("no sound server events", "uid", s.uid, "server", s.server, "err", err)
			continue
		}
		running[key] = m
	}
}

// startMonitor starts the monitor of session s: pw-dump --monitor for
// PipeWire, pactl subscribe for PulseAudio. Any output calls signal.
func (c *linuxChecker) startMonitor(ctx context.Context, s session, signal func()) (*monitor, error) {
	mctx, cancel := context.WithCancel(ctx)
	tool, args := "pw-dump", []string{"--monitor", "--no-colors"}
	if s.server == serverPulseAudio {
		tool, args = "pactl", []string{"--server=unix:" + filepath.Join(s.dir, "pulse", "native"), "subscribe"}
	}
	cmd, err := c.command(mctx, s, tool, args...)
	if err != nil {
		cancel()
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s for uid %d: %w", tool, s.uid, err)
	}
	m := &monitor{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		if s.server == serverPipeWire {
			// followPWMonitor returns only when its input ends or is not
			// understood: an error every time, io.EOF at the end.
			if err := followPWMonitor(out, signal); !errors.Is(err, io.EOF) && mctx.Err() == nil {
				c.log.Debug("pw-dump --monitor output not understood; any output now means a change", "uid", s.uid, "err", err)
				signalOnOutput(out, signal)
			}
		} else {
			_ = followPactlSubscribe(out, signal)
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		cancel()
	}()
	return m, nil
}

// signalOnOutput calls signal whenever r yields output, until it ends.
func signalOnOutput(r io.Reader, signal func()) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			signal()
		}
		if err != nil {
			return
		}
	}
}
