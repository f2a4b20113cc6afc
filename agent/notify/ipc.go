package notify

// The local IPC between the service (root / SYSTEM) and the per-user
// notifier (`vcguard-agent notifier`, one per user session).
//
// Transport: a unix socket (Linux, macOS) or a named pipe (Windows); the
// OS-specific parts (listen, dial, who is on the other end) are in
// ipc_unix.go, ipc_linux.go, ipc_darwin.go, ipc_windows.go and ipc_other.go.
// Everything else (the protocol, the server's bookkeeping, the client) is
// here, without a build tag, so it is tested on every OS.
//
// Protocol: newline-delimited JSON, one object per line, at most
// MaxFrameSize bytes per line (without the newline). The notifier speaks
// first:
//
//	notifier → service  {"type":"hello","uid":1000,"lang":"nl","session":"2"}
//	service → notifier  {"type":"welcome"}            session registered
//	                    {"type":"refused","reason":…}  and the service hangs up
//	service → notifier  {"type":"notice","notice":{…}} show this (NoticeWire)
//	                    {"type":"ping"}                 liveness; nothing to do
//	notifier → service  {"type":"shown","key":…}      acknowledgement of a notice
//	notifier → service  {"type":"media","media":[…]}  the cameras and microphones
//	                                                   in use as the session sees
//	                                                   them (MediaWire), sent when
//	                                                   they change and at least every
//	                                                   MediaTTL/3 while connected
//
// The uid in the hello must be the uid the OS reports for the connecting
// process (peer credentials); on Windows "uid" is the terminal-services
// session id of the connecting process. A hello that claims anything else
// is refused and logged. A media frame carries no uid: the uses it
// reports belong to the session's peer uid. Decoding is strict: unknown fields, fields that
// do not belong to the frame's type, missing fields, out-of-range values,
// invalid UTF-8, control characters and trailing data are all errors that
// name the field and the problem.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/policies"
)

// MaxFrameSize is the largest frame, in bytes without its newline, that
// either side sends or accepts. A longer line is an error
// (ErrFrameTooLarge) and ends the connection; it is never buffered whole.
const MaxFrameSize = 64 << 10

// Frame types.
const (
	FrameHello   = "hello"   // notifier → service: who is connecting
	FrameShown   = "shown"   // notifier → service: a notice was shown
	FrameWelcome = "welcome" // service → notifier: hello accepted
	FrameRefused = "refused" // service → notifier: hello refused, with a reason
	FrameNotice  = "notice"  // service → notifier: a notice to show
	FramePing    = "ping"    // service → notifier: liveness
	FrameMedia   = "media"   // notifier → service: cameras and microphones in use
)

// Errors. They are wrapped with the details; test with errors.Is.
var (
	// ErrBadFrame is a frame that is not valid protocol (bad JSON, a
	// missing, unknown or invalid field).
	ErrBadFrame = errors.New("malformed frame")
	// ErrFrameTooLarge is a frame longer than MaxFrameSize.
	ErrFrameTooLarge = fmt.Errorf("frame larger than %d bytes", MaxFrameSize)
	// ErrServiceNotRunning is returned by Dial when nothing listens at the
	// path: the notifier should retry later.
	ErrServiceNotRunning = errors.New("the vcguard service is not running")
	// ErrServiceGone is returned by the Client when the service closed the
	// connection (it stopped or restarted): the notifier should redial.
	ErrServiceGone = errors.New("the vcguard service closed the connection")
	// ErrRefused is returned by Client.Hello when the service refused the
	// hello; the error carries the service's reason.
	ErrRefused = errors.New("the vcguard service refused the notifier")
	// ErrNoSession is returned by Server.Send and Server.Broadcast when no
	// notifier is connected for the user.
	ErrNoSession = errors.New("no notifier connected")
)

// NoticeWire is one notification as it travels from the service to the
// notifier: what was found and what to tell the user. The notifier turns
// it into localised text; the service sends identifiers and facts, not
// sentences.
type NoticeWire struct {
	// Key identifies the notice (app and finding); the notifier
	// acknowledges it with Client.Ack. Required.
	Key string `json:"key"`
	// AppID is the catalog id of the app the finding is about. Required.
	AppID string `json:"app_id"`
	// AppName is the app's display name.
	AppName string `json:"app_name,omitempty"`
	// Verdict is the policy verdict ("forbidden", "restricted",
	// "outdated", …). Required.
	Verdict string `json:"verdict"`
	// Action is what the agent does ("warn", "block", …). Required.
	Action string `json:"action"`
	// GraceSeconds is the time before a blocked app is closed.
	GraceSeconds int `json:"grace_seconds,omitempty"`
	// Alternative is the catalog id of the app to use instead.
	Alternative string `json:"alternative,omitempty"`
	// AlternativeName is the alternative's display name.
	AlternativeName string `json:"alternative_name,omitempty"`
	// Note is the policy's caveat or explanation, shown as written.
	Note string `json:"note,omitempty"`
	// InfoURL is an http or https page explaining the decision.
	InfoURL string `json:"info_url,omitempty"`
	// Version is the version found; MinVersion the oldest the policy allows.
	Version    string `json:"version,omitempty"`
	MinVersion string `json:"min_version,omitempty"`
	// Facts are the app's catalog facts, nil when unknown. They travel
	// as values, not sentences, so the notifier explains them in the
	// user's language.
	Facts *policies.Facts `json:"facts,omitempty"`
}

// Limits on NoticeWire fields.
const (
	wireMaxKey     = 256
	wireMaxID      = 128
	wireMaxName    = 256
	wireMaxNote    = 4096
	wireMaxURL     = 2048
	wireMaxVersion = 64
	wireMaxFacts   = 32
	wireMaxFact    = 512
	wireMaxGrace   = 24 * 60 * 60
	wireMaxReason  = 1024
	wireMaxLang    = 35
	wireMaxSession = 128
	wireMaxUID     = 1<<32 - 2 // (uid_t)-1 is "no uid"
)

// Limits on MediaWire.
const (
	// MaxMediaUses is the most uses one media frame carries.
	MaxMediaUses   = 64
	wireMaxDevice  = 256
	wireMaxProcess = 1024 // MAXPATHLEN on macOS
	wireMaxPID     = 1<<31 - 1
)

// MediaTTL is how long the service keeps a session's media report: the
// notifier repeats it at least every MediaTTL/3, so the report of a
// notifier that hangs fades, while one that disconnects is dropped at
// once.
const MediaTTL = 30 * time.Second

