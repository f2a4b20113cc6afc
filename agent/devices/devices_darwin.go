package devices

// macOS: microphones from CoreAudio, cameras from CoreMediaIO, both called
// through purego (no cgo), and the camera's process from the unified log.
// No callbacks (purego caps them at 2000 per process): check polls, and
// start runs `log stream` to learn camera clients as they connect. All
// property values are decoded in coreaudio.go; log lines in unifiedlog.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"

	"github.com/vcguard/vcguard/agent/proctable"
)

const (
	coreAudioPath      = "/System/Library/Frameworks/CoreAudio.framework/CoreAudio"
	coreMediaIOPath    = "/System/Library/Frameworks/CoreMediaIO.framework/CoreMediaIO"
	coreFoundationPath = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
	libSystemPath      = "/usr/lib/libSystem.B.dylib"
	logTool            = "/usr/bin/log"

	// kCFStringEncodingUTF8.
	cfStringEncodingUTF8 uint32 = 0x08000100
	// PROC_PIDPATHINFO_MAXSIZE.
	procPIDPathMax = 4096

	// logShowTimeout bounds one `log show`.
	logShowTimeout = 10 * time.Second
	// logShowEvery spaces `log show` runs while a camera runs
	// unattributed and `log stream` is not running.
	logShowEvery = 30 * time.Second
	// forgetGrace keeps clients logged just before a check that found no
	// camera running: the log can be ahead of CoreMediaIO.
	forgetGrace = 5 * time.Second
)

// propertyAddress is AudioObjectPropertyAddress / CMIOObjectPropertyAddress.
type propertyAddress struct {
	Selector, Scope, Element uint32
}

// macAPI holds the C functions, bound once per checker.
type macAPI struct {
	tab *proctable.Table

	audioGetSize func(obj uint32, addr *propertyAddress, qualSize uint32, qual unsafe.Pointer, size *uint32) int32
	audioGetData func(obj uint32, addr *propertyAddress, qualSize uint32, qual unsafe.Pointer, size *uint32, data unsafe.Pointer) int32

	// cmioErr is why CoreMediaIO could not be bound; cameras are then
	// not checked.
	cmioErr     error
	cmioGetSize func(obj uint32, addr *propertyAddress, qualSize uint32, qual unsafe.Pointer, size *uint32) int32
	cmioGetData func(obj uint32, addr *propertyAddress, qualSize uint32, qual unsafe.Pointer, dataSize uint32, used *uint32, data unsafe.Pointer) int32

	cfStringGetLength                 func(s uintptr) int
	cfStringGetMaximumSizeForEncoding func(n int, enc uint32) int
	cfStringGetCString                func(s uintptr, buf unsafe.Pointer, size int, enc uint32) bool
	cfRelease                         func(ref uintptr)

	procPIDPath func(pid int32, buf unsafe.Pointer, size uint32) int32
}

// bind looks name up in lib and binds it to fptr, with an error instead of
// RegisterLibFunc's panic when the symbol is missing.
func bind(lib uintptr, libPath, name string, fptr any) error {
	sym, err := purego.Dlsym(lib, name)
	if err != nil {
		return fmt.Errorf("find %s in %s: %w", name, libPath, err)
	}
	purego.RegisterFunc(fptr, sym)
	return nil
}

func dlopen(path string) (uintptr, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", path, err)
	}
	return h, nil
}

