package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vcguard/vcguard/agent/fsperm"
	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/internal/atomicfile"
)

// Status is what the agent shows the person at the keyboard: the policy in
// force and where it comes from, what the agent sees, and what it reports.
// The agent rewrites it (world-readable, it holds nothing the device's
// user may not see) whenever any of it changes; `vcguard-agent status`
// prints it. The file says which agent wrote it (Writer, Device, Server)
// and whether that agent still runs: State is "stopped" once it stopped
// cleanly (WriteStopped), and a "running" file whose writer is gone (a
// crash, kill -9, power lost) is told apart by Status.Check.
type Status struct {
	Updated time.Time `json:"updated"`
	// State is StateRunning while the agent runs, StateStopped once it
	// stopped; "" in files of agents older than this field.
	State string `json:"state,omitempty"`
	// Stopped is when the agent stopped, and StopError why, when an
	// error stopped it.
	Stopped   time.Time `json:"stopped,omitzero"`
	StopError string    `json:"stop_error,omitempty"`
	// Writer is the agent process that wrote the file.
	Writer StatusWriter `json:"writer,omitzero"`
	Device string       `json:"device"`
	Server string       `json:"server"`
	Policy struct {
		// Version and Name of the central policy; 0 when none arrived.
		Version uint64 `json:"version"`
		Name    string `json:"name"`
		Local   []struct {
			Path   string `json:"path"`
			Name   string `json:"name,omitempty"`
			SHA256 string `json:"sha256,omitempty"`
			Error  string `json:"error,omitempty"`
		} `json:"local"`
	} `json:"policy"`
	// Catalog is the catalog of tools the agent recognises apps with.
	Catalog StatusCatalog `json:"catalog"`
	// Apps are the videoconferencing apps and browsers running now.
	Apps []StatusApp `json:"apps"`
	// Media are the cameras and microphones in use now.
	Media []StatusMedia `json:"media"`
	// PendingEvents are recorded and not yet acknowledged by the server.
	PendingEvents int `json:"pending_events"`
	// DroppedEvents are the events dropped unsent because the outbox was
	// full (offline for long), by type; DroppedUnreported of them are not
	// reported to the server yet.
	DroppedEvents     []outbox.DropCount `json:"dropped_events,omitempty"`
	DroppedUnreported uint64             `json:"dropped_unreported,omitempty"`
	// NotifierRefused counts the camera/microphone reports of the users'
	// notifiers that the agent refused, by reason: media_rate (frames
	// faster than the budget), media_foreign_pid (a use naming another
	// user's process).
	NotifierRefused map[string]uint64 `json:"notifier_refused,omitempty"`
	// Reported lists, in plain words, every field the agent sends.
	Reported []string `json:"reported"`
}

// StatusCatalog is the catalog in use.
type StatusCatalog struct {
	// Version is its version; FromServer is set when it is a signed
	// version the server pushed, else it is the one built into the agent.
	Version    uint64 `json:"version"`
	FromServer bool   `json:"from_server,omitempty"`
	// Apps is how many tools it knows (local entries included).
	Apps int `json:"apps"`
}

// StatusApp is one running app as the status shows it.
type StatusApp struct {
	AppID    string `json:"app_id"`
	Name     string `json:"name"`
	PID      int32  `json:"pid"`
	Exe      string `json:"exe"`
	Version  string `json:"version"`
	Verified bool   `json:"verified"`
	Identity string `json:"identity"`
	Verdict  string `json:"verdict"`
	Action   string `json:"action"`
}

// StatusMedia is a camera or microphone in use as the status shows it.
type StatusMedia struct {
	Kind    string `json:"kind"`
	PID     int32  `json:"pid"`
	Process string `json:"process"`
	AppID   string `json:"app_id"`
	Device  string `json:"device"`
}

// reportedFields is what leaves the device, in plain words for the person
// at the keyboard: `vcguard-agent status` and the status file show it. It
// is a short summary of docs/privacy.md ("What the agent sends"), which
// has every field; docs/reported_test.go fails when a kind of event, a
// message of the enrollment or stream, or a finding kind of the protocol
// has no entry here. Factual, short, and no blame.
var reportedFields = []string{
	"when enrolling and renewing its certificate: the enrollment secret IT handed out, a certificate signing request (the device's public key; its private key stays here), and the device group this computer's configuration asks for",
	"this device: host name (it may hold a name), operating system and version, processor architecture, agent version; at each connection the policy version in force and the version of the catalog of tools the agent recognises (again when it changes), and regularly a heartbeat with this computer's clock",
	"each event with its time and a sequence number",
	"each videoconferencing app or browser from the catalog that runs (all of them when the agent starts): app, process id, executable path (it may hold your user name, e.g. in your home folder), version, whether its signature or package proved it genuine and how, start and stop time, verdict and action under the policy",
	"the policy version applied, and the local policy files (path, name, hash, or why refused)",
	"when a camera or microphone is switched on or off, the screen is shared, or the computer's sound output is recorded: which device, which process and app, how the agent saw it, which user session (a user id, or a SID on Windows, not a name), since when; never the picture or the sound",
	"camera, microphone and screen findings under the policy: an unknown, forbidden or look-alike app using a device, a device left on with no meeting app, a screen shared, the sound output recorded, a meeting app left running after its last call; and the action",
	"when an app was closed under a block rule: which processes, the warning time, or why closing failed",
	"when a notice was due (app, verdict, action, language): in how many user sessions it was displayed, why not where it was not, and whether it was shown again after a login; not your name",
	"when a meeting app from the catalog starts: the servers it is set up for (host names only) and its accounts reduced to work or personal, login domain and organisation id (never the address or user name), read from the app's own settings, and whether the policy allows them",
	"when a browser uses the camera or microphone: which meeting services from the catalog the browser lets use them, and only how many other sites (never their addresses, pages, titles or your history); and whether the policy approves them",
	"when the policy asks the browsers to let only the organisation's meeting sites use the camera and microphone: which browser policy files the agent wrote or removed, and how many sites are allowed",
	"when an approved meeting app starts: what its own settings say about the organisation's rules, read from its settings files, registry or package manager on this computer (updates switched off, a newer version offered, usage data sent, single sign-on not enforced, starting at login, running on after its window is closed), the setting and its value; during a meeting, that a local recording appeared in its recording folder, by file type only (never its name or content); and the action",
	"how many events were dropped unsent because too many waited (offline for long), by type, with the first and last time",
	"nothing else: no window titles, meeting names or links, contacts, chat, audio, video, screen content, keystrokes, files, command lines, user names other than in a host name or path, or programs other than the above",
}

