package localipc

// The semantic check of a frame, after protobuf decoding: protobuf says a
// field is a string of valid UTF-8 or an integer; this says how long it
// may be, which characters and values it may hold, and which fields are
// required. Every field of every Ipc message has a rule (a test checks),
// so a field added to ipc.proto without one is refused, not trusted.

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// Limits.
const (
	maxUID   = math.MaxUint32 - 1 // (uid_t)-1 is "no uid"
	maxGrace = 24 * 60 * 60
)

// rule is what a field may hold.
type rule struct {
	max       int    // strings: bytes; lists: entries
	maxElem   int    // list of strings: bytes of each entry
	maxUint   uint64 // integers
	required  bool   // strings (and list entries): not empty; enums: not unspecified
	multiline bool   // strings: newlines and tabs allowed
}

const (
	lenKey     = 256
	lenID      = 128
	lenName    = 256
	lenURL     = 2048
	lenVersion = 64
	lenFact    = 512
)

// rules holds a rule for every field of the Ipc messages; messages (which
// are walked) and bools have an empty one.
var rules = map[protoreflect.FullName]rule{
	"vcguard.v1.IpcHello.uid":                 {maxUint: maxUID},
	"vcguard.v1.IpcHello.lang":                {max: 35, required: true},
	"vcguard.v1.IpcHello.session":             {max: 128},
	"vcguard.v1.IpcRefused.reason":            {max: 1024, required: true},
	"vcguard.v1.IpcShown.key":                 {max: lenKey, required: true},
	"vcguard.v1.IpcNotShown.key":              {max: lenKey, required: true},
	"vcguard.v1.IpcNotShown.reason":           {max: MaxNotShownReason, required: true},
	"vcguard.v1.IpcNotice.key":                {max: lenKey, required: true},
	"vcguard.v1.IpcNotice.app_id":             {max: lenID},
	"vcguard.v1.IpcNotice.app_name":           {max: lenName},
	"vcguard.v1.IpcNotice.policy_verdict":     {},
	"vcguard.v1.IpcNotice.media_finding":      {},
	"vcguard.v1.IpcNotice.device_kind":        {max: 32},
	"vcguard.v1.IpcNotice.process":            {max: lenName},
	"vcguard.v1.IpcNotice.connection_finding": {},
	"vcguard.v1.IpcNotice.connection_detail":  {max: MaxConnectionDetail},
	"vcguard.v1.IpcNotice.site_finding":       {},
	"vcguard.v1.IpcNotice.site_services":      {max: MaxSiteServices, maxElem: lenName, required: true},
	"vcguard.v1.IpcNotice.embedded_services":  {max: MaxEmbeddedServices, maxElem: lenName, required: true},
	"vcguard.v1.IpcNotice.posture_finding":    {},
	"vcguard.v1.IpcNotice.posture_detail":     {max: MaxPostureDetail},
	"vcguard.v1.IpcNotice.policy_action":      {required: true},
	"vcguard.v1.IpcNotice.grace_seconds":      {maxUint: maxGrace},
	"vcguard.v1.IpcNotice.alternative":        {max: lenID},
	"vcguard.v1.IpcNotice.alternative_name":   {max: lenName},
	"vcguard.v1.IpcNotice.note":               {max: policies.MaxNoteBytes, multiline: true},
	"vcguard.v1.IpcNotice.notes":              {max: len(policies.NoteLanguages)},
	"vcguard.v1.IpcNoteText.lang":             {max: 2, required: true},
	"vcguard.v1.IpcNoteText.text":             {max: policies.MaxNoteBytes, required: true, multiline: true},
	"vcguard.v1.IpcNotice.info_url":           {max: lenURL},
	"vcguard.v1.IpcNotice.version":            {max: lenVersion},
	"vcguard.v1.IpcNotice.min_version":        {max: lenVersion},
	"vcguard.v1.IpcTextFact.value":            {max: lenVersion},
	"vcguard.v1.IpcTextFact.note":             {max: lenFact},
	"vcguard.v1.IpcTextFact.source":           {max: lenURL},
	"vcguard.v1.IpcTextFact.checked":          {max: lenVersion},
	"vcguard.v1.IpcBoolFact.note":             {max: lenFact},
	"vcguard.v1.IpcBoolFact.source":           {max: lenURL},
	"vcguard.v1.IpcBoolFact.checked":          {max: lenVersion},
	"vcguard.v1.IpcListFact.value":            {max: 32, maxElem: lenName, required: true},
	"vcguard.v1.IpcListFact.note":             {max: lenFact},
	"vcguard.v1.IpcListFact.source":           {max: lenURL},
	"vcguard.v1.IpcListFact.checked":          {max: lenVersion},
	"vcguard.v1.IpcMedia.uses":                {max: MaxMediaUses},
	"vcguard.v1.IpcMediaUse.kind":             {required: true},
	"vcguard.v1.IpcMediaUse.device":           {max: 256, required: true},
	"vcguard.v1.IpcMediaUse.pid":              {maxUint: math.MaxInt32},
	"vcguard.v1.IpcMediaUse.process":          {max: 1024}, // MAXPATHLEN on macOS
	"vcguard.v1.IpcMediaUse.source":           {required: true},
	"vcguard.v1.IpcBoolFact.value":            {},
	"vcguard.v1.IpcNotice.facts":              {},
	"vcguard.v1.IpcFacts.e2ee":                {},
	"vcguard.v1.IpcFacts.data_location":       {},
	"vcguard.v1.IpcFacts.self_hostable":       {},
	"vcguard.v1.IpcFacts.open_source":         {},
	"vcguard.v1.IpcFacts.certifications":      {},
	"vcguard.v1.IpcFrame.hello":               {},
	"vcguard.v1.IpcFrame.welcome":             {},
	"vcguard.v1.IpcFrame.refused":             {},
	"vcguard.v1.IpcFrame.notice":              {},
	"vcguard.v1.IpcFrame.ping":                {},
	"vcguard.v1.IpcFrame.shown":               {},
	"vcguard.v1.IpcFrame.media":               {},
	"vcguard.v1.IpcFrame.not_shown":           {},
}