// loadMacAPI binds CoreFoundation, CoreAudio, libSystem and, when it loads,
// CoreMediaIO. Libraries stay loaded for the life of the process.
func loadMacAPI() (*macAPI, error) {
	a := &macAPI{tab: proctable.New(proctable.Config{})}
	cf, err := dlopen(coreFoundationPath)
	if err != nil {
		return nil, err
	}
	ca, err := dlopen(coreAudioPath)
	if err != nil {
		return nil, err
	}
	sys, err := dlopen(libSystemPath)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(
		bind(cf, coreFoundationPath, "CFStringGetLength", &a.cfStringGetLength),
		bind(cf, coreFoundationPath, "CFStringGetMaximumSizeForEncoding", &a.cfStringGetMaximumSizeForEncoding),
		bind(cf, coreFoundationPath, "CFStringGetCString", &a.cfStringGetCString),
		bind(cf, coreFoundationPath, "CFRelease", &a.cfRelease),
		bind(ca, coreAudioPath, "AudioObjectGetPropertyDataSize", &a.audioGetSize),
		bind(ca, coreAudioPath, "AudioObjectGetPropertyData", &a.audioGetData),
		bind(sys, libSystemPath, "proc_pidpath", &a.procPIDPath),
	); err != nil {
		return nil, err
	}
	if cm, err := dlopen(coreMediaIOPath); err != nil {
		a.cmioErr = err
	} else {
		a.cmioErr = errors.Join(
			bind(cm, coreMediaIOPath, "CMIOObjectGetPropertyDataSize", &a.cmioGetSize),
			bind(cm, coreMediaIOPath, "CMIOObjectGetPropertyData", &a.cmioGetData),
		)
	}
	return a, nil
}

// propertyError reports a failed property read: which API, object and
// property, and the OSStatus by name.
type propertyError struct {
	API    string
	Object uint32
	Addr   propertyAddress
	Status int32
}

func (e *propertyError) Error() string {
	return fmt.Sprintf("%s: read %s (scope %s) of object %d: %s", e.API, fourCCString(e.Addr.Selector),
		fourCCString(e.Addr.Scope), e.Object, osStatusString(e.Status))
}

