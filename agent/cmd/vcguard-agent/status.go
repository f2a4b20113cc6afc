package main

// `vcguard-agent status`: what the agent shows the person at the keyboard.

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vcguard/vcguard/agent"
	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/proctable"
	"github.com/vcguard/vcguard/agent/statedir"
	"github.com/vcguard/vcguard/agent/uplink"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// cmdStatus shows, for the person at the keyboard, which agent it speaks
// of and whether it runs, what it is enrolled with, which policy is in
// force and what waits to be reported.
func cmdStatus(args []string, w io.Writer) error {
	c, err := parseConfig("status", args, defaultConfigFile)
	if err != nil {
		return err
	}
	if st := serviceState(c); st != "" {
		fmt.Fprintf(w, "Service:     %s %s\n", serviceName, st)
	}
	printConfigSources(w, c)
	table := proctable.New(proctable.Config{})
	defer table.Close()
	return showStatus(w, c, agent.LiveStartOf(table), time.Now(), time.Local)
}

// showStatus shows the status of the agent c configures: its status file
// when that is the agent's, told whether its writer runs by startOf, else
// what its state directory holds. Times show in loc, their age from now.
func showStatus(w io.Writer, c *config, startOf agent.StartOf, now time.Time, loc *time.Location) error {
	// The running agent's status file is readable by everyone; the state
	// directory only by root.
	id, idErr := uplink.LoadIdentity(c.StateDir)
	st, err := agent.ReadStatus(c.StatusFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(w, "Status file: %s: none; no agent running with this status file has written it\n", c.StatusFile)
	case err != nil:
		fmt.Fprintf(w, "Status file: %s: cannot be read: %v\n", c.StatusFile, err)
	default:
		if why := otherAgent(c, st, id, idErr, sameDir); why != "" {
			printOtherAgent(w, c, st, why)
			break
		}
		live, liveErr := st.Check(startOf)
		return printStatus(w, statusView{Path: c.StatusFile, St: st, Live: live, LiveErr: liveErr, Now: now, Loc: loc})
	}
	switch {
	case errors.Is(idErr, uplink.ErrNotEnrolled):
		fmt.Fprintf(w, "Not enrolled (state directory %s).\n", c.StateDir)
		return nil
	case errors.Is(idErr, os.ErrPermission):
		return fmt.Errorf("the state directory %s may be read by its owner only (root, or SYSTEM on Windows): run the status command as administrator to see what it holds: %w", c.StateDir, idErr)
	case idErr != nil:
		return idErr
	}
	return statusFromState(w, c, id)
}

// otherAgent says why st, the status file c names, is not the status of
// the agent whose state directory c names, and "" when it is: the state
// directory's enrollment names another device, or (where only the agent
// may read the state directory) the file names another state directory.
// sameDir tells whether two paths are one directory.
func otherAgent(c *config, st *agent.Status, id *uplink.Identity, idErr error, sameDir func(a, b string) bool) string {
	dir := c.StateDir + sourceText(c, "state_dir")
	switch {
	case id != nil && id.DeviceID != st.Device:
		return fmt.Sprintf("it is device %s's, and the state directory %s is enrolled as device %s", st.Device, dir, id.DeviceID)
	case id != nil:
		return ""
	case errors.Is(idErr, uplink.ErrNotEnrolled):
		return fmt.Sprintf("it is device %s's, and the state directory %s is not enrolled", st.Device, dir)
	case st.Writer.StateDir != "" && !sameDir(st.Writer.StateDir, c.StateDir):
		return fmt.Sprintf("it was written by the agent with state directory %s, not %s", st.Writer.StateDir, dir)
	}
	return ""
}

// sourceText names where a setting came from, " (flag --state-dir)", or
// " (default)".
func sourceText(c *config, key string) string {
	if s, ok := c.sources[key]; ok {
		return " (" + s + ")"
	}
	return " (default)"
}

