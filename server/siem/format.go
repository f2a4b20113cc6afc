package siem

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Format is how a record is written for a destination.
type Format string

// Formats.
const (
	// FormatECS is a JSON document in Elastic Common Schema.
	FormatECS Format = "ecs"
	// FormatCEF is an ArcSight Common Event Format line.
	FormatCEF Format = "cef"
)

// ParseFormat reads a --siem-format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case FormatECS, FormatCEF:
		return f, nil
	}
	return "", fmt.Errorf("SIEM format %q: use ecs (Elastic Common Schema JSON) or cef (ArcSight CEF)", s)
}

// ECSVersion is the version of Elastic Common Schema the documents follow.
const ECSVersion = "8.11.0"

// Encode writes r in format f; version is the server's version, for CEF's
// header.
func (f Format) Encode(r Record, version string) ([]byte, error) {
	if f == FormatCEF {
		return []byte(CEF(r, version)), nil
	}
	return json.Marshal(ECS(r))
}

// ecsCategory returns ECS event.category and event.type for a record
// (docs/siem.md has the table).
func ecsCategory(r Record) (category, typ []string) {
	if r.Kind == KindAudit {
		switch r.Action {
		case "login_success":
			return []string{"authentication", "session"}, []string{"start"}
		case "login_failure", "login_lockout", "login_refused_locked":
			return []string{"authentication"}, []string{"info"}
		case "admin_add":
			return []string{"iam"}, []string{"user", "creation"}
		case "admin_disable":
			return []string{"iam"}, []string{"user", "change"}
		case "token_create", "enrollment_secret_create":
			return []string{"iam"}, []string{"creation"}
		case "device_enroll", "device_enroll_refused":
			return []string{"host"}, []string{"creation"}
		case "device_revoke":
			return []string{"host"}, []string{"deletion"}
		case "device_hostname_change":
			return []string{"host"}, []string{"change"}
		}
		return []string{"configuration"}, []string{"change"}
	}
	switch a := r.Action; {
	case a == "app_started":
		return []string{"process"}, []string{"start"}
	case a == "app_stopped":
		return []string{"process"}, []string{"end"}
	case a == "app_verdict_changed":
		return []string{"process"}, []string{"change"}
	case a == "app_blocked":
		return []string{"process"}, []string{"end", "denied"}
	case a == "app_connection", a == "browser_meeting":
		return []string{"network"}, []string{"connection"}
	case a == "policy_applied", a == "local_policy", a == "browser_policy":
		return []string{"configuration"}, []string{"change"}
	case a == "app_posture":
		return []string{"configuration"}, []string{"info"}
	case a == "events_dropped":
		return []string{"host"}, []string{"error"}
	case strings.HasSuffix(a, "_on"):
		return []string{"host"}, []string{"start"}
	case strings.HasSuffix(a, "_off"):
		return []string{"host"}, []string{"end"}
	}
	return []string{"host"}, []string{"info"}
}