// audioProp reads a CoreAudio property value.
func (a *macAPI) audioProp(obj uint32, sel, scope fourCC) ([]byte, error) {
	addr := propertyAddress{sel, scope, elementMain}
	var size uint32
	if st := a.audioGetSize(obj, &addr, 0, nil, &size); st != 0 {
		return nil, &propertyError{"CoreAudio", obj, addr, st}
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	if st := a.audioGetData(obj, &addr, 0, nil, &size, unsafe.Pointer(&buf[0])); st != 0 {
		return nil, &propertyError{"CoreAudio", obj, addr, st}
	}
	return buf[:min(int(size), len(buf))], nil
}

// cmioProp reads a CoreMediaIO property value.
func (a *macAPI) cmioProp(obj uint32, sel, scope fourCC) ([]byte, error) {
	addr := propertyAddress{sel, scope, elementMain}
	var size uint32
	if st := a.cmioGetSize(obj, &addr, 0, nil, &size); st != 0 {
		return nil, &propertyError{"CoreMediaIO", obj, addr, st}
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	var used uint32
	if st := a.cmioGetData(obj, &addr, 0, nil, size, &used, unsafe.Pointer(&buf[0])); st != 0 {
		return nil, &propertyError{"CoreMediaIO", obj, addr, st}
	}
	return buf[:min(int(used), len(buf))], nil
}

// cfString copies a CFStringRef that the caller owns and releases it.
func (a *macAPI) cfString(ref uintptr) string {
	if ref == 0 {
		return ""
	}
	defer a.cfRelease(ref)
	n := a.cfStringGetMaximumSizeForEncoding(a.cfStringGetLength(ref), cfStringEncodingUTF8)
	if n < 0 || n > 1<<20 {
		return ""
	}
	buf := make([]byte, n+1)
	if !a.cfStringGetCString(ref, unsafe.Pointer(&buf[0]), len(buf), cfStringEncodingUTF8) {
		return ""
	}
	return unix.ByteSliceToString(buf)
}

// stringProp reads a CFString property through read and copies it.
func (a *macAPI) stringProp(read func(uint32, fourCC, fourCC) ([]byte, error), obj uint32, sel fourCC) (string, error) {
	b, err := read(obj, sel, scopeGlobal)
	if err != nil {
		return "", err
	}
	ref, err := decodePointer(b)
	if err != nil {
		return "", fmt.Errorf("object %d %s: %w", obj, fourCCString(sel), err)
	}
	return a.cfString(ref), nil
}

// audioDevices lists CoreAudio devices with their input channels and
// whether they run.
func (a *macAPI) audioDevices() ([]audioDevice, error) {
	b, err := a.audioProp(audioSystemObject, selDevices, scopeGlobal)
	if err != nil {
		return nil, fmt.Errorf("list audio devices: %w", err)
	}
	ids, err := decodeObjectIDs(b)
	if err != nil {
		return nil, fmt.Errorf("list audio devices: %w", err)
	}
	var out []audioDevice
	for _, id := range ids {
		d := audioDevice{ID: id}
		// A device without the property or with an unreadable list has
		// no input to report; devices come and go between calls.
		if b, err := a.audioProp(id, selStreamConfiguration, scopeInput); err == nil {
			d.InputChannels, _ = decodeBufferListChannels(b)
		}
		if d.InputChannels <= 0 {
			continue
		}
		if b, err := a.audioProp(id, selRunningSomewhere, scopeGlobal); err == nil {
			v, _ := decodeUInt32(b)
			d.Running = v != 0
		}
		d.UID, _ = a.stringProp(a.audioProp, id, selDeviceUID)
		if d.UID == "" {
			d.Name, _ = a.stringProp(a.audioProp, id, selObjectName)
		}
		out = append(out, d)
	}
	return out, nil
}

// audioProcesses lists the CoreAudio process objects running input
// (macOS 14.2+); ok is false where the OS has no process objects.
func (a *macAPI) audioProcesses() (procs []audioProcess, ok bool, err error) {
	b, err := a.audioProp(audioSystemObject, selProcessObjectList, scopeGlobal)
	if err != nil {
		var pe *propertyError
		if errors.As(err, &pe) {
			return nil, false, nil // before macOS 14.2: unknown property
		}
		return nil, false, err
	}
	ids, err := decodeObjectIDs(b)
	if err != nil {
		return nil, false, fmt.Errorf("list audio processes: %w", err)
	}
	for _, id := range ids {
		b, err := a.audioProp(id, selProcessRunningInput, scopeGlobal)
		if err != nil {
			continue
		}
		if v, err := decodeUInt32(b); err != nil || v == 0 {
			continue
		}
		p := audioProcess{RunningInput: true, UID: -1}
		if b, err := a.audioProp(id, selProcessPID, scopeGlobal); err == nil {
			p.PID, _ = decodePID(b)
		}
		p.BundleID, _ = a.stringProp(a.audioProp, id, selProcessBundleID)
		if b, err := a.audioProp(id, selProcessDevices, scopeInput); err == nil {
			p.InputDevices, _ = decodeObjectIDs(b)
		}
		if p.PID > 0 {
			if path, uid, alive := a.process(p.PID); alive {
				p.Path, p.UID = path, uid
			}
		}
		procs = append(procs, p)
	}
	return procs, true, nil
}

// errCameraPermission explains the likeliest cause of a failed
// CoreMediaIO query.
var errCameraPermission = errors.New("on macOS 26 CoreMediaIO may refuse a process without camera permission " +
	"(a launchd daemon has none): run the camera check in the per-user notifier (devices.CheckCameras)")

// cameraDevices lists CoreMediaIO devices and whether they run. It can be
// called from any process; a refusal says what to do.
func (a *macAPI) cameraDevices() ([]cameraDevice, error) {
	if a.cmioErr != nil {
		return nil, fmt.Errorf("camera check: %w", a.cmioErr)
	}
	b, err := a.cmioProp(cmioSystemObject, selDevices, scopeGlobal)
	if err != nil {
		return nil, fmt.Errorf("camera check: list cameras: %w (%w)", err, errCameraPermission)
	}
	ids, err := decodeObjectIDs(b)
	if err != nil {
		return nil, fmt.Errorf("camera check: list cameras: %w", err)
	}
	var out []cameraDevice
	var errs []error
	for _, id := range ids {
		d := cameraDevice{ID: id}
		b, err := a.cmioProp(id, selRunningSomewhere, scopeGlobal)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		v, err := decodeUInt32(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("camera %d: %w", id, err))
			continue
		}
		d.Running = v != 0
		if d.Running {
			d.UID, _ = a.stringProp(a.cmioProp, id, selDeviceUID)
			if d.UID == "" {
				d.Name, _ = a.stringProp(a.cmioProp, id, selObjectName)
			}
		}
		out = append(out, d)
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("camera check: %w (%w)", errors.Join(errs...), errCameraPermission)
	}
	return out, nil
}

// process returns a live process's executable path and real UID; alive is
// false when no process has pid.
func (a *macAPI) process(pid int32) (path string, uid int, alive bool) {
	o, err := a.tab.Owner(pid)
	if err != nil {
		return "", -1, false
	}
	buf := make([]byte, procPIDPathMax)
	if n := a.procPIDPath(pid, unsafe.Pointer(&buf[0]), uint32(len(buf))); n > 0 && int(n) <= len(buf) {
		path = string(buf[:n])
	}
	return path, o.UID, true
}

// darwinChecker polls CoreAudio and CoreMediaIO and keeps the camera
// clients the unified log names.
type darwinChecker struct {
	cfg Config

	mu      sync.Mutex
	api     *macAPI
	apiErr  error
	loaded  bool
	clients cameraClients
	// streaming is set while `log stream` feeds clients.
	streaming bool
	// lastShow is when `log show` last ran; shows counts them.
	lastShow time.Time
	shows    int
	// warned is the last partial failure logged, so a lasting one is
	// logged once.
	warned string
}

func newOSChecker(cfg Config) osChecker { return &darwinChecker{cfg: cfg} }

func (c *darwinChecker) load() (*macAPI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		c.api, c.apiErr = loadMacAPI()
		c.loaded = true
		if c.apiErr != nil {
			c.apiErr = fmt.Errorf("camera/microphone check: %w", c.apiErr)
		}
	}
	return c.api, c.apiErr
}

