package devices

// Camera clients from the macOS unified log. No public macOS API names the
// process that uses a camera; the daemons behind CoreMediaIO log it. The
// messages are private implementation details that change between releases,
// so each known format is one entry in cameraLogFormats, with the release it
// was seen on; messages recorded on real Macs are in testdata/macos/
// (sources in testdata/README.md). Anything else is ignored: an
// unattributed camera is reported as used by an "unknown process", never
// guessed.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// unifiedLogCameraPredicate selects the entries the formats below read,
// for `log show` / `log stream --predicate`.
const unifiedLogCameraPredicate = `subsystem == "com.apple.cmio" OR subsystem == "com.apple.cameracapture" OR ` +
	`process == "appleh13camerad" OR process == "VDCAssistant"`

// CameraClient is one unified log entry that names a process starting or
// stopping a camera.
type CameraClient struct {
	Time time.Time
	// PID is the client process.
	PID int32
	// Process is the client's executable path when the entry carries it
	// (the client logged the message itself); "" otherwise.
	Process string
	// Device is the camera's ID when the message names one (a CoreMediaIO
	// extension device UUID); "" otherwise.
	Device string
	// Stop says the client stopped or went away.
	Stop bool
	// Format names the message format that matched.
	Format string
}

// logEntry is the part of a `log show|stream --style ndjson` entry read
// here.
type logEntry struct {
	Timestamp        string `json:"timestamp"`
	EventType        string `json:"eventType"`
	EventMessage     string `json:"eventMessage"`
	ProcessID        int64  `json:"processID"`
	ProcessImagePath string `json:"processImagePath"`
	Subsystem        string `json:"subsystem"`
}

// cameraLogFormat recognises one message.
type cameraLogFormat struct {
	name  string
	match func(e *logEntry) (pid int32, device string, stop, ok bool)
	// self says the logging process is the client (PID and path come
	// from the entry, not the message).
	self bool
}

var (
	reControlPID     = regexp.MustCompile(`CMIOExtensionPropertyDeviceControlPID\s*=\s*(-?\d+)\s*;`)
	reProviderDevice = regexp.MustCompile(`<CMIOExtensionProvider>,\s*([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})`)
	reAVCapture      = regexp.MustCompile(`AVCaptureSession\w*\s+(startRunning|stopRunning)\]`)
	reClientDied     = regexp.MustCompile(`^ClientDied\s+\S+\s+\[PID:\s*(-?\d+)\]$`)
	// "[{private}901][{private}0] added <private> endpoint <private> camera
	// <private>": "{private}" is literal text of the message, the PID
	// before "][" is in the clear.
	reRegisterEndpoint = regexp.MustCompile(`addRegisterExtensionConnection:\]\S*\s+\[(?:\{private\})?(-?\d+)\](?:\[[^\]]*\])*\s+added\b.*\bendpoint\b.*\bcamera\b`)
	reDeviceStream     = regexp.MustCompile(`\bCMIOHardware\.cpp:\d+:CMIODevice(Start|Stop)Stream\b`)
)

// registerAssistantService is the CoreMediaIO XPC service that logs camera
// endpoints on macOS 14 and 15.
const registerAssistantService = "com.apple.cmio.registerassistantservice"