// MediaWire is one camera or microphone use as a notifier sees it from its
// user session. It carries no uid: the service attributes it to the
// session's peer uid (MediaUses).
type MediaWire struct {
	// Kind is "camera" or "microphone". Required.
	Kind string `json:"kind"`
	// Device names the device (a CoreMediaIO or CoreAudio UID, a node
	// path…). Required.
	Device string `json:"device"`
	// PID is the process using it; 0 when unknown. Required.
	PID int32 `json:"pid"`
	// Process is the process's executable path or name.
	Process string `json:"process,omitempty"`
	// Source is where the use was seen: one of the devices.Source values.
	// Required.
	Source string `json:"source"`
}

// mediaKinds and mediaSources are the values a MediaWire may carry.
var (
	mediaKinds   = []string{string(devices.Camera), string(devices.Microphone)}
	mediaSources = []string{
		string(devices.SourceV4L2), string(devices.SourceALSA), string(devices.SourcePipeWire),
		string(devices.SourcePulseAudio), string(devices.SourceCoreAudio), string(devices.SourceCoreMediaIO),
		string(devices.SourceConsentStore),
	}
)

func (m MediaWire) validate(i int) error {
	field := func(name string) string { return fmt.Sprintf("media[%d].%s", i, name) }
	if !slices.Contains(mediaKinds, m.Kind) {
		if m.Kind == "" {
			return wireFieldError(field("kind"), "missing or empty")
		}
		return wireFieldError(field("kind"), "%q is not one of %s", m.Kind, strings.Join(mediaKinds, ", "))
	}
	if err := checkWireText(field("device"), m.Device, wireMaxDevice, true, false); err != nil {
		return err
	}
	if m.PID < 0 {
		return wireFieldError(field("pid"), "%d is out of range (0 to %d)", m.PID, wireMaxPID)
	}
	if err := checkWireText(field("process"), m.Process, wireMaxProcess, false, false); err != nil {
		return err
	}
	if !slices.Contains(mediaSources, m.Source) {
		if m.Source == "" {
			return wireFieldError(field("source"), "missing or empty")
		}
		return wireFieldError(field("source"), "%q is not one of %s", m.Source, strings.Join(mediaSources, ", "))
	}
	return nil
}

func validateMedia(ms []MediaWire) error {
	if len(ms) > MaxMediaUses {
		return wireFieldError("media", "%d entries, at most %d allowed", len(ms), MaxMediaUses)
	}
	for i, m := range ms {
		if err := m.validate(i); err != nil {
			return err
		}
	}
	return nil
}

// wireMedia is MediaWire on the wire; pointers tell absent fields from
// zero ones.
type wireMedia struct {
	Kind    *string `json:"kind"`
	Device  *string `json:"device"`
	PID     *int64  `json:"pid"`
	Process *string `json:"process"`
	Source  *string `json:"source"`
}

func (w wireMedia) media(i int) (MediaWire, error) {
	field := func(name string) string { return fmt.Sprintf("media[%d].%s", i, name) }
	for _, f := range []struct {
		name    string
		present bool
	}{{"kind", w.Kind != nil}, {"device", w.Device != nil}, {"pid", w.PID != nil}, {"source", w.Source != nil}} {
		if !f.present {
			return MediaWire{}, wireFieldError(field(f.name), "missing")
		}
	}
	if *w.PID < 0 || *w.PID > wireMaxPID {
		return MediaWire{}, wireFieldError(field("pid"), "%d is out of range (0 to %d)", *w.PID, wireMaxPID)
	}
	m := MediaWire{Kind: *w.Kind, Device: *w.Device, PID: int32(*w.PID), Source: *w.Source}
	if w.Process != nil {
		m.Process = *w.Process
	}
	return m, nil
}

// MediaToWire converts uses for a media frame, sorted. Screen casts and
// output monitors are left out (they are neither camera nor microphone),
// as are uses a media frame cannot carry (an empty device, an over-long
// process path…); skipped counts them. At most MaxMediaUses are kept.
func MediaToWire(us []devices.Use) (ms []MediaWire, skipped int) {
	us = slices.Clone(us)
	devices.Sort(us)
	ms = []MediaWire{}
	for _, u := range us {
		m := MediaWire{Kind: string(u.Kind), Device: u.Device, PID: u.PID, Process: u.Process, Source: string(u.Source)}
		if !u.IsCapture() || len(ms) == MaxMediaUses || m.validate(len(ms)) != nil {
			skipped++
			continue
		}
		if n := len(ms); n > 0 && ms[n-1] == m {
			continue // the same process seen under two uids: one use
		}
		ms = append(ms, m)
	}
	return ms, skipped
}

// MediaUses converts a session's media report into uses. The uid and the
// session come from s, which the OS vouched for, never from the frame.
func MediaUses(s Session, ms []MediaWire) []devices.Use {
	session := s.User // the Windows SID
	if session == "" {
		session = strconv.Itoa(s.UID)
	}
	out := make([]devices.Use, 0, len(ms))
	for _, m := range ms {
		out = append(out, devices.Use{
			Kind: devices.Kind(m.Kind), Device: m.Device, PID: m.PID, Process: m.Process,
			UID: s.UID, Session: session, Source: devices.Source(m.Source),
		})
	}
	return out
}

// Validate reports the first field of n that is missing or invalid.
func (n NoticeWire) Validate() error {
	if err := n.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadFrame, err)
	}
	return nil
}

func (n NoticeWire) validate() error {
	for _, f := range []struct {
		name, v  string
		max      int
		required bool
	}{
		{"notice.key", n.Key, wireMaxKey, true},
		{"notice.app_id", n.AppID, wireMaxID, true},
		{"notice.app_name", n.AppName, wireMaxName, false},
		{"notice.alternative", n.Alternative, wireMaxID, false},
		{"notice.alternative_name", n.AlternativeName, wireMaxName, false},
		{"notice.version", n.Version, wireMaxVersion, false},
		{"notice.min_version", n.MinVersion, wireMaxVersion, false},
	} {
		if err := checkWireText(f.name, f.v, f.max, f.required, false); err != nil {
			return err
		}
	}
	if err := checkWireWord("notice.verdict", n.Verdict); err != nil {
		return err
	}
	if err := checkWireWord("notice.action", n.Action); err != nil {
		return err
	}
	if n.GraceSeconds < 0 || n.GraceSeconds > wireMaxGrace {
		return wireFieldError("notice.grace_seconds", "%d is out of range (0 to %d)", n.GraceSeconds, wireMaxGrace)
	}
	if err := checkWireText("notice.note", n.Note, wireMaxNote, false, true); err != nil {
		return err
	}
	if n.InfoURL != "" {
		if err := checkWireURL("notice.info_url", n.InfoURL); err != nil {
			return err
		}
	}
	return checkWireFacts(n.Facts)
}