// check lists microphone and camera uses. When one of the two cannot be
// read (CoreMediaIO refused, most likely) the other is still reported and
// the failure is logged once; both failing is an error.
func (c *darwinChecker) check(ctx context.Context) ([]Use, error) {
	api, err := c.load()
	if err != nil {
		return nil, err
	}
	mics, micErr := microphones(api)
	cams, camErr := c.cameras(ctx, api)
	if micErr != nil && camErr != nil {
		return nil, errors.Join(micErr, camErr)
	}
	partial := errors.Join(micErr, camErr)
	c.mu.Lock()
	msg := ""
	if partial != nil {
		msg = partial.Error()
	}
	report := msg != c.warned
	c.warned = msg
	c.mu.Unlock()
	if report && partial != nil {
		c.cfg.Logger.Warn("camera/microphone check incomplete", "err", partial)
	}
	return append(mics, cams...), nil
}

func microphones(api *macAPI) ([]Use, error) {
	devs, err := api.audioDevices()
	if err != nil {
		return nil, fmt.Errorf("microphone check: %w", err)
	}
	procs, haveProcs, err := api.audioProcesses()
	if err != nil {
		return nil, fmt.Errorf("microphone check: %w", err)
	}
	return coreAudioUses(devs, procs, haveProcs), nil
}