type fieldErr struct{ field, problem string }

func (e *fieldErr) Error() string { return "field " + e.field + ": " + e.problem }

func fieldError(field, format string, args ...any) error {
	return &fieldErr{field: field, problem: fmt.Sprintf(format, args...)}
}

// validateFrame checks a decoded (or to be encoded) frame.
func validateFrame(pb *vcguardv1.IpcFrame) error {
	if err := walk("", pb.ProtoReflect()); err != nil {
		return err
	}
	if pb.Body == nil {
		return fieldError("type", "missing (the frame holds no message)")
	}
	switch b := pb.Body.(type) {
	case *vcguardv1.IpcFrame_Hello:
		if err := checkLang(b.Hello.Lang); err != nil {
			return err
		}
		for _, r := range b.Hello.Session {
			if !isSessionRune(r) {
				return fieldError("hello.session", "character %q not allowed (letters, digits and . _ : @ - only)", r)
			}
		}
	case *vcguardv1.IpcFrame_Notice:
		n := b.Notice
		if err := checkFinding(n); err != nil {
			return err
		}
		if err := checkNotes(n); err != nil {
			return err
		}
		if n.InfoUrl != "" {
			if err := checkURL("notice.info_url", n.InfoUrl); err != nil {
				return err
			}
		}
		if f := n.Facts; f != nil {
			for _, e := range []struct {
				name    string
				fact    *vcguardv1.IpcTextFact
				allowed []string
			}{{"e2ee", f.E2Ee, policies.E2EEValues}, {"data_location", f.DataLocation, policies.DataLocationValues}, {"open_source", f.OpenSource, policies.OpenSourceValues}} {
				if e.fact != nil && !slices.Contains(e.allowed, e.fact.Value) {
					return fieldError("notice.facts."+e.name+".value", "%q is not one of %s", e.fact.Value, strings.Join(e.allowed, ", "))
				}
			}
		}
	}
	return nil
}