// checkWireFacts checks the enumerated values and the sizes of the facts.
func checkWireFacts(f *policies.Facts) error {
	if f == nil {
		return nil
	}
	enum := func(name string, fact *policies.Fact[string], allowed []string) error {
		if fact == nil {
			return nil
		}
		if !slices.Contains(allowed, fact.Value) {
			return wireFieldError("notice.facts."+name+".value", "%q is not one of %s", fact.Value, strings.Join(allowed, ", "))
		}
		return checkWireFactMeta(name, fact.Note, fact.Source, fact.Checked)
	}
	if err := enum("e2ee", f.E2EE, policies.E2EEValues); err != nil {
		return err
	}
	if err := enum("data_location", f.DataLocation, policies.DataLocationValues); err != nil {
		return err
	}
	if err := enum("open_source", f.OpenSource, policies.OpenSourceValues); err != nil {
		return err
	}
	if f.SelfHostable != nil {
		if err := checkWireFactMeta("self_hostable", f.SelfHostable.Note, f.SelfHostable.Source, f.SelfHostable.Checked); err != nil {
			return err
		}
	}
	if c := f.Certifications; c != nil {
		if len(c.Value) > wireMaxFacts {
			return wireFieldError("notice.facts.certifications.value", "%d entries, at most %d allowed", len(c.Value), wireMaxFacts)
		}
		for i, v := range c.Value {
			if err := checkWireText(fmt.Sprintf("notice.facts.certifications.value[%d]", i), v, wireMaxName, true, false); err != nil {
				return err
			}
		}
		if err := checkWireFactMeta("certifications", c.Note, c.Source, c.Checked); err != nil {
			return err
		}
	}
	return nil
}

func checkWireFactMeta(name, note, source, checked string) error {
	prefix := "notice.facts." + name + "."
	if err := checkWireText(prefix+"note", note, wireMaxFact, false, false); err != nil {
		return err
	}
	if err := checkWireText(prefix+"source", source, wireMaxURL, false, false); err != nil {
		return err
	}
	return checkWireText(prefix+"checked", checked, wireMaxVersion, false, false)
}

// Hello is the notifier's introduction.
type Hello struct {
	// UID is the user the notifier runs as: the effective uid on unix,
	// the session id on Windows (see CurrentUID).
	UID int
	// Lang is the user's language (BCP 47 or a POSIX locale name such as
	// "nl", "fr-BE" or "de_DE").
	Lang string
	// Session names the login session (XDG_SESSION_ID, a display name…);
	// the service keeps one connection per UID and Session.
	Session string
}

func (h Hello) validate() error {
	if h.UID < 0 || h.UID > wireMaxUID {
		return wireFieldError("uid", "%d is out of range (0 to %d)", h.UID, wireMaxUID)
	}
	if err := checkWireLang(h.Lang); err != nil {
		return err
	}
	if len(h.Session) > wireMaxSession {
		return wireFieldError("session", "%d bytes, at most %d allowed", len(h.Session), wireMaxSession)
	}
	for _, r := range h.Session {
		if !isWireSessionRune(r) {
			return wireFieldError("session", "character %q not allowed (letters, digits and . _ : @ - only)", r)
		}
	}
	return nil
}

// Frame is one decoded protocol message. Type says which other fields
// are meaningful.
type Frame struct {
	Type   string
	Hello  Hello       // FrameHello
	Notice NoticeWire  // FrameNotice
	Key    string      // FrameShown
	Reason string      // FrameRefused
	Media  []MediaWire // FrameMedia; nil is sent as an empty list
}

// wireFrame is Frame on the wire; pointers tell absent fields from zero ones.
type wireFrame struct {
	Type    string       `json:"type"`
	UID     *int64       `json:"uid,omitempty"`
	Lang    *string      `json:"lang,omitempty"`
	Session *string      `json:"session,omitempty"`
	Notice  *NoticeWire  `json:"notice,omitempty"`
	Key     *string      `json:"key,omitempty"`
	Reason  *string      `json:"reason,omitempty"`
	Media   *[]wireMedia `json:"media,omitempty"`
}

// wireFrameOut is wireFrame for encoding: media entries are MediaWire.
type wireFrameOut struct {
	Type    string       `json:"type"`
	UID     *int64       `json:"uid,omitempty"`
	Lang    *string      `json:"lang,omitempty"`
	Session *string      `json:"session,omitempty"`
	Notice  *NoticeWire  `json:"notice,omitempty"`
	Key     *string      `json:"key,omitempty"`
	Reason  *string      `json:"reason,omitempty"`
	Media   *[]MediaWire `json:"media,omitempty"`
}

// EncodeFrame validates f and returns it as one line, newline included.
func EncodeFrame(f Frame) ([]byte, error) {
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("encode %s frame: %w: %w", f.Type, ErrBadFrame, err)
	}
	w := wireFrameOut{Type: f.Type}
	switch f.Type {
	case FrameHello:
		uid := int64(f.Hello.UID)
		w.UID, w.Lang = &uid, &f.Hello.Lang
		if f.Hello.Session != "" {
			w.Session = &f.Hello.Session
		}
	case FrameNotice:
		w.Notice = &f.Notice
	case FrameShown:
		w.Key = &f.Key
	case FrameRefused:
		w.Reason = &f.Reason
	case FrameMedia:
		media := f.Media
		if media == nil {
			media = []MediaWire{}
		}
		w.Media = &media
	}
	// Validated text holds no control characters, U+2028 or U+2029:
	// without HTML escaping every character is encoded as short as it can
	// be, so whatever DecodeFrame accepted fits again.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil { // Encode adds the newline
		return nil, fmt.Errorf("encode %s frame: %w", f.Type, err)
	}
	if n := buf.Len() - 1; n > MaxFrameSize {
		return nil, fmt.Errorf("encode %s frame: %w (%d bytes)", f.Type, ErrFrameTooLarge, n)
	}
	return buf.Bytes(), nil
}