// cameraLogFormats are the messages known to name a camera client.
var cameraLogFormats = []cameraLogFormat{
	{
		// macOS 13.3+, subsystem com.apple.cmio (debug level): a client
		// takes control of a CoreMediaIO extension device.
		name: "cmio-device-control-pid",
		match: func(e *logEntry) (int32, string, bool, bool) {
			m := reControlPID.FindStringSubmatch(e.EventMessage)
			if m == nil {
				return 0, "", false, false
			}
			pid, ok := parsePID(m[1])
			var dev string
			if d := reProviderDevice.FindStringSubmatch(e.EventMessage); d != nil {
				dev = d[1]
			}
			return pid, dev, false, ok
		},
	},
	{
		// macOS 14-15, subsystem com.apple.cmio (default level): the
		// CoreMediaIO register-assistant service adds a camera endpoint for
		// a client: "RegisterAssistantService.m:2343:-[RegisterAssistantServer
		// addRegisterExtensionConnection:]_block_invoke [{private}901]
		// [{private}0] added <private> endpoint <private> camera <private>"
		// (testdata/macos/unifiedlog-macos14-15-camera.ndjson).
		name: "cmio-register-endpoint",
		match: func(e *logEntry) (int32, string, bool, bool) {
			if e.Subsystem != "com.apple.cmio" ||
				(e.ProcessImagePath != "" && path.Base(e.ProcessImagePath) != registerAssistantService) {
				return 0, "", false, false
			}
			m := reRegisterEndpoint.FindStringSubmatch(e.EventMessage)
			if m == nil {
				return 0, "", false, false
			}
			pid, ok := parsePID(m[1])
			return pid, "", false, ok
		},
	},
	{
		// CoreMediaIO in the client itself, subsystem com.apple.cmio
		// (default level): "CMIOHardware.cpp:747:CMIODeviceStartStream
		// backtrace ..." (macOS 14-15) or "CMIOHardware.cpp:738:
		// CMIODeviceStartStream (45 46)", and "...CMIODeviceStopStream ...";
		// PID and path are the entry's.
		name: "cmio-device-stream",
		self: true,
		match: func(e *logEntry) (int32, string, bool, bool) {
			if e.Subsystem != "com.apple.cmio" || e.ProcessID <= 0 || e.ProcessID > 1<<31-1 {
				return 0, "", false, false
			}
			m := reDeviceStream.FindStringSubmatch(e.EventMessage)
			if m == nil {
				return 0, "", false, false
			}
			return int32(e.ProcessID), "", m[1] == "Stop", true
		},
	},
	{
		// AVFoundation in the client itself, subsystem
		// com.apple.cameracapture: "-[AVCaptureSession_Tundra
		// startRunning]" / "stopRunning]".
		name: "avcapturesession",
		self: true,
		match: func(e *logEntry) (int32, string, bool, bool) {
			m := reAVCapture.FindStringSubmatch(e.EventMessage)
			if m == nil || e.ProcessID <= 0 || e.ProcessID > 1<<31-1 {
				return 0, "", false, false
			}
			return int32(e.ProcessID), "", m[1] == "stopRunning", true
		},
	},
	{
		// Apple silicon, appleh13camerad (macOS 11–13): the camera daemon
		// checks a client's TCC access, and removes it.
		name: "appleh13camerad",
		match: func(e *logEntry) (int32, string, bool, bool) {
			msg := e.EventMessage
			switch {
			case strings.HasPrefix(msg, "TCC access already allowed for pid "),
				strings.HasPrefix(msg, "TCC preflight access returned allowed for pid "):
				pid, ok := parsePID(lastField(msg))
				return pid, "", false, ok
			case strings.HasPrefix(msg, "Removing client: pid "):
				pid, ok := parsePID(lastField(msg))
				return pid, "", true, ok
			}
			return 0, "", false, false
		},
	},
	{
		// Intel, VDCAssistant (macOS 11–13): "Client Connect for PID n",
		// "ClientDied id [PID: n]".
		name: "vdcassistant",
		match: func(e *logEntry) (int32, string, bool, bool) {
			msg := e.EventMessage
			if strings.HasPrefix(msg, "Client Connect for PID ") {
				pid, ok := parsePID(lastField(msg))
				return pid, "", false, ok
			}
			if m := reClientDied.FindStringSubmatch(msg); m != nil {
				pid, ok := parsePID(m[1])
				return pid, "", true, ok
			}
			return 0, "", false, false
		},
	},
}

func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func parsePID(s string) (int32, bool) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n <= 0 {
		return 0, false
	}
	return int32(n), true
}

// logTimeLayouts are the timestamp forms of `log --style ndjson|json`.
var logTimeLayouts = []string{
	"2006-01-02 15:04:05.999999-0700",
	"2006-01-02 15:04:05.999999Z07:00",
	time.RFC3339Nano,
}

func parseLogTime(s string) time.Time {
	for _, l := range logTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// parseUnifiedLogLine decodes one ndjson line; ok is false for lines that
// are not a log entry (the "Filtering the log data" banner, a summary) or
// that no format recognises.
func parseUnifiedLogLine(line []byte) (c CameraClient, ok bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return CameraClient{}, false
	}
	var e logEntry
	if json.Unmarshal(line, &e) != nil {
		return CameraClient{}, false
	}
	if e.EventType != "" && e.EventType != "logEvent" {
		return CameraClient{}, false
	}
	for _, f := range cameraLogFormats {
		pid, dev, stop, ok := f.match(&e)
		if !ok {
			continue
		}
		c := CameraClient{Time: parseLogTime(e.Timestamp), PID: pid, Device: dev, Stop: stop, Format: f.name}
		if f.self {
			c.Process = e.ProcessImagePath
		}
		return c, true
	}
	return CameraClient{}, false
}

// maxLogLine bounds one ndjson line; longer lines are skipped.
const maxLogLine = 1 << 20