// checkFinding checks what a notice is about: an app (by its verdict), a
// device use (media_finding), an app's server or account
// (connection_finding) or a browser's sites (site_finding); one of them,
// each with the fields it needs and none of another's.
func checkFinding(n *vcguardv1.IpcNotice) error {
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{
		{"media_finding", n.MediaFinding != vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNSPECIFIED},
		{"connection_finding", n.ConnectionFinding != vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_UNSPECIFIED},
		{"site_finding", n.SiteFinding != vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNSPECIFIED},
		{"posture_finding", n.PostureFinding != vcguardv1.PostureKind_POSTURE_KIND_UNSPECIFIED},
	} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) > 1 {
		return fieldError("notice."+kinds[1], "set with notice.%s: a notice is about one finding", kinds[0])
	}
	if n.ConnectionFinding == vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_UNSPECIFIED && n.ConnectionDetail != "" {
		return fieldError("notice.connection_detail", "set in a notice that is not about a server or account")
	}
	if n.PostureFinding == vcguardv1.PostureKind_POSTURE_KIND_UNSPECIFIED && n.PostureDetail != "" {
		return fieldError("notice.posture_detail", "set in a notice that is not about an app's settings")
	}
	if n.SiteFinding != vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNAPPROVED_SITE && len(n.SiteServices) > 0 {
		return fieldError("notice.site_services", "set in a notice that is not about unapproved sites")
	}
	if len(kinds) > 0 && len(n.EmbeddedServices) > 0 {
		return fieldError("notice.embedded_services", "set in a notice about %s: only a notice about the host's own verdict names them", kinds[0])
	}
	// A notice about a device use may name no catalog app (a process of
	// none) and has no verdict; the others are about a catalog app.
	if n.MediaFinding != vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNSPECIFIED {
		if policies.MediaFindingKindFromProto(n.MediaFinding) == "" {
			return fieldError("notice.media_finding", "%d is not a finding this version knows", n.MediaFinding)
		}
		if n.DeviceKind != "" && !slices.Contains(NoticeDeviceKinds, n.DeviceKind) {
			return fieldError("notice.device_kind", "%q is not one of %s", n.DeviceKind, strings.Join(NoticeDeviceKinds, ", "))
		}
		if strings.ContainsAny(n.Process, "/\\") {
			return fieldError("notice.process", "a name, not a path")
		}
		return nil
	}
	if n.AppId == "" {
		return fieldError("notice.app_id", "missing or empty")
	}
	if n.DeviceKind != "" || n.Process != "" {
		return fieldError("notice.device_kind", "set in a notice about an app, not a device use")
	}
	// The verdict is the app's; a notice about its server, account or
	// sites may leave it out (the app itself is allowed), not give one
	// this version does not know.
	verdictNeeded := len(kinds) == 0
	if n.PolicyVerdict == vcguardv1.Verdict_VERDICT_UNSPECIFIED && verdictNeeded {
		return fieldError("notice.policy_verdict", "missing or unspecified")
	}
	if n.PolicyVerdict != vcguardv1.Verdict_VERDICT_UNSPECIFIED && policies.VerdictFromProto(n.PolicyVerdict) == "unknown" {
		return fieldError("notice.policy_verdict", "%d is not a verdict this version knows", n.PolicyVerdict)
	}
	switch {
	case n.ConnectionFinding != vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_UNSPECIFIED:
		if !slices.Contains(policies.ConnectionFindingKinds, policies.ConnectionFindingKindFromProto(n.ConnectionFinding)) {
			return fieldError("notice.connection_finding", "%d is not a finding this version knows", n.ConnectionFinding)
		}
		return checkConnectionDetail(n.ConnectionDetail)
	case n.SiteFinding != vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNSPECIFIED:
		switch k := policies.SiteFindingKindFromProto(n.SiteFinding); k {
		case policies.SiteUnapproved, policies.SiteUnknown:
		case policies.SiteApproved, policies.SiteNone:
			return fieldError("notice.site_finding", "%s is not a finding the employee is told of (only %s, %s)", k, policies.SiteUnapproved, policies.SiteUnknown)
		default:
			return fieldError("notice.site_finding", "%d is not a finding this version knows", n.SiteFinding)
		}
		if n.PolicyAction == vcguardv1.Action_ACTION_BLOCK {
			return fieldError("notice.policy_action", "block in a notice about a browser's sites: a policy cannot close a browser for them")
		}
	case n.PostureFinding != vcguardv1.PostureKind_POSTURE_KIND_UNSPECIFIED:
		if policies.PostureKindFromProto(n.PostureFinding) == "" {
			return fieldError("notice.posture_finding", "%d is not a finding this version knows", n.PostureFinding)
		}
		if n.PolicyAction == vcguardv1.Action_ACTION_BLOCK {
			return fieldError("notice.policy_action", "block in a notice about an app's settings: a policy only warns about them")
		}
		return checkPostureDetail(n.PostureDetail)
	}
	return nil
}