// DecodeFrame parses one frame (a line, with or without its newline) and
// checks it strictly. Errors wrap ErrBadFrame or ErrFrameTooLarge and
// name the field at fault.
func DecodeFrame(line []byte) (Frame, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	if len(line) > MaxFrameSize {
		return Frame{}, fmt.Errorf("%w (%d bytes)", ErrFrameTooLarge, len(line))
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return Frame{}, fmt.Errorf("%w: empty line", ErrBadFrame)
	}
	if !utf8.Valid(line) {
		return Frame{}, fmt.Errorf("%w: not valid UTF-8", ErrBadFrame)
	}
	var w wireFrame
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Frame{}, fmt.Errorf("%w: %s", ErrBadFrame, describeWireJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Frame{}, fmt.Errorf("%w: data after the JSON object", ErrBadFrame)
	}
	f, err := w.frame()
	if err != nil {
		return Frame{}, fmt.Errorf("%w: %w", ErrBadFrame, err)
	}
	if err := f.validate(); err != nil {
		return Frame{}, fmt.Errorf("%w: %s frame: %w", ErrBadFrame, f.Type, err)
	}
	return f, nil
}

// frame checks which fields are present for the type and copies them.
func (w wireFrame) frame() (Frame, error) {
	present := map[string]bool{
		"uid": w.UID != nil, "lang": w.Lang != nil, "session": w.Session != nil,
		"notice": w.Notice != nil, "key": w.Key != nil, "reason": w.Reason != nil,
		"media": w.Media != nil,
	}
	var required, optional []string
	switch w.Type {
	case "":
		return Frame{}, wireFieldError("type", "missing")
	case FrameHello:
		required, optional = []string{"uid", "lang"}, []string{"session"}
	case FrameNotice:
		required = []string{"notice"}
	case FrameShown:
		required = []string{"key"}
	case FrameRefused:
		required = []string{"reason"}
	case FrameMedia:
		required = []string{"media"}
	case FrameWelcome, FramePing:
	default:
		return Frame{}, wireFieldError("type", "unknown frame type %q", w.Type)
	}
	for _, name := range required {
		if !present[name] {
			return Frame{}, wireFieldError(name, "missing (required in a %s frame)", w.Type)
		}
	}
	for _, name := range []string{"uid", "lang", "session", "notice", "key", "reason", "media"} {
		if present[name] && !slices.Contains(required, name) && !slices.Contains(optional, name) {
			return Frame{}, wireFieldError(name, "not allowed in a %s frame", w.Type)
		}
	}
	f := Frame{Type: w.Type}
	switch w.Type {
	case FrameHello:
		if *w.UID < 0 || *w.UID > wireMaxUID {
			return Frame{}, wireFieldError("uid", "%d is out of range (0 to %d)", *w.UID, wireMaxUID)
		}
		f.Hello = Hello{UID: int(*w.UID), Lang: *w.Lang}
		if w.Session != nil {
			f.Hello.Session = *w.Session
		}
	case FrameNotice:
		f.Notice = *w.Notice
	case FrameShown:
		f.Key = *w.Key
	case FrameRefused:
		f.Reason = *w.Reason
	case FrameMedia:
		if len(*w.Media) > MaxMediaUses {
			return Frame{}, wireFieldError("media", "%d entries, at most %d allowed", len(*w.Media), MaxMediaUses)
		}
		f.Media = make([]MediaWire, 0, len(*w.Media))
		for i, wm := range *w.Media {
			m, err := wm.media(i)
			if err != nil {
				return Frame{}, err
			}
			f.Media = append(f.Media, m)
		}
	}
	return f, nil
}

func (f Frame) validate() error {
	switch f.Type {
	case FrameHello:
		return f.Hello.validate()
	case FrameNotice:
		return f.Notice.validate()
	case FrameShown:
		return checkWireText("key", f.Key, wireMaxKey, true, false)
	case FrameRefused:
		return checkWireText("reason", f.Reason, wireMaxReason, true, false)
	case FrameMedia:
		return validateMedia(f.Media)
	case FrameWelcome, FramePing:
		return nil
	case "":
		return wireFieldError("type", "missing")
	default:
		return wireFieldError("type", "unknown frame type %q", f.Type)
	}
}

// describeWireJSONError turns encoding/json's errors into "field x: problem".
func describeWireJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("want a JSON object, got %s", typ.Value)
		}
		return fmt.Sprintf("field %s: want %s, got %s", typ.Field, wireJSONKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "incomplete JSON object"
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + rest
	}
	return strings.TrimPrefix(msg, "json: ")
}

func wireJSONKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	case goKind == "string":
		return "a string"
	case goKind == "slice":
		return "an array"
	case goKind == "struct":
		return "an object"
	}
	return goKind
}

type wireFieldErr struct{ field, problem string }

func (e *wireFieldErr) Error() string { return "field " + e.field + ": " + e.problem }

func wireFieldError(field, format string, args ...any) error {
	return &wireFieldErr{field: field, problem: fmt.Sprintf(format, args...)}
}

// checkWireText checks a free-text field: length, no control characters
// (newlines and tabs only where multiline).
func checkWireText(field, v string, max int, required, multiline bool) error {
	if v == "" {
		if required {
			return wireFieldError(field, "missing or empty")
		}
		return nil
	}
	if len(v) > max {
		return wireFieldError(field, "%d bytes, at most %d allowed", len(v), max)
	}
	if !utf8.ValidString(v) {
		return wireFieldError(field, "not valid UTF-8")
	}
	for _, r := range v {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return wireFieldError(field, "control character %q not allowed", r)
		}
	}
	return nil
}

// checkWireWord checks an identifier such as a verdict or action: required,
// lower-case letters, digits, '_' and '-', starting with a letter.
func checkWireWord(field, v string) error {
	if v == "" {
		return wireFieldError(field, "missing or empty")
	}
	if len(v) > 32 {
		return wireFieldError(field, "%d bytes, at most 32 allowed", len(v))
	}
	for i, r := range v {
		if !(r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '-')) {
			return wireFieldError(field, "%q is not a lower-case identifier", v)
		}
	}
	return nil
}

func checkWireURL(field, v string) error {
	if err := checkWireText(field, v, wireMaxURL, true, false); err != nil {
		return err
	}
	u, err := url.Parse(v)
	if err != nil {
		return wireFieldError(field, "not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return wireFieldError(field, "scheme %q not allowed, want http or https", u.Scheme)
	}
	if u.Host == "" {
		return wireFieldError(field, "no host in %q", v)
	}
	if u.User != nil {
		return wireFieldError(field, "user information not allowed in the URL")
	}
	return nil
}

// checkWireLang accepts BCP 47-like tags and POSIX locale names without
// encoding: "en", "nl-BE", "de_DE", "zh-Hant-TW".
func checkWireLang(v string) error {
	if v == "" {
		return wireFieldError("lang", "missing or empty")
	}
	if len(v) > wireMaxLang {
		return wireFieldError("lang", "%d bytes, at most %d allowed", len(v), wireMaxLang)
	}
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
			return wireFieldError("lang", "%q is not a language tag (like \"nl\" or \"fr-BE\")", v)
		}
	}
	if strings.HasPrefix(v, "-") || strings.HasPrefix(v, "_") || strings.HasSuffix(v, "-") ||
		strings.HasSuffix(v, "_") || strings.Contains(v, "--") || strings.Contains(v, "__") ||
		strings.Contains(v, "-_") || strings.Contains(v, "_-") {
		return wireFieldError("lang", "%q is not a language tag (like \"nl\" or \"fr-BE\")", v)
	}
	return nil
}

func isWireSessionRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == ':' || r == '@' || r == '-'
}

// frameReader reads newline-terminated frames of at most MaxFrameSize
// bytes. Its buffer grows to MaxFrameSize+1 bytes at most, and a frame
// is refused as soon as that much arrives without a newline. A read
// interrupted by a deadline keeps what it read and resumes on the next
// call.
type frameReader struct {
	r          io.Reader
	buf        []byte
	start, end int   // unread data is buf[start:end]
	scanned    int   // buf[start:scanned] holds no newline
	pending    error // the error of the last Read, once its bytes are looked at
	err        error // sticky: too large, or the end of the stream
}

// frameReaderMax is the buffer limit: a whole frame and its newline.
const frameReaderMax = MaxFrameSize + 1

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: r}
}

// next returns the next frame without its newline. The slice is valid
// until the next call.
func (fr *frameReader) next() ([]byte, error) {
	if fr.err != nil {
		return nil, fr.err
	}
	for {
		if i := bytes.IndexByte(fr.buf[fr.scanned:fr.end], '\n'); i >= 0 {
			line := fr.buf[fr.start : fr.scanned+i]
			fr.start = fr.scanned + i + 1
			fr.scanned = fr.start
			return line, nil
		}
		fr.scanned = fr.end
		if fr.end-fr.start >= frameReaderMax {
			fr.err = fmt.Errorf("%w (no newline within %d bytes)", ErrFrameTooLarge, MaxFrameSize)
			return nil, fr.err
		}
		if err := fr.pending; err != nil {
			fr.pending = nil
			if !errors.Is(err, io.EOF) {
				return nil, err // a deadline, say: the next call resumes
			}
			if fr.end > fr.start {
				fr.err = fmt.Errorf("connection closed in the middle of a frame: %w", io.ErrUnexpectedEOF)
			} else {
				fr.err = io.EOF
			}
			return nil, fr.err
		}
		if fr.end == len(fr.buf) {
			fr.makeRoom()
		}
		n, err := fr.r.Read(fr.buf[fr.end:])
		fr.end += n
		fr.pending = err // looked at after the new bytes
	}
}

// makeRoom moves unread data to the front of the buffer or grows it, up
// to frameReaderMax.
func (fr *frameReader) makeRoom() {
	if fr.start > 0 {
		n := copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.scanned -= fr.start
		fr.start, fr.end = 0, n
		if n < len(fr.buf) {
			return
		}
	}
	size := min(max(2*len(fr.buf), 4096), frameReaderMax)
	grown := make([]byte, size)
	copy(grown, fr.buf[:fr.end])
	fr.buf = grown
}

// ipcConn is one side of a connection: a frame reader and a serialised writer.
type ipcConn struct {
	c   net.Conn
	r   *frameReader
	wmu sync.Mutex
}

func newIPCConn(c net.Conn) *ipcConn { return &ipcConn{c: c, r: newFrameReader(c)} }

// write sends an encoded frame, giving up after timeout.
func (c *ipcConn) write(line []byte, timeout time.Duration) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := c.c.Write(line)
	return err
}

func (c *ipcConn) writeFrame(f Frame, timeout time.Duration) error {
	line, err := EncodeFrame(f)
	if err != nil {
		return err
	}
	return c.write(line, timeout)
}

// Server defaults.
const (
	ipcPingInterval   = 30 * time.Second
	ipcHelloTimeout   = 10 * time.Second
	ipcWriteTimeout   = 5 * time.Second
	ipcMaxConns       = 1024 // open connections in all
	ipcMaxConnsPerUID = 8    // open connections of one peer uid, hello or not
	// A notifier sends a media frame when what it sees changes (it probes
	// every few seconds) and every MediaTTL/3 to keep it alive: a burst of
	// ipcMediaBurst frames is allowed per user (all the user's
	// connections together, so that more connections buy nothing), then
	// one per ipcMediaEvery (30 a minute). A connection that sends more is
	// closed.
	ipcMediaBurst = 20
	ipcMediaEvery = 2 * time.Second
	// ipcLogEvery: of the refusals of one reason, the first and then every
	// ipcLogEvery-th are logged (all are counted, see Server.Refused).
	ipcLogEvery = 100
)

// Reasons a media frame or a use in it is refused (Server.Refused).
const (
	// RefusedMediaRate: the user's media frames came faster than the budget.
	RefusedMediaRate = "media_rate"
	// RefusedMediaForeignPID: a use named a process that is not the
	// connecting user's (or that does not exist).
	RefusedMediaForeignPID = "media_foreign_pid"
)

// mediaBucket is the media frame budget of one user (token bucket): it
// refills at one frame per ipcMediaEvery up to ipcMediaBurst frames.
type mediaBucket struct {
	budget time.Duration
	at     time.Time
}

func (b *mediaBucket) allow(now time.Time) bool {
	const full = ipcMediaBurst * ipcMediaEvery
	if b.at.IsZero() {
		b.budget = full
	} else {
		b.budget = min(full, b.budget+now.Sub(b.at))
	}
	b.at = now
	if b.budget < ipcMediaEvery {
		return false
	}
	b.budget -= ipcMediaEvery
	return true
}

// Session is a connected, introduced notifier.
type Session struct {
	// UID is the user (on Windows: the session id), as the OS reports it
	// for the connecting process and the hello confirmed.
	UID int
	// Session is the login session name from the hello.
	Session string
	// Lang is the user's language from the hello.
	Lang string
	// PID is the notifier's process id, 0 when unknown.
	PID int
	// User is the Windows SID of the notifier's user; "" elsewhere.
	User string
	// Since is when the notifier connected.
	Since time.Time
}

// ID names the session among all: the uid and the login session name.
func (s Session) ID() string { return strconv.Itoa(s.UID) + "/" + s.Session }