// ECS maps r to an Elastic Common Schema document. Fields ECS has no place
// for are under the custom "vcguard" namespace.
func ECS(r Record) map[string]any {
	category, typ := ecsCategory(r)
	event := map[string]any{
		"id": r.ID, "kind": "event", "category": category, "type": typ,
		"action": r.Action, "module": "vcguard", "dataset": "vcguard." + r.Kind,
		"severity": r.Severity(), "created": r.Time.UTC().Format(time.RFC3339Nano),
	}
	if !r.Received.IsZero() {
		// When vcguard first had it: the server's receipt of the agent's
		// event (event.ingested is the SIEM's own to set).
		event["created"] = r.Received.UTC().Format(time.RFC3339Nano)
	}
	vc := map[string]any{"kind": r.Kind}
	doc := map[string]any{
		"@timestamp": r.Time.UTC().Format(time.RFC3339Nano),
		"ecs":        map[string]any{"version": ECSVersion},
		"event":      event,
		"observer":   map[string]any{"vendor": "vcguard", "product": "vcguard-server", "type": "compliance"},
		"vcguard":    vc,
	}
	if len(r.Detail) > 0 && json.Valid(r.Detail) {
		vc["detail"] = r.Detail
	}
	if r.Kind == KindAudit {
		event["outcome"] = "success"
		if r.Failed() {
			event["outcome"] = "failure"
		}
		if r.Actor != "" {
			doc["user"] = map[string]any{"name": r.Actor}
		}
		if ip := hostIP(r.RemoteAddr); ip != "" {
			doc["source"] = map[string]any{"ip": ip}
		}
		if r.Target != "" {
			vc["target"] = r.Target
		}
		return doc
	}
	doc["host"] = map[string]any{"id": r.Device, "name": r.Hostname}
	vc["seq"] = r.Seq
	if r.PID != 0 || r.AppName != "" || r.Exe != "" {
		p := map[string]any{}
		if r.PID != 0 {
			p["pid"] = r.PID
		}
		if r.AppName != "" {
			p["name"] = r.AppName
		}
		if r.Exe != "" {
			p["executable"] = r.Exe
		}
		doc["process"] = p
	}
	if r.AppID != "" {
		vc["app_id"] = r.AppID
	}
	if r.Verdict != "" {
		vc["verdict"] = r.Verdict
	}
	return doc
}

// hostIP returns the address part of "ip", "ip:port" or "[ip]:port", or ""
// when it is none of them.
func hostIP(addr string) string {
	if ip := net.ParseIP(addr); ip != nil {
		return ip.String()
	}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(h); ip != nil {
			return ip.String()
		}
	}
	return ""
}

// CEF maps r to an ArcSight Common Event Format line (CEF:0). Header fields
// escape "\" and "|"; extension values escape "\", "=" and line breaks; every
// other character is kept (a CEF reader splits extensions on " key=").
func CEF(r Record, version string) string {
	var b strings.Builder
	b.WriteString("CEF:0|vcguard|vcguard-server|")
	b.WriteString(cefHeader(version))
	b.WriteByte('|')
	b.WriteString(cefHeader(r.Kind + ":" + r.Action))
	b.WriteByte('|')
	b.WriteString(cefHeader(r.Action))
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(r.Severity()))
	b.WriteByte('|')
	ext := []string{"rt", strconv.FormatInt(r.Time.UnixMilli(), 10), "externalId", r.ID, "act", r.Action, "cat", "vcguard." + r.Kind}
	add := func(k, v string) {
		if v != "" {
			ext = append(ext, k, v)
		}
	}
	if r.Kind == KindAudit {
		outcome := "success"
		if r.Failed() {
			outcome = "failure"
		}
		add("outcome", outcome)
		add("suser", r.Actor)
		add("src", hostIP(r.RemoteAddr))
		add("cs3Label", "target")
		add("cs3", r.Target)
	} else {
		add("dvchost", r.Hostname)
		add("deviceExternalId", r.Device)
		add("cn1Label", "seq")
		add("cn1", strconv.FormatUint(r.Seq, 10))
		if r.PID != 0 {
			add("dpid", strconv.Itoa(int(r.PID)))
		}
		add("dproc", r.AppName)
		add("filePath", r.Exe)
		if r.AppID != "" {
			add("cs1Label", "appId")
			add("cs1", r.AppID)
		}
		if r.Verdict != "" {
			add("cs2Label", "verdict")
			add("cs2", r.Verdict)
		}
		if !r.Received.IsZero() {
			add("deviceReceiptTime", strconv.FormatInt(r.Received.UnixMilli(), 10))
		}
	}
	if len(r.Detail) > 0 {
		add("cs4Label", "detail")
		add("cs4", string(r.Detail))
	}
	for i := 0; i < len(ext); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ext[i])
		b.WriteByte('=')
		b.WriteString(cefValue(ext[i+1]))
	}
	return b.String()
}

var (
	cefHeaderEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\r\n", " ", "\n", " ", "\r", " ")
	cefValueEscaper  = strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\r\n", `\n`, "\n", `\n`, "\r", `\r`)
)

func cefHeader(s string) string { return cefHeaderEscaper.Replace(s) }
func cefValue(s string) string  { return cefValueEscaper.Replace(s) }
