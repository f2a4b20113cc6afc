package siem_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/siem"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var t0 = time.Date(2026, 12, 6, 15, 0, 0, 123456000, time.UTC)

func appEvent(seq uint64, kind vcguardv1.AppEvent_Kind, verdict vcguardv1.Verdict) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(t0), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
		Kind: kind, App: &vcguardv1.AppInstance{AppId: "zoom", Name: "zoom.us", Pid: 4242, Exe: "/Applications/zoom.us.app", Verdict: verdict},
	}}}
}

// get walks a decoded JSON document by a dotted path.
func get(doc map[string]any, path string) any {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func decode(t *testing.T, r siem.Record) map[string]any {
	t.Helper()
	b, err := siem.FormatECS.Encode(r, "test")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("ECS document is not JSON: %v\n%s", err, b)
	}
	return doc
}

func TestECSMapping(t *testing.T) {
	started := siem.EventRecord(store.StoredEvent{DeviceID: "dev-1", Seq: 7, Type: "app_started", Time: t0, Received: t0.Add(time.Second),
		Event: appEvent(7, vcguardv1.AppEvent_KIND_STARTED, vcguardv1.Verdict_VERDICT_FORBIDDEN)}, "laptop-7")
	blocked := siem.EventRecord(store.StoredEvent{DeviceID: "dev-1", Seq: 8, Type: "app_blocked", Time: t0,
		Event: &vcguardv1.Event{Seq: 8, Detail: &vcguardv1.Event_Enforcement{Enforcement: &vcguardv1.Enforcement{
			App: &vcguardv1.AppInstance{AppId: "zoom", Pid: 9}}}}}, "laptop-7")
	camera := siem.EventRecord(store.StoredEvent{DeviceID: "dev-2", Seq: 1, Type: "camera_on", Time: t0,
		Event: &vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{On: true,
			Use: &vcguardv1.MediaUse{Kind: "camera", Pid: 77, Process: "obs", AppId: ""}}}}}, "pc")
	login := siem.AuditRecord(store.AuditEntry{ID: 12, At: t0, Actor: "alice", Action: "login_failure", RemoteAddr: "192.0.2.7:5555",
		Detail: json.RawMessage(`{"reason":"bad password"}`)})
	publish := siem.AuditRecord(store.AuditEntry{ID: 13, At: t0, Actor: "token:abc", Action: "policy_publish", Target: "policy:4", Detail: json.RawMessage(`{}`)})

	for _, tc := range []struct {
		name string
		r    siem.Record
		want map[string]any
	}{
		{"app started", started, map[string]any{
			"@timestamp": "2026-12-06T15:00:00.123456Z", "ecs.version": siem.ECSVersion,
			"event.id": "event:dev-1:7", "event.kind": "event", "event.category": []any{"process"}, "event.type": []any{"start"},
			"event.action": "app_started", "event.dataset": "vcguard.event", "event.severity": 7.0,
			"event.created": "2026-12-06T15:00:01.123456Z", "event.ingested": nil,
			"host.id": "dev-1", "host.name": "laptop-7", "process.pid": 4242.0, "process.name": "zoom.us",
			"process.executable": "/Applications/zoom.us.app", "vcguard.app_id": "zoom", "vcguard.verdict": "forbidden",
			"vcguard.seq": 7.0, "vcguard.detail.seq": "7", "vcguard.detail.app.kind": "KIND_STARTED",
			"event.outcome": nil, "user": nil,
		}},
		{"app blocked", blocked, map[string]any{
			"event.category": []any{"process"}, "event.type": []any{"end", "denied"}, "event.severity": 7.0, "process.pid": 9.0,
		}},
		{"camera on", camera, map[string]any{
			"event.category": []any{"host"}, "event.type": []any{"start"}, "process.name": "obs", "process.pid": 77.0,
			"vcguard.app_id": nil, "event.severity": 1.0,
		}},
		{"failed login", login, map[string]any{
			"event.id": "audit:12", "event.dataset": "vcguard.audit", "event.category": []any{"authentication"},
			"event.outcome": "failure", "user.name": "alice", "source.ip": "192.0.2.7", "vcguard.detail.reason": "bad password",
			"host": nil, "event.severity": 5.0,
		}},
		{"policy publish", publish, map[string]any{
			"event.category": []any{"configuration"}, "event.type": []any{"change"}, "event.outcome": "success",
			"user.name": "token:abc", "vcguard.target": "policy:4", "source": nil, "event.severity": 3.0,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := decode(t, tc.r)
			for path, want := range tc.want {
				if got := get(doc, path); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
		})
	}
}