type sessionKey struct {
	uid     int
	session string
}

// serverConn is one accepted connection.
type serverConn struct {
	*ipcConn
	peer    peerInfo
	session Session // set when registered
	key     sessionKey
	// media: the connection reported media (OnMedia is told when it
	// ends).
	media bool
}

// allowMedia spends one media frame from the budget of the connection's
// user.
func (s *Server) allowMedia(uid int, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mediaBuckets == nil {
		s.mediaBuckets = make(map[int]*mediaBucket)
	}
	b := s.mediaBuckets[uid]
	if b == nil {
		b = &mediaBucket{}
		s.mediaBuckets[uid] = b
	}
	return b.allow(now)
}

// refused counts a refusal and reports whether to log it (the first, then
// every ipcLogEvery-th of its reason).
func (s *Server) refused(reason string, n int) (log bool, total uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refusals == nil {
		s.refusals = make(map[string]uint64)
	}
	before := s.refusals[reason]
	s.refusals[reason] = before + uint64(n)
	return before == 0 || before/ipcLogEvery != (before+uint64(n))/ipcLogEvery, before + uint64(n)
}

// Refused returns how many media frames (RefusedMediaRate) and uses
// (RefusedMediaForeignPID) were refused, by reason.
func (s *Server) Refused() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.refusals)
}

// Refused returns the refusals of the service's notifier socket (see
// Server.Refused); none without a server.
func (s *Service) Refused() map[string]uint64 {
	if s.Server == nil {
		return nil
	}
	return s.Server.Refused()
}

// ownMedia keeps the uses of processes the session's user owns (and those
// with no process, pid 0: a device in use by an unknown process, which
// the user's session may report). A use naming another user's process,
// or one that does not exist, is dropped and counted: a user may not make
// another user's app appear to use the camera.
func (s *Server) ownMedia(sess Session, ms []MediaWire) (kept []MediaWire, dropped int) {
	owner := s.ProcessOwner
	if owner == nil {
		owner = ProcessOwner
	}
	kept = make([]MediaWire, 0, len(ms))
	for _, m := range ms {
		if m.PID != 0 {
			if uid, err := owner(int(m.PID)); err != nil || uid != sess.UID {
				dropped++
				continue
			}
		}
		kept = append(kept, m)
	}
	return kept, dropped
}

// peerInfo is who the OS says is on the other end of a connection.
type peerInfo struct {
	UID  int    // uid on unix, session id on Windows
	PID  int    // 0 when unknown
	User string // Windows SID
}

// Server is the service's side: it accepts notifiers, checks who they
// are, and sends them notices. The zero value is ready for Listen then
// Serve; the optional fields must be set before Listen. A Server is used
// once: after Close or the end of Serve it does not listen again.
type Server struct {
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// OnShown, if set, is called when a notifier acknowledges a notice. It
	// runs on the connection's goroutine: it must not block for long. It
	// may call Send.
	OnShown func(s Session, key string)
	// OnMedia, if set, is called with the cameras and microphones in use
	// that a notifier reports from its session (validated, at most
	// MaxMediaUses), and with nil when that notifier disconnects, so its
	// report goes at once. The uses belong to s.UID, the peer uid the OS
	// reported (see MediaUses). It runs on the connection's goroutine: it
	// must not block for long. Without it media frames are ignored.
	OnMedia func(s Session, media []MediaWire)
	// ProcessOwner returns the uid (on Windows: the session id) owning a
	// process; a media use is passed to OnMedia only when its process is
	// the reporting user's. nil means the package's ProcessOwner.
	ProcessOwner func(pid int) (int, error)
	// PingInterval is how often connected notifiers are pinged, to find
	// dead connections; 0 means 30 s.
	PingInterval time.Duration
	// HelloTimeout is how long a new connection may take to say hello;
	// 0 means 10 s.
	HelloTimeout time.Duration
	// WriteTimeout bounds one write to a notifier; 0 means 5 s.
	WriteTimeout time.Duration

	mu       sync.Mutex
	ln       net.Listener
	path     string
	serving  bool
	closed   bool
	conns    map[*serverConn]struct{}
	perUID   map[int]int
	sessions map[sessionKey]*serverConn
	// mediaBuckets: the media frame budget of each peer uid, kept across
	// its connections (reconnecting does not refill it).
	mediaBuckets map[int]*mediaBucket
	refusals     map[string]uint64
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) writeTimeout() time.Duration {
	return cmp.Or(s.WriteTimeout, ipcWriteTimeout)
}

// Listen opens the socket (Linux, macOS) or named pipe (Windows) at path,
// DefaultPath when path is "". On unix it creates the directory (0755)
// if needed, refuses a directory others can write to, removes a stale
// socket nobody answers on and makes the socket 0666: who may talk is
// decided per connection from the peer's credentials.
func (s *Server) Listen(path string) error {
	if path == "" {
		path = DefaultPath
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("notify: listen on %s: %w", path, net.ErrClosed)
	}
	if s.ln != nil {
		return fmt.Errorf("notify: listen on %s: already listening on %s", path, s.path)
	}
	ln, err := ipcListen(path, s.logger())
	if err != nil {
		return fmt.Errorf("notify: listen on %s: %w", path, err)
	}
	s.ln, s.path = ln, path
	return nil
}

// Addr returns the path the server listens on, "" before Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path
}

// Serve accepts notifiers until ctx is cancelled or Close is called, then
// closes every connection, waits for all its goroutines and returns nil.
// It returns an error if Listen was not called or accepting fails for
// good.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	switch {
	case s.closed:
		s.mu.Unlock()
		return fmt.Errorf("notify: serve: %w", net.ErrClosed)
	case ln == nil:
		s.mu.Unlock()
		return errors.New("notify: serve: Listen was not called")
	case s.serving:
		s.mu.Unlock()
		return errors.New("notify: serve: already serving")
	}
	s.serving = true
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ctx.Done()
		s.Close()
	})
	wg.Go(func() { s.pingLoop(ctx) })

	log := s.logger()
	var serveErr error
	delay := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				break
			}
			if errors.Is(err, net.ErrClosed) {
				serveErr = fmt.Errorf("notify: accept on %s: %w", s.Addr(), err)
				break
			}
			// Out of file descriptors and the like: wait and retry.
			delay = min(max(2*delay, 10*time.Millisecond), time.Second)
			log.Warn("notify: accept failed; retrying", "path", s.Addr(), "error", err, "retry_in", delay)
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		sc := &serverConn{ipcConn: newIPCConn(c)}
		if !s.track(sc) {
			log.Warn("notify: too many notifier connections; closing a new one", "max", ipcMaxConns)
			c.Close()
			continue
		}
		wg.Go(func() { s.handle(sc) })
	}
	cancel()
	s.Close()
	wg.Wait()
	return serveErr
}