// writeStatus rewrites the status file, if one is configured.
func (a *Agent) writeStatus() {
	if a.cfg.StatusFile == "" {
		return
	}
	a.saveStatus(a.status())
}

// status is what the status file shows now.
func (a *Agent) status() Status {
	var st Status
	st.Updated = time.Now().UTC()
	st.State = StateRunning
	st.Writer = thisProcess()
	if a.cfg.Version != "" {
		st.Writer.Version = a.cfg.Version
	}
	st.Writer.StateDir = a.cfg.StateDir
	if abs, err := filepath.Abs(a.cfg.StateDir); err == nil {
		st.Writer.StateDir = abs
	}
	st.Device, st.Server = a.identity.DeviceID, a.identity.Server
	st.Policy.Version = a.policyVersion
	st.Catalog = StatusCatalog{Version: a.catalogVersion, FromServer: a.catalogFromServer, Apps: len(a.cfg.Catalog.Apps())}
	if a.policy != nil {
		st.Policy.Name = a.policy.Name
	}
	for _, f := range a.local {
		var l struct {
			Path   string `json:"path"`
			Name   string `json:"name,omitempty"`
			SHA256 string `json:"sha256,omitempty"`
			Error  string `json:"error,omitempty"`
		}
		l.Path, l.SHA256 = f.Path, f.SHA256
		if f.Policy != nil {
			l.Name = f.Policy.Name
		}
		if f.Err != nil {
			l.Error = f.Err.Error()
		}
		st.Policy.Local = append(st.Policy.Local, l)
	}
	for _, inst := range a.apps.Instances() {
		j := a.judged[inst.Key()]
		st.Apps = append(st.Apps, StatusApp{
			AppID: inst.App.ID, Name: inst.App.Name, PID: inst.Process.PID, Exe: inst.Process.Exe, Version: inst.Identity.Version,
			Verified: inst.Identity.Verified, Identity: inst.Identity.Detail, Verdict: string(j.finding.Verdict), Action: string(j.finding.Action),
		})
	}
	for _, u := range a.media.Uses() {
		m := StatusMedia{Kind: string(u.Reported()), PID: u.PID, Process: u.Process, Device: u.Device}
		if u.App != nil {
			m.AppID = u.App.ID
		}
		st.Media = append(st.Media, m)
	}
	ost := a.out.Stats()
	st.PendingEvents = ost.Pending
	st.DroppedEvents, st.DroppedUnreported = ost.Drops, ost.Unreported
	st.NotifierRefused = a.notifierRefused()
	a.statusShown = a.statusCounters()
	st.Reported = reportedFields
	return st
}

// saveStatus writes st to the status file.
func (a *Agent) saveStatus(st Status) {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return
	}
	if err := writeStatusFile(a.cfg.StatusFile, data); err != nil {
		a.cfg.Logger.Warn("status file not written", "file", a.cfg.StatusFile, "err", err)
	}
}

// statusCounters are the counters in the status that change without an
// event of the agent's loop: it rewrites the status when they changed.
type statusCounters struct {
	pending             int
	dropped, unreported uint64
	refused             uint64
}

func (a *Agent) statusCounters() statusCounters {
	st := a.out.Stats()
	c := statusCounters{pending: st.Pending, dropped: st.Dropped, unreported: st.Unreported}
	for _, n := range a.notifierRefused() {
		c.refused += n
	}
	return c
}

// refusalCounter is a Notifier that counts the reports it refused
// (*notify.Service).
type refusalCounter interface {
	Refused() map[string]uint64
}

func (a *Agent) notifierRefused() map[string]uint64 {
	if rc, ok := a.cfg.Notifier.(refusalCounter); ok {
		if m := rc.Refused(); len(m) > 0 {
			return m
		}
	}
	return nil
}

// writeStatusFile replaces path with data, readable by everyone. The agent
// runs as root: the directory must be one only root may write to, and the
// temporary file is created exclusively under a random name, so no link
// planted there can redirect the write.
func writeStatusFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := fsperm.MkdirAll(dir, true); err != nil {
		return err
	}
	if err := checkStatusDir(dir); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// ReadStatus reads a status file the agent wrote.
func ReadStatus(path string) (*Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}