// sameDir tells whether a and b are the same directory: the same file
// where both may be looked up, else the same absolute path.
func sameDir(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// printOtherAgent says that the status file belongs to another agent,
// which one, and how to see the right one, instead of its content.
func printOtherAgent(w io.Writer, c *config, st *agent.Status, why string) {
	fmt.Fprintf(w, "Status file: %s belongs to ANOTHER AGENT: %s.\n", c.StatusFile, why)
	if st.Writer.StateDir != "" {
		fmt.Fprintf(w, "             That agent (pid %d, state directory %s) is not shown.\n", st.Writer.PID, st.Writer.StateDir)
	}
	fmt.Fprintf(w, "             For the agent with state directory %s, give its status file: vcguard-agent status --state-dir %s --status-file FILE\n", c.StateDir, shellQuote(c.StateDir))
}

// shellQuote quotes a path for a command line where it needs quoting:
// in double quotes, which POSIX shells, cmd and PowerShell all read the
// same way when the path holds none of " $ ` (a Windows path's
// backslashes stay as they are), else in POSIX single quotes.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-:\\+=,@", r))
	}) < 0 {
		return s
	}
	if !strings.ContainsAny(s, "\"$`") && !strings.HasSuffix(s, "\\") {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// statusView is what `status` shows of a status file: the file, what it
// says, whether its writer runs (Live, and LiveErr when that could not be
// told), and the time and zone to show times in.
type statusView struct {
	Path    string
	St      *agent.Status
	Live    agent.Liveness
	LiveErr error
	Now     time.Time
	Loc     *time.Location
}

// printStatus shows the agent's status for the person at the keyboard:
// first which agent wrote it and whether that agent runs; the apps and
// devices in use only while it does.
func printStatus(w io.Writer, v statusView) error {
	st := v.St
	at := func(t time.Time) string {
		return fmt.Sprintf("%s (%s ago)", t.In(v.Loc).Format("2006-01-02 15:04:05"), ageText(v.Now.Sub(t)))
	}
	fmt.Fprintf(w, "Status file: %s\n", v.Path)
	writer := "pid " + strconv.Itoa(int(st.Writer.PID))
	if st.Writer.Exe != "" {
		writer += " (" + st.Writer.Exe + ")"
	}
	if !st.Writer.Started.IsZero() {
		writer += " started " + st.Writer.Started.In(v.Loc).Format("2006-01-02 15:04:05")
	}
	if st.Writer.Version != "" {
		writer += ", version " + st.Writer.Version
	}
	if st.Writer.StateDir != "" {
		writer += ", state directory " + st.Writer.StateDir
	}
	running := false
	switch v.Live {
	case agent.AgentRunning:
		running = true
		fmt.Fprintf(w, "Agent:       running, %s\n", writer)
	case agent.AgentStopped:
		how := "it stopped cleanly"
		if st.StopError != "" {
			how = "it stopped on an error: " + st.StopError
		}
		fmt.Fprintf(w, "Agent:       NOT RUNNING since %s: %s\n             it was %s\n", at(st.Stopped), how, writer)
	case agent.AgentGone:
		fmt.Fprintf(w, "Agent:       NOT RUNNING since %s or later: it ended without stopping cleanly (crashed, killed, or the machine went down); what follows is from its last update\n             it was %s\n", at(st.Updated), writer)
	default:
		running = true // as far as anyone can tell: show what it said
		if st.Writer.PID > 0 {
			fmt.Fprintf(w, "Agent:       whether it still runs is not known (%v); it said running at its last update\n             %s\n", v.LiveErr, writer)
		} else {
			fmt.Fprintf(w, "Agent:       whether it still runs is not known (%v)\n", v.LiveErr)
		}
	}
	fmt.Fprintf(w, "Device:      %s (server %s), as of %s\n", st.Device, st.Server, at(st.Updated))
	if st.Policy.Version > 0 {
		fmt.Fprintf(w, "Policy:      %q, version %d from the server\n", st.Policy.Name, st.Policy.Version)
	} else {
		fmt.Fprintln(w, "Policy:      none received from the server yet")
	}
	switch {
	case st.Catalog.Version == 0:
		// A status file of an agent older than catalog versions.
	case st.Catalog.FromServer:
		fmt.Fprintf(w, "Catalog:     version %d from the server, %d tools\n", st.Catalog.Version, st.Catalog.Apps)
	default:
		fmt.Fprintf(w, "Catalog:     version %d built into the agent, %d tools\n", st.Catalog.Version, st.Catalog.Apps)
	}
	for _, l := range st.Policy.Local {
		switch {
		case l.Error != "" && l.Name != "":
			fmt.Fprintf(w, "             local %s: %q in force; its new content is refused: %s\n", l.Path, l.Name, l.Error)
		case l.Error != "":
			fmt.Fprintf(w, "             local %s: refused: %s\n", l.Path, l.Error)
		default:
			fmt.Fprintf(w, "             local %s: %q in force\n", l.Path, l.Name)
		}
	}
	if !running {
		fmt.Fprintln(w, "Running:     not watched: the agent is not running")
	} else if len(st.Apps) == 0 {
		fmt.Fprintln(w, "Running:     no videoconferencing app or browser from the catalog")
	}
	for i, a := range st.Apps {
		if !running {
			break
		}
		label := "Running:    "
		if i > 0 {
			label = "           "
		}
		verified := "genuine"
		if !a.Verified {
			verified = "NOT verified"
		}
		fmt.Fprintf(w, "%s %s %s (pid %d, %s: %s) — %s, action %s\n", label, a.Name, versionText(a.Version), a.PID, verified, a.Identity, a.Verdict, a.Action)
	}
	for i, m := range st.Media {
		if !running {
			break
		}
		label := "In use:     "
		if i > 0 {
			label = "           "
		}
		app := m.AppID
		if app == "" {
			app = "not a catalog app"
		}
		fmt.Fprintf(w, "%s %s %s by %s (pid %d, %s)\n", label, m.Kind, m.Device, m.Process, m.PID, app)
	}
	if running {
		fmt.Fprintf(w, "Outbox:      %d events waiting to be sent\n", st.PendingEvents)
	} else {
		fmt.Fprintf(w, "Outbox:      %d events were waiting to be sent at its last update; they are sent when the agent runs again\n", st.PendingEvents)
	}
	printDrops(w, st.DroppedEvents, st.DroppedUnreported)
	if len(st.NotifierRefused) > 0 {
		fmt.Fprintf(w, "Refused:     camera/microphone reports from user sessions:")
		for _, r := range slices.Sorted(maps.Keys(st.NotifierRefused)) {
			fmt.Fprintf(w, " %s %d", refusalText(r), st.NotifierRefused[r])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Reported:")
	for _, r := range st.Reported {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	printInventory(w)
	return nil
}

// printInventory says where the full data inventory is. The agent knows
// its server's agent address only, not the dashboard's (another listener,
// often another name), so it names the page's path, not a guessed address.
func printInventory(w io.Writer) {
	fmt.Fprintln(w, "In full:     what is reported and kept, why, for how long and who may read it: docs/privacy.md in the vcguard source;")
	fmt.Fprintln(w, "             your organisation's vcguard dashboard shows it to anyone, without a login, at /privacy (IT knows its address)")
}

// ageText is a duration for people: "42s", "12m", "5h12m", "3 days".
func ageText(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

func versionText(v string) string {
	if v == "" {
		return "(version unknown)"
	}
	return v
}

// statusFromState prints what the state directory holds, when there is no
// status file of its agent.
func statusFromState(w io.Writer, c *config, id *uplink.Identity) error {
	fmt.Fprintf(w, "State dir:   %s%s\n", c.StateDir, sourceText(c, "state_dir"))
	fmt.Fprintf(w, "Device:      %s\nServer:      %s\nEnrolled:    %s\n", id.DeviceID, id.Server, id.Enrolled.Format("2006-01-02 15:04 MST"))
	var sp vcguardv1.SignedPolicy
	if data, err := os.ReadFile(statedir.Policy.Path(c.StateDir)); err == nil && protojson.Unmarshal(data, &sp) == nil {
		fmt.Fprintf(w, "Policy:      version %d from the server, published %s\n", sp.GetVersion(), sp.GetPublished().AsTime().Format("2006-01-02 15:04 MST"))
	} else {
		fmt.Fprintln(w, "Policy:      none received yet")
	}
	var sc vcguardv1.SignedCatalog
	if data, err := os.ReadFile(statedir.Catalog.Path(c.StateDir)); err == nil && protojson.Unmarshal(data, &sc) == nil {
		fmt.Fprintf(w, "Catalog:     version %d from the server (used when newer than the built-in one), published %s\n", sc.GetVersion(), sc.GetPublished().AsTime().Format("2006-01-02 15:04 MST"))
	}
	st, err := outbox.Inspect(statedir.Outbox.Path(c.StateDir))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Outbox:      %d events waiting to be sent, %d sent and acknowledged\n", st.Pending, st.Acked)
	printDrops(w, st.Drops, st.Unreported)
	printInventory(w)
	return nil
}

// printDrops shows what the outbox dropped while it was full.
func printDrops(w io.Writer, drops []outbox.DropCount, unreported uint64) {
	if len(drops) == 0 {
		return
	}
	var total uint64
	for _, d := range drops {
		total += d.Count
	}
	fmt.Fprintf(w, "Dropped:     %d events while the outbox was full (%d not yet reported to the server), the least important first:\n", total, unreported)
	for _, d := range drops {
		fmt.Fprintf(w, "             %s %d, from %s to %s\n", d.Type, d.Count, d.Oldest.Local().Format("2006-01-02 15:04"), d.Newest.Local().Format("2006-01-02 15:04"))
	}
}

// refusalText names a notifier refusal reason in plain words.
func refusalText(reason string) string {
	switch reason {
	case localipc.RefusedMediaRate:
		return "too fast"
	case localipc.RefusedMediaForeignPID:
		return "naming another user's process"
	}
	return reason
}