// Close stops listening and closes every connection. Serve returns once
// its goroutines have ended. Close may be called more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ln := s.ln
	conns := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	s.mu.Unlock()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	for _, sc := range conns {
		sc.c.Close()
	}
	if err != nil {
		return fmt.Errorf("notify: close %s: %w", s.Addr(), err)
	}
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track adds a new connection, false if the server is closed or full.
func (s *Server) track(sc *serverConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.conns) >= ipcMaxConns {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[*serverConn]struct{})
		s.perUID = make(map[int]int)
		s.sessions = make(map[sessionKey]*serverConn)
	}
	s.conns[sc] = struct{}{}
	return true
}

// handle runs one connection: identify, hello, register, then read
// acknowledgements until it ends.
func (s *Server) handle(sc *serverConn) {
	log := s.logger()
	counted := false
	defer func() {
		sc.c.Close()
		s.mu.Lock()
		delete(s.conns, sc)
		if counted {
			if s.perUID[sc.peer.UID]--; s.perUID[sc.peer.UID] <= 0 {
				delete(s.perUID, sc.peer.UID)
			}
		}
		registered := s.sessions[sc.key] == sc
		if registered {
			delete(s.sessions, sc.key)
		}
		s.mu.Unlock()
		if registered {
			log.Info("notify: notifier disconnected", "uid", sc.session.UID, "session", sc.session.Session)
			if sc.media && s.OnMedia != nil {
				s.OnMedia(sc.session, nil)
			}
		}
	}()

	peer, err := peerIdentity(sc.c)
	if err != nil {
		log.Warn("notify: cannot identify the connecting process; closing", "error", err)
		return
	}
	sc.peer = peer
	log = log.With("peer_uid", peer.UID, "peer_pid", peer.PID)
	if peer.User != "" {
		log = log.With("peer_user", peer.User)
	}
	s.mu.Lock()
	if s.perUID[peer.UID] >= ipcMaxConnsPerUID {
		s.mu.Unlock()
		log.Warn("notify: too many connections from one user; closing", "max", ipcMaxConnsPerUID)
		return
	}
	s.perUID[peer.UID]++
	counted = true
	s.mu.Unlock()

	if err := sc.c.SetReadDeadline(time.Now().Add(cmp.Or(s.HelloTimeout, ipcHelloTimeout))); err != nil {
		return
	}
	line, err := sc.r.next()
	if err != nil {
		s.refuse(sc, log, fmt.Sprintf("no hello: %v", err))
		return
	}
	f, err := DecodeFrame(line)
	if err != nil {
		s.refuse(sc, log, err.Error())
		return
	}
	if f.Type != FrameHello {
		s.refuse(sc, log, fmt.Sprintf("expected a hello frame first, got %q", f.Type))
		return
	}
	if f.Hello.UID != peer.UID {
		s.refuse(sc, log.With("claimed_uid", f.Hello.UID),
			fmt.Sprintf("hello claims uid %d but the connecting process runs as uid %d", f.Hello.UID, peer.UID))
		return
	}
	_ = sc.c.SetReadDeadline(time.Time{})

	sc.key = sessionKey{uid: peer.UID, session: f.Hello.Session}
	sc.session = Session{UID: peer.UID, Session: f.Hello.Session, Lang: f.Hello.Lang, PID: peer.PID, User: peer.User, Since: time.Now()}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	old := s.sessions[sc.key]
	s.sessions[sc.key] = sc
	s.mu.Unlock()
	if old != nil {
		log.Info("notify: notifier reconnected; closing its previous connection", "uid", peer.UID, "session", f.Hello.Session, "old_pid", old.peer.PID)
		old.c.Close()
	}
	if err := sc.writeFrame(Frame{Type: FrameWelcome}, s.writeTimeout()); err != nil {
		log.Warn("notify: cannot welcome the notifier", "error", err)
		return
	}
	log.Info("notify: notifier connected", "uid", peer.UID, "session", f.Hello.Session, "lang", f.Hello.Lang)

	for {
		line, err := sc.r.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Warn("notify: notifier connection failed", "error", err)
			}
			return
		}
		f, err := DecodeFrame(line)
		if err != nil {
			log.Warn("notify: bad frame from the notifier; closing", "error", err)
			return
		}
		switch f.Type {
		case FrameShown:
			if s.OnShown != nil {
				s.OnShown(sc.session, f.Key)
			}
		case FrameMedia:
			if !s.allowMedia(sc.peer.UID, time.Now()) {
				if logIt, total := s.refused(RefusedMediaRate, 1); logIt {
					log.Warn("notify: notifier sends media reports too fast; closing", "max_per_minute", int(time.Minute/ipcMediaEvery), "burst", ipcMediaBurst, "refused_total", total)
				}
				return
			}
			s.mu.Lock()
			current := s.sessions[sc.key] == sc // not replaced by a reconnection
			s.mu.Unlock()
			if current && s.OnMedia != nil {
				ms, dropped := s.ownMedia(sc.session, f.Media)
				if dropped > 0 {
					if logIt, total := s.refused(RefusedMediaForeignPID, dropped); logIt {
						log.Warn("notify: media report names processes that are not the user's; those uses are ignored", "dropped", dropped, "refused_total", total)
					}
				}
				sc.media = true
				s.OnMedia(sc.session, ms)
			}
		default:
			log.Warn("notify: unexpected frame from the notifier; closing", "type", f.Type)
			return
		}
	}
}

// refuse tells the notifier why (best effort) and logs it; the caller
// closes the connection.
func (s *Server) refuse(sc *serverConn, log *slog.Logger, reason string) {
	if len(reason) > wireMaxReason {
		reason = reason[:wireMaxReason]
	}
	reason = strings.ToValidUTF8(reason, "?")
	log.Warn("notify: notifier refused", "reason", reason)
	_ = sc.writeFrame(Frame{Type: FrameRefused, Reason: reason}, time.Second)
}

// pingLoop pings every session; a failed write closes the connection.
func (s *Server) pingLoop(ctx context.Context) {
	t := time.NewTicker(cmp.Or(s.PingInterval, ipcPingInterval))
	defer t.Stop()
	line, _ := EncodeFrame(Frame{Type: FramePing})
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, sc := range s.targets(func(sessionKey) bool { return true }) {
			s.deliver(sc, line)
		}
	}
}