// scanLogLines calls fn for each line of r, skipping lines over
// maxLogLine.
func scanLogLines(r io.Reader, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	skipping := false
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if !skipping {
				long = append(long, chunk...)
				if len(long) > maxLogLine {
					long, skipping = long[:0], true
				}
			}
			continue
		case err != nil && !errors.Is(err, io.EOF):
			return fmt.Errorf("read unified log: %w", err)
		}
		if !skipping {
			if len(long) > 0 {
				long = append(long, chunk...)
				if len(long) <= maxLogLine {
					fn(long)
				}
			} else {
				fn(chunk)
			}
		}
		long, skipping = long[:0], false
		if err != nil {
			return nil
		}
	}
}

// ParseUnifiedLogCamera reads the output of `log show|stream --style
// ndjson` and returns, in order, the entries that name a camera client.
// Lines it does not recognise are skipped; the error is only a read error.
func ParseUnifiedLogCamera(r io.Reader) ([]CameraClient, error) {
	var out []CameraClient
	err := scanLogLines(r, func(line []byte) {
		if c, ok := parseUnifiedLogLine(line); ok {
			out = append(out, c)
		}
	})
	return out, err
}

// cameraClients folds log entries into the clients that started a camera
// and have not stopped. Not safe for concurrent use.
type cameraClients struct {
	byPID map[int32]CameraClient
}

// add applies one entry: a start records the client, a stop removes it.
func (c *cameraClients) add(cl CameraClient) {
	if c.byPID == nil {
		c.byPID = map[int32]CameraClient{}
	}
	if cl.Stop {
		delete(c.byPID, cl.PID)
		return
	}
	old, seen := c.byPID[cl.PID]
	if seen && cl.Process == "" {
		cl.Process = old.Process
	}
	if seen && cl.Device == "" {
		cl.Device = old.Device
	}
	c.byPID[cl.PID] = cl
}

// forget drops clients last seen starting before t: when no camera runs,
// every earlier start is over even if its stop was never logged.
func (c *cameraClients) forget(before time.Time) {
	for pid, cl := range c.byPID {
		if cl.Time.Before(before) {
			delete(c.byPID, pid)
		}
	}
}

// active lists the clients, oldest first.
func (c *cameraClients) active() []CameraClient {
	out := make([]CameraClient, 0, len(c.byPID))
	for _, cl := range c.byPID {
		out = append(out, cl)
	}
	slices.SortFunc(out, func(a, b CameraClient) int {
		if d := a.Time.Compare(b.Time); d != 0 {
			return d
		}
		return int(a.PID) - int(b.PID)
	})
	return out
}

// cameraDevice is one CoreMediaIO device as the checker read it.
type cameraDevice struct {
	ID      uint32
	UID     string
	Name    string
	Running bool
}

// clientProcess describes a live client process: its executable and owner
// (-1 when unknown). ok is false when the process no longer runs.
type clientProcess func(pid int32) (path string, uid int, ok bool)

// cameraUses turns running cameras and the log's clients into uses. A
// client is put on the running camera its message names; when it names
// none, or one not running, on the first running camera (CoreMediaIO does
// not tell which camera a client holds). Clients that have exited are
// dropped. A running camera no client is put on is used by an unknown
// process (PID 0).
func cameraUses(cams []cameraDevice, clients []CameraClient, proc clientProcess) []Use {
	var running []cameraDevice
	for _, c := range cams {
		if c.Running {
			running = append(running, c)
		}
	}
	if len(running) == 0 {
		return nil
	}
	var out []Use
	held := make([]bool, len(running))
	for _, cl := range clients {
		if cl.PID <= 0 {
			continue
		}
		path, uid := cl.Process, -1
		if proc != nil {
			p, u, ok := proc(cl.PID)
			if !ok {
				continue
			}
			if p != "" {
				path = p
			}
			uid = u
		}
		i := 0
		for j, c := range running {
			if cl.Device != "" && strings.EqualFold(c.UID, cl.Device) {
				i = j
				break
			}
		}
		held[i] = true
		u := Use{Kind: Camera, Device: cameraDeviceName(running[i]), PID: cl.PID, Process: processName(path, ""), UID: uid, Source: SourceCoreMediaIO}
		if uid >= 0 {
			u.Session = strconv.Itoa(uid)
		}
		out = append(out, u)
	}
	for i, c := range running {
		if !held[i] {
			out = append(out, Use{Kind: Camera, Device: cameraDeviceName(c), Process: unknownProcess, UID: -1, Source: SourceCoreMediaIO})
		}
	}
	return out
}

func cameraDeviceName(c cameraDevice) string {
	return audioDeviceName(audioDevice{ID: c.ID, UID: c.UID, Name: c.Name})
}
