package main

// `vcguard-agent status`: what the agent shows the person at the keyboard.

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/vcguard/vcguard/agent"
	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/statedir"
	"github.com/vcguard/vcguard/agent/uplink"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// cmdStatus shows, for the person at the keyboard, what the agent is
// enrolled with, which policy is in force and what waits to be reported.
func cmdStatus(args []string, w io.Writer) error {
	c, err := parseConfig("status", args, defaultConfigFile)
	if err != nil {
		return err
	}
	if st := serviceState(c); st != "" {
		fmt.Fprintf(w, "Service:     %s %s\n", serviceName, st)
	}
	printConfigSources(w, c)
	// The running agent's status file is readable by everyone; the state
	// directory only by root.
	if st, err := agent.ReadStatus(c.StatusFile); err == nil {
		return printStatus(w, st)
	}
	id, err := uplink.LoadIdentity(c.StateDir)
	if errors.Is(err, uplink.ErrNotEnrolled) {
		fmt.Fprintf(w, "Not enrolled (state directory %s).\n", c.StateDir)
		return nil
	}
	if err != nil {
		return err
	}
	return statusFromState(w, c, id)
}

// printStatus shows the running agent's status for the person at the
// keyboard.
func printStatus(w io.Writer, st *agent.Status) error {
	fmt.Fprintf(w, "Device:      %s (server %s), as of %s\n", st.Device, st.Server, st.Updated.Local().Format("2006-01-02 15:04:05"))
	if st.Policy.Version > 0 {
		fmt.Fprintf(w, "Policy:      %q, version %d from the server\n", st.Policy.Name, st.Policy.Version)
	} else {
		fmt.Fprintln(w, "Policy:      none received from the server yet")
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
	if len(st.Apps) == 0 {
		fmt.Fprintln(w, "Running:     no videoconferencing app or browser from the catalog")
	}
	for i, a := range st.Apps {
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
	fmt.Fprintf(w, "Outbox:      %d events waiting to be sent\n", st.PendingEvents)
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
	return nil
}

func versionText(v string) string {
	if v == "" {
		return "(version unknown)"
	}
	return v
}

// statusFromState prints what the state directory holds when no running
// agent wrote a status.
func statusFromState(w io.Writer, c *config, id *uplink.Identity) error {
	fmt.Fprintf(w, "The agent is not running (no status in %s).\n", c.StatusFile)
	fmt.Fprintf(w, "Device:      %s\nServer:      %s\nEnrolled:    %s\n", id.DeviceID, id.Server, id.Enrolled.Format("2006-01-02 15:04 MST"))
	var sp vcguardv1.SignedPolicy
	if data, err := os.ReadFile(statedir.Policy.Path(c.StateDir)); err == nil && protojson.Unmarshal(data, &sp) == nil {
		fmt.Fprintf(w, "Policy:      version %d from the server, published %s\n", sp.GetVersion(), sp.GetPublished().AsTime().Format("2006-01-02 15:04 MST"))
	} else {
		fmt.Fprintln(w, "Policy:      none received yet")
	}
	st, err := outbox.Inspect(statedir.Outbox.Path(c.StateDir))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Outbox:      %d events waiting to be sent, %d sent and acknowledged\n", st.Pending, st.Acked)
	printDrops(w, st.Drops, st.Unreported)
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