// targets returns the registered connections that match.
func (s *Server) targets(match func(sessionKey) bool) []*serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*serverConn
	for k, sc := range s.sessions {
		if match(k) {
			out = append(out, sc)
		}
	}
	return out
}

// deliver writes a frame to one session; on failure it closes the
// connection (its goroutine then unregisters it).
func (s *Server) deliver(sc *serverConn, line []byte) error {
	if err := sc.write(line, s.writeTimeout()); err != nil {
		s.logger().Warn("notify: write to notifier failed; closing", "uid", sc.session.UID, "session", sc.session.Session, "error", err)
		sc.c.Close()
		return fmt.Errorf("uid %d session %q: %w", sc.session.UID, sc.session.Session, err)
	}
	return nil
}

// Send delivers n to every connected session of the user uid. It fails
// with ErrNoSession when none is connected, and with the write errors
// when no session got it.
func (s *Server) Send(uid int, n NoticeWire) error {
	return s.send(n, fmt.Sprintf("uid %d", uid), func(k sessionKey) bool { return k.uid == uid })
}

// Broadcast delivers n to every connected session. It fails with
// ErrNoSession when none is connected, and with the write errors when no
// session got it.
func (s *Server) Broadcast(n NoticeWire) error {
	return s.send(n, "any user", func(sessionKey) bool { return true })
}

func (s *Server) send(n NoticeWire, who string, match func(sessionKey) bool) error {
	line, err := EncodeFrame(Frame{Type: FrameNotice, Notice: n})
	if err != nil {
		return fmt.Errorf("notify: send to %s: %w", who, err)
	}
	targets := s.targets(match)
	if len(targets) == 0 {
		return fmt.Errorf("notify: send to %s: %w", who, ErrNoSession)
	}
	var errs []error
	for _, sc := range targets {
		if err := s.deliver(sc, line); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == len(targets) {
		return fmt.Errorf("notify: send to %s: %w", who, errors.Join(errs...))
	}
	return nil
}

// Sessions returns the connected sessions, ordered by uid and session.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	out := make([]Session, 0, len(s.sessions))
	for _, sc := range s.sessions {
		out = append(out, sc.session)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Session) int {
		return cmp.Or(cmp.Compare(a.UID, b.UID), cmp.Compare(a.Session, b.Session))
	})
	return out
}

// Client is the notifier's side of the connection. Next and Hello may
// not be called concurrently with each other; Ack may be called from
// another goroutine.
type Client struct {
	*ipcConn
	path   string
	rmu    sync.Mutex
	closed chan struct{}
	once   sync.Once
}

// Dial connects to the service at path (DefaultPath when ""). When the
// service is not running the error wraps ErrServiceNotRunning and says
// where it looked; the notifier should retry with a backoff.
func Dial(ctx context.Context, path string) (*Client, error) {
	if path == "" {
		path = DefaultPath
	}
	c, err := ipcDial(ctx, path)
	if err != nil {
		return nil, err
	}
	return &Client{ipcConn: newIPCConn(c), path: path, closed: make(chan struct{})}, nil
}

// Hello introduces the notifier and waits for the service's answer. A
// refusal wraps ErrRefused with the service's reason; the connection is
// then unusable.
func (c *Client) Hello(ctx context.Context, h Hello) error {
	if err := c.send(Frame{Type: FrameHello, Hello: h}); err != nil {
		return err
	}
	for {
		f, err := c.read(ctx)
		if err != nil {
			return err
		}
		switch f.Type {
		case FrameWelcome:
			return nil
		case FramePing:
		case FrameRefused:
			return fmt.Errorf("%w: %s", ErrRefused, f.Reason)
		default:
			return fmt.Errorf("notify: %w: %s frame before the service answered the hello", ErrBadFrame, f.Type)
		}
	}
}

// Next waits for the next notice. It returns ctx.Err() when ctx ends
// (the connection stays usable), an error wrapping ErrServiceGone when
// the service hangs up, and an ErrBadFrame or ErrFrameTooLarge error if
// the service sends something invalid. On any error but ctx's the
// notifier should Close and redial.
func (c *Client) Next(ctx context.Context) (NoticeWire, error) {
	for {
		f, err := c.read(ctx)
		if err != nil {
			return NoticeWire{}, err
		}
		switch f.Type {
		case FrameNotice:
			return f.Notice, nil
		case FramePing:
		case FrameRefused:
			return NoticeWire{}, fmt.Errorf("%w: %s", ErrRefused, f.Reason)
		default:
			return NoticeWire{}, fmt.Errorf("notify: %w: unexpected %s frame from the service", ErrBadFrame, f.Type)
		}
	}
}

// Ack tells the service that the notice with key was shown.
func (c *Client) Ack(key string) error {
	return c.send(Frame{Type: FrameShown, Key: key})
}

// Media reports the cameras and microphones in use as this session sees
// them (see MediaToWire); the service keeps the report for MediaTTL. It
// may be called from another goroutine than Next.
func (c *Client) Media(ms []MediaWire) error {
	return c.send(Frame{Type: FrameMedia, Media: ms})
}

// Close closes the connection; a blocked Next returns net.ErrClosed.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		close(c.closed)
		err = c.c.Close()
	})
	return err
}

func (c *Client) send(f Frame) error {
	if err := c.writeFrame(f, ipcWriteTimeout); err != nil {
		return c.connError("send "+f.Type, err)
	}
	return nil
}

// read reads one frame, interruptible by ctx without losing data.
func (c *Client) read(ctx context.Context) (Frame, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.c.SetReadDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	line, err := c.r.next()
	if !stop() {
		<-interrupted
		_ = c.c.SetReadDeadline(time.Time{})
		if err != nil && isIPCTimeout(err) {
			return Frame{}, ctx.Err()
		}
	}
	if err != nil {
		return Frame{}, c.connError("read", err)
	}
	f, err := DecodeFrame(line)
	if err != nil {
		return Frame{}, fmt.Errorf("notify: from the service: %w", err)
	}
	return f, nil
}

// isIPCTimeout reports a read interrupted by its deadline.
func isIPCTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func (c *Client) connError(op string, err error) error {
	select {
	case <-c.closed:
		return fmt.Errorf("notify: %s: %w", op, net.ErrClosed)
	default:
	}
	if errors.Is(err, ErrFrameTooLarge) {
		return fmt.Errorf("notify: %s from the service: %w", op, err)
	}
	return fmt.Errorf("%w (%s): %s: %v", ErrServiceGone, c.path, op, err)
}
