// Package ipc is the local IPC between the vcguard-agent service (root /
// SYSTEM) and the per-user notifier (`vcguard-agent notifier`, one per user
// session): the transport (a unix socket on Linux and macOS, a named pipe
// on Windows), who is on the other end (SO_PEERCRED, LOCAL_PEERCRED, the
// pipe client's token), the framing, and the messages, which are defined
// in proto/vcguard/v1/ipc.proto.
//
// Framing: each message is a vcguard.v1.IpcFrame preceded by its size as a
// varint (length-delimited protobuf), at most MaxFrameSize bytes; a larger
// size ends the connection before anything is buffered. Decoding is
// protobuf's, followed by a small semantic check (semantic.go): sizes,
// control characters, language tags, URLs, enumerations, and unknown
// fields, which are refused.
//
// The service and the notifier are one binary (vcguard-agent), so both
// sides of this protocol always change together: there is no compatibility
// shim for the newline-delimited JSON protocol it replaced, nor for older
// versions of ipc.proto.
//
// The OS-specific parts (listen, dial, peer identity, process owner) are
// in the files with an OS suffix; everything else has no build tag and is
// tested on every OS. This package knows nothing of notices' wording or of
// camera detection: the service hands notices in (Server.Deliver, which
// waits for each notifier's answer: shown, or not shown and why) and gets
// camera and microphone reports out (Server.OnMedia), which the agent
// wires to its devices watcher.
package localipc

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vcguard/vcguard/policies"
)

// MaxNotShownReason is the longest reason, in bytes, a notifier gives
// for a notice it could not display.
const MaxNotShownReason = 512

// MaxFrameSize is the largest frame, in bytes without its size prefix,
// that either side sends or accepts.
const MaxFrameSize = 64 << 10

// Frame types.
const (
	FrameHello = "hello" // notifier → service: who is connecting
	FrameShown = "shown" // notifier → service: a notice was displayed
	// FrameNotShown: notifier → service: a notice could not be displayed, and why.
	FrameNotShown = "not_shown"
	FrameWelcome  = "welcome" // service → notifier: hello accepted
	FrameRefused  = "refused" // service → notifier: hello refused, with a reason
	FrameNotice   = "notice"  // service → notifier: a notice to show
	FramePing     = "ping"    // service → notifier: liveness
	FrameMedia    = "media"   // notifier → service: cameras and microphones in use
)

// Errors. They are wrapped with the details; test with errors.Is.
var (
	// ErrBadFrame is a frame that is not valid protocol (not protobuf, an
	// unknown field, a missing or invalid value).
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
	// ErrNoSession is returned by Server.Send, Server.Broadcast and
	// Server.Deliver when no notifier is connected for the user.
	ErrNoSession = errors.New("no notifier connected")
	// ErrNoOwner is returned by ProcessOwner when the process does not
	// exist (any more) or its owner cannot be read.
	ErrNoOwner = errors.New("process owner unknown")
)

