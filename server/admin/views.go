package admin

import (
	"cmp"
	"fmt"
	"path"

	"github.com/aymanbagabas/go-udiff"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/encoding/protojson"
)

// MaxEventDetailBytes caps the detail of one event in a list; a larger one
// is left out (detail null, detail_truncated true).
const MaxEventDetailBytes = 256 << 10

// The views below turn stored records into the forms the JSON API answers
// with and the dashboard shows (package apitypes): one conversion for
// both adapters.

// DeviceView converts a stored device, online or not at the service's
// current time.
func (s *Service) DeviceView(d store.Device) apitypes.Device {
	out := apitypes.Device{
		ID: d.ID, Hostname: d.Hostname, OS: d.OS, OSVersion: d.OSVersion, Arch: d.Arch, AgentVersion: d.AgentVersion,
		Enrolled: d.Enrolled, LastSeen: d.LastSeen, Online: d.Online(s.Now(), s.Stale()),
		PolicyVersion: d.PolicyVersion, CatalogVersion: d.CatalogVersion, Group: d.Group, Apps: []apitypes.App{}, Media: []apitypes.Media{},
		AppsTotal: d.AppsTotal, AppsTruncated: d.AppsTruncated(), MediaTotal: d.MediaTotal, MediaTruncated: d.MediaTruncated(),
		Revoked: optTime(d.Revoked),
	}
	for _, m := range d.Media {
		out.Media = append(out.Media, mediaView(m))
	}
	for _, app := range d.Apps {
		out.Apps = append(out.Apps, apitypes.App{AppID: app.AppID, Name: app.Name, PID: app.PID, Running: app.Running, Verdict: app.Verdict,
			Exe: app.Exe, Version: cmp.Or(app.Version, "unknown"), Verified: app.Verified, Identity: app.Identity, Started: app.Started,
			Stopped: optTime(app.Stopped)})
	}
	return out
}

func mediaView(m store.DeviceMedia) apitypes.Media {
	return apitypes.Media{Kind: m.Kind, PID: m.PID, Process: m.Process, AppID: m.AppID, Category: m.Category,
		Device: m.Device, Source: m.Source, Session: m.Session, Since: m.Since}
}

// DeviceSummaryView converts a device of a list.
func (s *Service) DeviceSummaryView(d store.DeviceSummary) apitypes.DeviceSummary {
	now := s.Now()
	out := apitypes.DeviceSummary{
		ID: d.ID, Hostname: d.Hostname, OS: d.OS, OSVersion: d.OSVersion, Arch: d.Arch, AgentVersion: d.AgentVersion,
		Enrolled: d.Enrolled, LastSeen: d.LastSeen, Online: d.Online(now, s.Stale()), Stale: now.Sub(d.LastSeen) >= s.Stale(),
		PolicyVersion: d.PolicyVersion, Group: d.Group, RunningApps: d.RunningApps, MediaInUse: d.MediaInUse,
		WorstVerdict: d.WorstVerdict, Running: make([]apitypes.RunningApp, 0, len(d.Running)), Revoked: optTime(d.Revoked),
	}
	for _, r := range d.Running {
		out.Running = append(out.Running, apitypes.RunningApp{AppID: r.AppID, Name: r.Name, Verdict: r.Verdict, Instances: r.Instances})
	}
	return out
}

// EventView converts a stored event; a detail larger than
// MaxEventDetailBytes is left out.
func EventView(e store.StoredEvent) apitypes.Event {
	out := apitypes.Event{Type: e.Type, DeviceID: e.DeviceID, Seq: e.Seq, Time: e.Time, Received: e.Received}
	app := e.Event.GetApp().GetApp()
	if app == nil {
		app = e.Event.GetEnforcement().GetApp()
	}
	if app != nil {
		out.PID, out.Process, out.AppID = app.GetPid(), path.Base(app.GetExe()), app.GetAppId()
	}
	opts := protojson.MarshalOptions{UseProtoNames: true}
	if n := e.Event.GetUserNotified(); n != nil {
		out.AppID = n.GetAppId()
		// "sessions": 0 (nobody saw the notice) and an empty failures
		// list are facts, not absent values: shown, not left out.
		opts.EmitDefaultValues = true
	}
	if c := e.Event.GetAppConnection(); c != nil {
		out.PID, out.AppID = c.GetPid(), c.GetAppId()
	}
	use := e.Event.GetMedia().GetUse()
	if use == nil {
		use = e.Event.GetMediaFinding().GetUse()
	}
	if use == nil {
		use = e.Event.GetBrowserMeeting().GetUse()
	}
	if use != nil {
		out.PID, out.Process, out.AppID = use.GetPid(), path.Base(use.GetProcess()), use.GetAppId()
		if use.GetProcess() == "" {
			out.Process = ""
		}
	}
	detail, err := opts.Marshal(e.Event)
	if err != nil {
		detail = []byte("null")
	}
	if len(detail) > MaxEventDetailBytes {
		detail, out.DetailTruncated = []byte("null"), true
	}
	out.Detail = detail
	return out
}

// PolicyView converts a policy version, with its document or without.
func PolicyView(p store.PolicyVersion, withDocument bool) apitypes.Policy {
	out := apitypes.Policy{Version: p.Version, Name: p.Name, Published: p.Published, PublishedBy: p.PublishedBy, Comment: p.Comment}
	if withDocument {
		out.Document = string(p.Document)
	}
	return out
}

// PolicyDiff is the unified diff of two policy documents, labelled with
// their versions (version 0 is no policy).
func PolicyDiff(from, to apitypes.Policy) string {
	label := func(p apitypes.Policy) string {
		if p.Version == 0 {
			return "no policy"
		}
		return fmt.Sprintf("version %d (%s)", p.Version, p.Name)
	}
	return udiff.Unified(label(from), label(to), from.Document, to.Document)
}

// SecretView converts an enrollment secret (never its value).
func SecretView(e store.EnrollmentSecret) apitypes.Secret {
	return apitypes.Secret{ID: e.ID, Description: e.Description, Created: e.Created, Group: e.Group,
		Expires: optTime(e.Expires), Revoked: optTime(e.Revoked), MaxUses: e.MaxUses, Uses: e.Uses}
}

// TokenView converts an API token (never its value).
func TokenView(t store.APIToken) apitypes.Token {
	return apitypes.Token{ID: t.ID, Description: t.Description, Role: string(t.Role), Created: t.Created, Revoked: optTime(t.Revoked),
		Owner: t.Owner, Expires: optTime(t.Expires), LastUsed: optTime(t.LastUsed)}
}

// AdminView converts an account (never its password hash or TOTP secret).
func AdminView(a store.Admin) apitypes.Admin {
	return apitypes.Admin{Username: a.Username, Role: string(a.Role), Created: a.Created, Disabled: optTime(a.Disabled), LastLogin: optTime(a.LastLogin),
		Pending: a.Pending()}
}

// AuditView converts an audit log entry.
func AuditView(e store.AuditEntry) apitypes.AuditEntry {
	return apitypes.AuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail, RemoteAddr: e.RemoteAddr}
}
