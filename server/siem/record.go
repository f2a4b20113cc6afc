// Package siem streams every device event and every audit entry to a SIEM:
// syslog over TLS (RFC 5424 framed by octet counting, RFC 5425) or an HTTPS
// webhook signed with HMAC-SHA256. Delivery is at least once: an Exporter
// reads what a destination has not acknowledged from the store, delivers it,
// and only then moves the destination's cursor in the database, so a restart
// (or another replica taking over) resends rather than loses.
//
// Records are mapped to Elastic Common Schema (ECS) documents, or to CEF
// lines for SIEMs that read only ArcSight's format; docs/siem.md has the
// mapping and the reasons for ECS.
package siem

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/encoding/protojson"
)

// Record kinds.
const (
	KindEvent = "event" // a device event
	KindAudit = "audit" // an audit log entry
)

// Record is one event or audit entry, flattened for the formats.
type Record struct {
	Kind string
	// ID is unique per record and stable across resends, so a SIEM can
	// drop duplicates: "event:DEVICE:SEQ" or "audit:ID".
	ID string
	// Time is when it happened (the agent's time, clamped by the store, for
	// events); Received is when the server stored it (events only).
	Time, Received time.Time
	// Action is the event type (store.EventType) or the audit action.
	Action string
	// Device and Hostname: the device of an event.
	Device, Hostname string
	Seq              uint64
	// App: the app an event is about, when it names one.
	AppID, AppName, Exe string
	PID                 int32
	Verdict             string
	// Actor, Target and RemoteAddr: who did what to what, from where (audit).
	Actor, Target, RemoteAddr string
	// Detail is the whole event (protojson, proto field names) or the audit
	// entry's detail object.
	Detail json.RawMessage
}

// Severity ranks a record 0..10 as CEF does: a blocked or forbidden app and
// a failed login are worth a look, the rest is routine.
func (r Record) Severity() int {
	switch {
	case r.Action == "app_blocked", r.Verdict == string(policies.VerdictForbidden):
		return 7
	case r.Kind == KindAudit && r.Failed():
		return 5
	case r.Kind == KindAudit:
		return 3
	}
	return 1
}

// Failed reports an audit entry that records something refused: a failed or
// locked-out login, a refused enrollment.
func (r Record) Failed() bool {
	switch r.Action {
	case "login_failure", "login_lockout", "login_refused_locked", "device_enroll_refused":
		return r.Kind == KindAudit
	}
	return false
}

// EventRecord maps a stored event.
func EventRecord(e store.StoredEvent, hostname string) Record {
	r := Record{
		Kind: KindEvent, ID: fmt.Sprintf("event:%s:%d", e.DeviceID, e.Seq),
		Time: e.Time, Received: e.Received, Action: e.Type,
		Device: e.DeviceID, Hostname: hostname, Seq: e.Seq,
	}
	var app *vcguardv1.AppInstance
	switch d := e.Event.GetDetail().(type) {
	case *vcguardv1.Event_App:
		app = d.App.GetApp()
	case *vcguardv1.Event_Enforcement:
		app = d.Enforcement.GetApp()
	case *vcguardv1.Event_UserNotified:
		r.AppID, r.Verdict = d.UserNotified.GetAppId(), store.VerdictName(d.UserNotified.GetVerdict())
	case *vcguardv1.Event_Media:
		u := d.Media.GetUse()
		r.AppID, r.PID, r.AppName = u.GetAppId(), u.GetPid(), u.GetProcess()
	case *vcguardv1.Event_MediaFinding:
		u := d.MediaFinding.GetUse()
		r.AppID, r.PID, r.AppName = u.GetAppId(), u.GetPid(), u.GetProcess()
	case *vcguardv1.Event_AppPosture:
		r.AppID, r.PID = d.AppPosture.GetAppId(), d.AppPosture.GetPid()
	}
	if app != nil {
		r.AppID, r.AppName, r.Exe, r.PID = app.GetAppId(), app.GetName(), app.GetExe(), app.GetPid()
		r.Verdict = store.VerdictName(app.GetVerdict())
	}
	if e.Event != nil {
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(e.Event)
		if err == nil {
			r.Detail = b
		} else {
			// Cannot happen for a decoded message; say so rather than
			// send nothing.
			r.Detail, _ = json.Marshal(map[string]string{"encode_error": err.Error()})
		}
	}
	return r
}

// AuditRecord maps an audit entry.
func AuditRecord(a store.AuditEntry) Record {
	return Record{
		Kind: KindAudit, ID: fmt.Sprintf("audit:%d", a.ID), Time: a.At, Action: a.Action,
		Actor: a.Actor, Target: a.Target, RemoteAddr: a.RemoteAddr, Detail: a.Detail,
	}
}

// Records maps a batch: its events (per device in sequence order), then its
// audit entries (in id order).
func Records(b store.ExportBatch) []Record {
	out := make([]Record, 0, len(b.Events)+len(b.Audit))
	for _, e := range b.Events {
		out = append(out, EventRecord(e, b.Hostnames[e.DeviceID]))
	}
	for _, a := range b.Audit {
		out = append(out, AuditRecord(a))
	}
	return out
}