// cameras lists camera uses. Clients come from `log stream` when start runs
// it; otherwise, while a camera runs with no client known, from `log show`
// at most every logShowEvery (once with a stream, for a camera that was on
// before it started).
func (c *darwinChecker) cameras(ctx context.Context, api *macAPI) ([]Use, error) {
	devs, err := api.cameraDevices()
	if err != nil {
		return nil, err
	}
	running := false
	for _, d := range devs {
		running = running || d.Running
	}
	c.mu.Lock()
	if !running {
		c.clients.forget(time.Now().Add(-forgetGrace))
		c.mu.Unlock()
		return nil, nil
	}
	// `log stream` only sees what happens after it starts: a camera
	// already on when the agent started needs one `log show`.
	show := (!c.streaming || c.shows == 0) && len(c.clients.byPID) == 0 && time.Since(c.lastShow) >= logShowEvery
	last := "30s"
	if c.shows == 0 {
		last = "5m" // the camera may have started before the agent
	}
	if show {
		c.lastShow = time.Now()
		c.shows++
	}
	c.mu.Unlock()
	if show {
		cls, err := showUnifiedLog(ctx, last)
		if err != nil {
			c.cfg.Logger.Debug("camera clients from the unified log", "err", err)
		}
		c.mu.Lock()
		for _, cl := range cls {
			c.clients.add(cl)
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	clients := c.clients.active()
	c.mu.Unlock()
	return cameraUses(devs, clients, api.process), nil
}

// showUnifiedLog runs `log show` over the last window and parses it.
func showUnifiedLog(ctx context.Context, last string) ([]CameraClient, error) {
	ctx, cancel := context.WithTimeout(ctx, logShowTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, logTool, "show", "--style", "ndjson", "--info", "--debug",
		"--last", last, "--predicate", unifiedLogCameraPredicate)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s show: %w", logTool, err)
	}
	cls, err := ParseUnifiedLogCamera(bytes.NewReader(out))
	return cls, err
}

// start runs `log stream` for camera clients until ctx ends, restarting it
// with a backoff when it exits. changed fires when it logs a client.
func (c *darwinChecker) start(ctx context.Context) (<-chan struct{}, error) {
	if _, err := exec.LookPath(logTool); err != nil {
		return nil, fmt.Errorf("camera clients: %w", err)
	}
	changed := make(chan struct{}, 1)
	go c.streamLog(ctx, changed)
	return changed, nil
}

func (c *darwinChecker) streamLog(ctx context.Context, changed chan<- struct{}) {
	logger := c.cfg.Logger.With("source", "unified log")
	backoff := 5 * time.Second
	for ctx.Err() == nil {
		began := time.Now()
		err := c.streamOnce(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > 5*time.Minute {
			backoff = 5 * time.Second
		}
		logger.Warn("log stream ended; camera clients unknown until it restarts", "err", err, "retry", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Minute)
	}
}

// streamOnce runs one `log stream` and feeds its clients.
func (c *darwinChecker) streamOnce(ctx context.Context, changed chan<- struct{}) error {
	cmd := exec.CommandContext(ctx, logTool, "stream", "--style", "ndjson", "--level", "debug",
		"--predicate", unifiedLogCameraPredicate)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s stream: %w", logTool, err)
	}
	c.setStreaming(true)
	defer c.setStreaming(false)
	readErr := scanLogLines(out, func(line []byte) {
		cl, ok := parseUnifiedLogLine(line)
		if !ok {
			return
		}
		if cl.Time.IsZero() {
			cl.Time = time.Now()
		}
		c.mu.Lock()
		c.clients.add(cl)
		c.mu.Unlock()
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	waitErr := cmd.Wait()
	if waitErr != nil {
		return fmt.Errorf("%s stream: %w", logTool, waitErr)
	}
	return readErr
}

func (c *darwinChecker) setStreaming(on bool) {
	c.mu.Lock()
	c.streaming = on
	c.mu.Unlock()
}

// CheckCameras lists the cameras in use as seen from the calling process,
// with clients from a `log show` of the last 5 minutes. It is for the
// per-user notifier: on macOS 26 CoreMediaIO may answer only a process
// with camera permission, which the system service lacks. The error says
// what failed.
func CheckCameras(ctx context.Context, logger *slog.Logger) ([]Use, error) {
	return NewCameraProbe(logger)(ctx)
}

// NewCameraProbe returns a CheckCameras that keeps its checker between
// calls, so that the unified log is read at most every logShowEvery while
// a camera runs with no client known, however often it is called.
func NewCameraProbe(logger *slog.Logger) func(context.Context) ([]Use, error) {
	c := &darwinChecker{cfg: Config{Logger: logger}}
	c.cfg.defaults()
	return func(ctx context.Context) ([]Use, error) {
		api, err := c.load()
		if err != nil {
			return nil, err
		}
		us, err := c.cameras(ctx, api)
		Sort(us)
		return us, err
	}
}