// checkPostureDetail checks what a posture notice says was read
// (checkText has bounded it and refused control characters): printable
// characters only, and no path, which could name a person's folders.
func checkPostureDetail(v string) error {
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return fieldError("notice.posture_detail", "character %U not allowed (printable characters only)", r)
		}
	}
	if strings.ContainsAny(v, "/\\") {
		return fieldError("notice.posture_detail", "%q holds a path; want a value, versions or a file type", v)
	}
	return nil
}

// checkConnectionDetail checks the server host, or the account's domain
// or tenant, of a connection notice (checkText has bounded it and refused
// control characters): printable characters only, so no invisible or
// direction-changing one makes it read as another host, and no path.
func checkConnectionDetail(v string) error {
	if v != strings.TrimSpace(v) {
		return fieldError("notice.connection_detail", "leading or trailing space in %q", v)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return fieldError("notice.connection_detail", "character %U not allowed (printable characters only)", r)
		}
	}
	if strings.ContainsAny(v, "/\\") {
		return fieldError("notice.connection_detail", "%q is a URL or path; want a host, a login domain or a tenant id", v)
	}
	return nil
}

// walk checks every field of m against its rule, and refuses unknown
// fields: both sides are one binary, so an unknown field is a forgery or a
// bug, never a newer peer.
func walk(path string, m protoreflect.Message) error {
	at := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	if u := m.GetUnknown(); len(u) > 0 {
		num, _, _ := protowire.ConsumeTag(u)
		return fieldError(at(strconv.Itoa(int(num))), "unknown field number %d in %s", num, m.Descriptor().Name())
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		r, ok := rules[fd.FullName()]
		if !ok {
			return fieldError(at(string(fd.Name())), "no rule for %s: refused", fd.FullName())
		}
		name, v := at(string(fd.Name())), m.Get(fd)
		switch {
		case fd.IsList():
			l := v.List()
			if l.Len() > r.max {
				return fieldError(name, "%d entries, at most %d allowed", l.Len(), r.max)
			}
			for j := range l.Len() {
				elem := fmt.Sprintf("%s[%d]", name, j)
				var err error
				if fd.Kind() == protoreflect.MessageKind {
					err = walk(elem, l.Get(j).Message())
				} else {
					err = checkText(elem, l.Get(j).String(), rule{max: r.maxElem, required: r.required})
				}
				if err != nil {
					return err
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			if m.Has(fd) {
				if err := walk(name, v.Message()); err != nil {
					return err
				}
			}
		case fd.Kind() == protoreflect.StringKind:
			if err := checkText(name, v.String(), r); err != nil {
				return err
			}
		case fd.Kind() == protoreflect.EnumKind:
			n := v.Enum()
			if n == 0 && r.required {
				return fieldError(name, "missing or unspecified")
			}
			if n != 0 && fd.Enum().Values().ByNumber(n) == nil {
				return fieldError(name, "%d is not a %s", n, fd.Enum().Name())
			}
		case fd.Kind() == protoreflect.Uint32Kind:
			if u := v.Uint(); u > r.maxUint {
				return fieldError(name, "%d is out of range (0 to %d)", u, r.maxUint)
			}
		case fd.Kind() == protoreflect.BoolKind:
		default:
			return fieldError(name, "no check for a %s field: refused", fd.Kind())
		}
	}
	return nil
}

// checkText checks a string: length, no control characters (newlines and
// tabs only where multiline). Protobuf has checked it is UTF-8.
func checkText(field, v string, r rule) error {
	if v == "" {
		if r.required {
			return fieldError(field, "missing or empty")
		}
		return nil
	}
	if len(v) > r.max {
		return fieldError(field, "%d bytes, at most %d allowed", len(v), r.max)
	}
	if !utf8.ValidString(v) {
		return fieldError(field, "not valid UTF-8")
	}
	for _, c := range v {
		if r.multiline && (c == '\n' || c == '\t') {
			continue
		}
		if unicode.IsControl(c) || c == utf8.RuneError || c == '\u2028' || c == '\u2029' {
			return fieldError(field, "control character %q not allowed", c)
		}
	}
	return nil
}

// checkNotes checks a note given per language: each a language of
// policies.NoteLanguages, once; never with a note for every language.
func checkNotes(n *vcguardv1.IpcNotice) error {
	if len(n.Notes) > 0 && n.Note != "" {
		return fieldError("notice.notes", "set with notice.note: a note is one text for every language or one per language")
	}
	seen := map[string]bool{}
	for i, t := range n.Notes {
		if !slices.Contains(policies.NoteLanguages[:], t.Lang) {
			return fieldError(fmt.Sprintf("notice.notes[%d].lang", i), "%q is not one of %s", t.Lang, strings.Join(policies.NoteLanguages[:], ", "))
		}
		if seen[t.Lang] {
			return fieldError(fmt.Sprintf("notice.notes[%d].lang", i), "%q given twice", t.Lang)
		}
		seen[t.Lang] = true
	}
	return nil
}

func checkURL(field, v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return fieldError(field, "not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fieldError(field, "scheme %q not allowed, want http or https", u.Scheme)
	case u.Host == "":
		return fieldError(field, "no host in %q", v)
	case u.User != nil:
		return fieldError(field, "user information not allowed in the URL")
	}
	return nil
}

// checkLang accepts BCP 47-like tags and POSIX locale names without
// encoding: "en", "nl-BE", "de_DE", "zh-Hant-TW".
func checkLang(v string) error {
	bad := fieldError("hello.lang", "%q is not a language tag (like \"nl\" or \"fr-BE\")", v)
	for i, part := range strings.FieldsFunc(v, func(r rune) bool { return r == '-' || r == '_' }) {
		ok := len(part) >= 1 && len(part) <= 8
		for _, r := range part {
			letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
			ok = ok && (letter || i > 0 && r >= '0' && r <= '9')
		}
		if i == 0 {
			ok = ok && len(part) >= 2 && len(part) <= 3
		}
		if !ok {
			return bad
		}
	}
	if strings.HasPrefix(v, "-") || strings.HasPrefix(v, "_") || strings.HasSuffix(v, "-") ||
		strings.HasSuffix(v, "_") || strings.Contains(v, "--") || strings.Contains(v, "__") ||
		strings.Contains(v, "-_") || strings.Contains(v, "_-") {
		return bad
	}
	return nil
}

func isSessionRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == ':' || r == '@' || r == '-'
}
