package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// reportedSource is the file holding the plain-words list of what leaves
// the device (agent.reportedFields), which `vcguard-agent status` and the
// status file show the employee.
var reportedSource = filepath.Join("..", "agent", "status.go")

// toldEmployee maps what the agent sends, as the protocol names it, to a
// phrase the employee's list must hold for it: every kind of event (the
// Event's detail), every message of the stream and of enrollment, every
// finding kind, and what a notice's record says. A key of the form
// "Message.field=value" is a value of a string field (the protocol does not
// enumerate it), checked in the list but not read from the protocol.
var toldEmployee = map[string]string{
	"Event.seq":             "sequence number",
	"Event.time":            "each event with its time",
	"Event.app":             "start and stop time",
	"Event.inventory":       "all of them when the agent starts",
	"Event.policy_applied":  "the policy version applied",
	"Event.local_policy":    "local policy files",
	"Event.enforcement":     "closed under a block rule",
	"Event.user_notified":   "when a notice was due",
	"Event.media":           "switched on or off",
	"Event.media_finding":   "findings under the policy",
	"Event.events_dropped":  "events were dropped unsent",
	"Event.app_connection":  "the servers it is set up for",
	"Event.browser_meeting": "which meeting services from the catalog the browser lets use them",
	"Event.browser_policy":  "which browser policy files the agent wrote or removed",
	"Event.app_posture":     "what its own settings say about the organisation's rules",

	"AgentMessage.hello":     "at each connection the policy version in force",
	"AgentMessage.batch":     "each event",
	"AgentMessage.heartbeat": "heartbeat",
	"AgentMessage.catalog":   "catalog of tools",

	"EnrollRequest.enroll_secret": "enrollment secret",
	"EnrollRequest.csr_der":       "certificate signing request",
	"EnrollRequest.device":        "this device: host name",
	"EnrollRequest.device_group":  "device group",
	"RenewRequest.csr_der":        "renewing its certificate",

	"MediaFindingKind.unknown_app":      "an unknown",
	"MediaFindingKind.forbidden_app":    "forbidden",
	"MediaFindingKind.unverified_app":   "look-alike app",
	"MediaFindingKind.left_on":          "device left on",
	"MediaFindingKind.screen_share":     "a screen shared",
	"MediaFindingKind.output_recording": "sound output recorded",
	"MediaFindingKind.left_running":     "meeting app left running",

	"UserNotified.app_id":        "notice was due (app",
	"UserNotified.verdict":       "notice was due (app, verdict",
	"UserNotified.policy_action": "verdict, action",
	"UserNotified.lang":          "language",
	"UserNotified.sessions":      "in how many user sessions it was displayed",
	"UserNotified.failures":      "why not where it was not",
	"UserNotified.replayed":      "shown again after a login",

	"MediaUse.kind=camera":       "camera",
	"MediaUse.kind=microphone":   "microphone",
	"MediaUse.kind=screen":       "the screen is shared",
	"MediaUse.kind=output_audio": "sound output is recorded",
	"MediaUse.session=sid":       "a SID on Windows",
}

// toldKeys are the keys toldEmployee must have, read from the protocol.
func toldKeys() []string {
	var keys []string
	fieldsOf := func(md protoreflect.MessageDescriptor, oneofOnly bool) {
		fs := md.Fields()
		for i := range fs.Len() {
			f := fs.Get(i)
			if (oneofOnly && f.ContainingOneof() == nil) || deprecated(f) {
				continue
			}
			keys = append(keys, fieldKey(f))
		}
	}
	fieldsOf((&vcguardv1.Event{}).ProtoReflect().Descriptor(), false)
	fieldsOf((&vcguardv1.AgentMessage{}).ProtoReflect().Descriptor(), true)
	fieldsOf((&vcguardv1.EnrollRequest{}).ProtoReflect().Descriptor(), false)
	fieldsOf((&vcguardv1.RenewRequest{}).ProtoReflect().Descriptor(), false)
	fieldsOf((&vcguardv1.UserNotified{}).ProtoReflect().Descriptor(), false)
	kind := (&vcguardv1.MediaFinding{}).ProtoReflect().Descriptor().Fields().ByName("kind")
	for _, v := range enumValues(kind) {
		keys = append(keys, string(kind.Enum().Name())+"."+v)
	}
	return keys
}

// readReported reads agent.reportedFields from its source: the list is
// unexported, and the docs package does not link the agent.
func readReported(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), reportedSource, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "reportedFields" || len(vs.Values) != 1 {
			return true
		}
		found = true
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			t.Fatalf("%s: reportedFields is not a list of strings written out", reportedSource)
		}
		for _, e := range lit.Elts {
			b, ok := e.(*ast.BasicLit)
			if !ok || b.Kind != token.STRING {
				t.Fatalf("%s: an entry of reportedFields is not a string literal", reportedSource)
			}
			s, err := strconv.Unquote(b.Value)
			if err != nil {
				t.Fatal(err)
			}
			list = append(list, s)
		}
		return false
	})
	if !found || len(list) < 5 {
		t.Fatalf("%s: found no reportedFields list (%d entries)", reportedSource, len(list))
	}
	return list
}

// TestEmployeeToldEveryEventKind fails when the plain-words list the
// employee sees (agent.reportedFields: `vcguard-agent status` and the
// status file) does not cover a kind of event, a message of enrollment or
// of the stream, a finding kind or a part of a notice's record: a new one
// cannot be added to the protocol without telling the employee.
func TestEmployeeToldEveryEventKind(t *testing.T) {
	t.Parallel()
	reported := readReported(t)
	keys := toldKeys()
	if len(keys) < 30 {
		t.Fatalf("read only %d keys from the protocol: the walk is broken", len(keys))
	}
	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
		if _, ok := toldEmployee[k]; !ok {
			t.Errorf("%s is sent by the agent, and the employee's list (reportedFields in %s) is not known to cover it: add it there in plain words, and here with the phrase that says it", k, reportedSource)
		}
	}
	for k, phrase := range toldEmployee {
		if !known[k] && !strings.Contains(k, "=") {
			t.Errorf("toldEmployee names %s, which the protocol no longer has (renamed or removed?)", k)
		}
		told := false
		for _, r := range reported {
			told = told || strings.Contains(strings.ToLower(r), strings.ToLower(phrase))
		}
		if !told {
			t.Errorf("%s: no entry of reportedFields in %s says %q", k, reportedSource, phrase)
		}
	}
}