// parseCEF splits a CEF line into its 7 header fields and its extension,
// undoing the escapes as a CEF reader does.
func parseCEF(t *testing.T, line string) ([]string, map[string]string) {
	t.Helper()
	var header []string
	var cur strings.Builder
	i := 0
	for ; i < len(line) && len(header) < 7; i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			cur.WriteByte(line[i+1])
			i++
		case c == '|':
			header = append(header, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if len(header) != 7 {
		t.Fatalf("CEF header has %d fields: %q", len(header), line)
	}
	ext := map[string]string{}
	rest := line[i:]
	// Keys are the words before an unescaped "=".
	var key string
	cur.Reset()
	flush := func() {
		if key != "" {
			ext[key] = cur.String()
		}
	}
	for j := 0; j < len(rest); j++ {
		c := rest[j]
		if c == '\\' && j+1 < len(rest) {
			switch rest[j+1] {
			case 'n':
				cur.WriteByte('\n')
			case 'r':
				cur.WriteByte('\r')
			default:
				cur.WriteByte(rest[j+1])
			}
			j++
			continue
		}
		if c == '=' {
			// The word just written is the next key.
			s := cur.String()
			sp := strings.LastIndexByte(s, ' ')
			if key == "" && sp < 0 {
				key = s
				cur.Reset()
				continue
			}
			if sp < 0 {
				t.Fatalf("CEF extension: unescaped = inside the value of %s: %q", key, line)
			}
			ext[key] = s[:sp]
			key = s[sp+1:]
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	flush()
	return header, ext
}

func TestCEFEscaping(t *testing.T) {
	for _, tc := range []struct {
		name       string
		r          siem.Record
		wantHeader []string
		wantExt    map[string]string
	}{
		{"plain audit",
			siem.Record{Kind: siem.KindAudit, ID: "audit:1", Time: t0, Action: "login_success", Actor: "alice", RemoteAddr: "[2001:db8::1]:443"},
			[]string{"CEF:0", "vcguard", "vcguard-server", "1.2|3", "audit:login_success", "login_success", "3"},
			map[string]string{"rt": strconv.FormatInt(t0.UnixMilli(), 10), "externalId": "audit:1", "act": "login_success", "outcome": "success",
				"suser": "alice", "src": "2001:db8::1", "cat": "vcguard.audit"}},
		{"hostile values",
			siem.Record{Kind: siem.KindAudit, ID: "audit:2", Time: t0, Action: "x|y\\z", Actor: "a=b c\\d\ne", Target: "t=1 act=forged",
				Detail: json.RawMessage(`{"k":"v=w"}`)},
			[]string{"CEF:0", "vcguard", "vcguard-server", "1.2|3", "audit:x|y\\z", "x|y\\z", "3"},
			map[string]string{"suser": "a=b c\\d\ne", "cs3": "t=1 act=forged", "act": "x|y\\z", "cs4": `{"k":"v=w"}`}},
		{"event",
			siem.EventRecord(store.StoredEvent{DeviceID: "dev 1", Seq: 3, Type: "app_started", Time: t0,
				Event: appEvent(3, vcguardv1.AppEvent_KIND_STARTED, vcguardv1.Verdict_VERDICT_APPROVED)}, "host|1"),
			[]string{"CEF:0", "vcguard", "vcguard-server", "1.2|3", "event:app_started", "app_started", "1"},
			map[string]string{"dvchost": "host|1", "deviceExternalId": "dev 1", "cn1": "3", "cn1Label": "seq", "dpid": "4242",
				"dproc": "zoom.us", "cs1": "zoom", "cs2": "approved", "filePath": "/Applications/zoom.us.app"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := siem.CEF(tc.r, "1.2|3")
			if strings.ContainsAny(line, "\r\n") {
				t.Fatalf("CEF line has a line break: %q", line)
			}
			header, ext := parseCEF(t, line)
			if !reflect.DeepEqual(header, tc.wantHeader) {
				t.Errorf("header %q, want %q", header, tc.wantHeader)
			}
			for k, want := range tc.wantExt {
				if ext[k] != want {
					t.Errorf("%s = %q, want %q (line %q)", k, ext[k], want, line)
				}
			}
		})
	}
}

// FuzzFormats: whatever an agent or an admin put in a record, the syslog
// message parses back with the same structured data, the CEF line has no
// line break and keeps its fields, and the ECS document is JSON.
func FuzzFormats(f *testing.F) {
	f.Add("alice", "policy:1", "login_success", "10.0.0.1:1", "dev-1", "laptop")
	f.Add("a]\"\\", "x=y|z\n", "act ion", "", "d\x00", "h o s t")
	f.Fuzz(func(t *testing.T, actor, target, action, remote, device, hostname string) {
		for _, r := range []siem.Record{
			{Kind: siem.KindAudit, ID: "audit:5", Time: t0, Action: action, Actor: actor, Target: target, RemoteAddr: remote},
			{Kind: siem.KindEvent, ID: "event:x:1", Time: t0, Action: action, Device: device, Hostname: hostname, Seq: 1, AppID: target},
		} {
			body, err := siem.FormatECS.Encode(r, "v")
			if err != nil || !json.Valid(body) {
				t.Fatalf("ECS: %v %q", err, body)
			}
			msg, err := parseRFC5424(siem.RFC5424(r, "server", body))
			if err != nil {
				t.Fatalf("RFC 5424 of %+v: %v", r, err)
			}
			sd := msg.SD[siem.SDID]
			if r.Kind == siem.KindAudit && (sd["actor"] != r.Actor || sd["target"] != r.Target || sd["action"] != r.Action) {
				t.Fatalf("structured data %q does not carry %+v", sd, r)
			}
			if r.Kind == siem.KindEvent && (sd["device"] != r.Device || sd["app"] != r.AppID) {
				t.Fatalf("structured data %q does not carry %+v", sd, r)
			}
			if string(msg.Msg) != string(body) {
				t.Fatalf("MSG %q, want %q", msg.Msg, body)
			}
			line := siem.CEF(r, "v")
			if strings.ContainsAny(line, "\r\n") {
				t.Fatalf("CEF line has a line break: %q", line)
			}
			_, ext := parseCEF(t, line)
			if r.Kind == siem.KindAudit && (ext["suser"] != r.Actor || ext["cs3"] != r.Target) {
				t.Fatalf("CEF %q lost actor/target of %+v: %q", line, r, ext)
			}
		}
	})
}