// Notice is one notification as it travels from the service to the
// notifier: what was found and what to tell the user. The notifier turns
// it into localised text (package notify); the service sends identifiers
// and facts, not sentences.
type Notice struct {
	// Key identifies the notice (app and finding); the notifier
	// answers it with Client.Ack (displayed) or Client.NotShown. Required.
	Key string
	// AppID is the catalog id of the app the finding is about. Required,
	// except in a notice about a device use by a process of no catalog app.
	AppID string
	// AppName is the app's display name.
	AppName string
	// Verdict is the policy verdict (forbidden, restricted, outdated,
	// …). Required in a notice about an app's verdict; optional in one
	// about a server, an account or a browser's sites, and "" in one about
	// a device use.
	Verdict policies.Verdict
	// Action is what the agent does (warn, block, …). Required.
	Action policies.Action
	// GraceSeconds is the time before a blocked app is closed.
	GraceSeconds int
	// Alternative is the catalog id of the app to use instead.
	Alternative string
	// AlternativeName is the alternative's display name.
	AlternativeName string
	// Note is the policy's caveat or explanation, shown as written: one
	// text for every language or one per language.
	Note policies.Note
	// InfoURL is an http or https page explaining the decision.
	InfoURL string
	// Version is the version found; MinVersion the oldest the policy allows.
	Version    string
	MinVersion string
	// Facts are the app's catalog facts, nil when unknown. They travel
	// as values, not sentences, so the notifier explains them in the
	// user's language.
	Facts *policies.Facts
	// MediaFinding is set in a notice about a camera, microphone or screen
	// use; AppID and Verdict may then be empty (a process of no catalog
	// app). DeviceKind is one of NoticeDeviceKinds ("" for left_running);
	// Process the using process's name.
	MediaFinding policies.MediaFindingKind
	DeviceKind   string
	Process      string
	// ConnectionFinding is set in a notice about an approved app's server
	// or account (wrong_server, personal_account); AppID is then required.
	// ConnectionDetail is the server host, or the account's domain or
	// tenant, at fault: printable, one line, at most MaxConnectionDetail
	// bytes, no path.
	ConnectionFinding policies.ConnectionFindingKind
	ConnectionDetail  string
	// SiteFinding is set in a notice about a browser that holds the camera
	// or microphone (unapproved_site or unknown_site; the other kinds are
	// not told); AppID is then the browser's. SiteServices are the display
	// names of the unapproved meeting services, at most MaxSiteServices,
	// and only with unapproved_site. A site notice never blocks: a policy
	// cannot close a browser for its sites.
	SiteFinding  policies.SiteFindingKind
	SiteServices []string
	// PostureFinding is set in a notice about an approved app's own
	// settings; AppID is then required. PostureDetail is what was read
	// (a value, "installed X, offered Y", a recording's file type):
	// printable, one line, at most MaxPostureDetail bytes, no path.
	PostureFinding policies.PostureKind
	PostureDetail  string
	// EmbeddedServices are, in a notice about a multi-service host's own
	// verdict, the display names of the meeting services it offers, at
	// most MaxEmbeddedServices; never in a notice about a finding of
	// another kind.
	EmbeddedServices []string
}

// Bounds of a notice's connection and site fields.
const (
	// MaxConnectionDetail is the longest connection detail in bytes: a DNS
	// name's limit, which a login domain and a tenant id stay within.
	MaxConnectionDetail = 253
	// MaxSiteServices is the most unapproved services a site notice names.
	MaxSiteServices = 8
	// MaxEmbeddedServices is the most embedded services a notice names.
	MaxEmbeddedServices = 8
	// MaxPostureDetail is the longest posture detail in bytes.
	MaxPostureDetail = 128
)

// NoticeDeviceKinds are the devices a media notice may name.
var NoticeDeviceKinds = []string{"camera", "microphone", "screen", "output_audio"}

// Validate reports the first field of n that is missing or invalid.
func (n Notice) Validate() error {
	err := noticeKindsKnown(n)
	if err == nil {
		err = validateFrame(noticeToProto(n))
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadFrame, err)
	}
	return nil
}

// MaxMediaUses is the most uses one media frame carries.
const MaxMediaUses = 64

// MediaTTL is how long the service should keep a session's media report:
// the notifier repeats it at least every MediaTTL/3, so the report of a
// notifier that hangs fades, while one that disconnects is withdrawn at
// once (OnMedia with nil).
const MediaTTL = 30 * time.Second

// Media kinds and sources a MediaUse may carry (the values of
// devices.Kind and devices.Source that a notifier reports).
var (
	MediaKinds   = []string{"camera", "microphone"}
	MediaSources = []string{"v4l2", "alsa", "pipewire", "pulseaudio", "coreaudio", "coremediaio", "consentstore"}
)

// MediaUse is one camera or microphone use as a notifier sees it from its
// user session. It carries no uid: the service attributes it to the
// session's peer uid.
type MediaUse struct {
	// Kind is one of MediaKinds. Required.
	Kind string
	// Device names the device (a CoreMediaIO or CoreAudio UID, a node
	// path…). Required.
	Device string
	// PID is the process using it; 0 when unknown.
	PID int32
	// Process is the process's executable path or name.
	Process string
	// Source is where the use was seen: one of MediaSources. Required.
	Source string
}

// Valid reports whether u can travel in a media frame.
func (u MediaUse) Valid() bool {
	return validateFrame(mediaToProto([]MediaUse{u})) == nil
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

// Frame is one decoded protocol message. Type says which other fields
// are meaningful.
type Frame struct {
	Type   string
	Hello  Hello      // FrameHello
	Notice Notice     // FrameNotice
	Key    string     // FrameShown, FrameNotShown
	Reason string     // FrameRefused, FrameNotShown
	Media  []MediaUse // FrameMedia; decoded as a non-nil list
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

// Owner names the user the session's reports belong to: the Windows SID
// where there is one, else the uid.
func (s Session) Owner() string {
	if s.User != "" {
		return s.User
	}
	return strconv.Itoa(s.UID)
}
