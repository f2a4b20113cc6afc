package localipc

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// maxPrefix is the longest size prefix of a frame: the varint of
// MaxFrameSize.
var maxPrefix = protowire.SizeVarint(MaxFrameSize)

var marshal = proto.MarshalOptions{Deterministic: true}

// EncodeFrame validates f and returns it as sent: its size as a varint,
// then the IpcFrame.
func EncodeFrame(f Frame) ([]byte, error) {
	pb, err := frameToProto(f)
	if err == nil {
		err = validateFrame(pb)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s frame: %w: %w", f.Type, ErrBadFrame, err)
	}
	size := marshal.Size(pb)
	if size > MaxFrameSize {
		return nil, fmt.Errorf("encode %s frame: %w (%d bytes)", f.Type, ErrFrameTooLarge, size)
	}
	b := protowire.AppendVarint(make([]byte, 0, maxPrefix+size), uint64(size))
	b, err = marshal.MarshalAppend(b, pb)
	if err != nil {
		return nil, fmt.Errorf("encode %s frame: %w", f.Type, err)
	}
	return b, nil
}

// DecodeFrame parses one frame (without its size prefix) and checks it.
// Errors wrap ErrBadFrame or ErrFrameTooLarge and name the field at fault.
// Input is untrusted: it comes from another local user's process.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) > MaxFrameSize {
		return Frame{}, fmt.Errorf("%w (%d bytes)", ErrFrameTooLarge, len(b))
	}
	var pb vcguardv1.IpcFrame
	if err := proto.Unmarshal(b, &pb); err != nil {
		return Frame{}, fmt.Errorf("%w: not a vcguard.v1.IpcFrame: %v", ErrBadFrame, err)
	}
	if err := validateFrame(&pb); err != nil {
		return Frame{}, fmt.Errorf("%w: %s frame: %w", ErrBadFrame, frameType(&pb), err)
	}
	return frameFromProto(&pb), nil
}

func frameType(pb *vcguardv1.IpcFrame) string {
	switch pb.Body.(type) {
	case *vcguardv1.IpcFrame_Hello:
		return FrameHello
	case *vcguardv1.IpcFrame_Welcome:
		return FrameWelcome
	case *vcguardv1.IpcFrame_Refused:
		return FrameRefused
	case *vcguardv1.IpcFrame_Notice:
		return FrameNotice
	case *vcguardv1.IpcFrame_Ping:
		return FramePing
	case *vcguardv1.IpcFrame_Shown:
		return FrameShown
	case *vcguardv1.IpcFrame_Media:
		return FrameMedia
	case *vcguardv1.IpcFrame_NotShown:
		return FrameNotShown
	}
	return "empty"
}

// frameToProto converts f; it fails only for values the protocol cannot
// carry at all (an unknown type, a negative number).
func frameToProto(f Frame) (*vcguardv1.IpcFrame, error) {
	pb := &vcguardv1.IpcFrame{}
	switch f.Type {
	case FrameHello:
		if f.Hello.UID < 0 || f.Hello.UID > maxUID {
			return nil, fieldError("hello.uid", "%d is out of range (0 to %d)", f.Hello.UID, maxUID)
		}
		pb.Body = &vcguardv1.IpcFrame_Hello{Hello: &vcguardv1.IpcHello{Uid: uint32(f.Hello.UID), Lang: f.Hello.Lang, Session: f.Hello.Session}}
	case FrameWelcome:
		pb.Body = &vcguardv1.IpcFrame_Welcome{Welcome: &vcguardv1.IpcWelcome{}}
	case FrameRefused:
		pb.Body = &vcguardv1.IpcFrame_Refused{Refused: &vcguardv1.IpcRefused{Reason: f.Reason}}
	case FrameNotice:
		if f.Notice.GraceSeconds < 0 || f.Notice.GraceSeconds > maxGrace {
			return nil, fieldError("notice.grace_seconds", "%d is out of range (0 to %d)", f.Notice.GraceSeconds, maxGrace)
		}
		if err := noticeKindsKnown(f.Notice); err != nil {
			return nil, err
		}
		pb.Body = &vcguardv1.IpcFrame_Notice{Notice: noticeToProto(f.Notice).GetNotice()}
	case FramePing:
		pb.Body = &vcguardv1.IpcFrame_Ping{Ping: &vcguardv1.IpcPing{}}
	case FrameShown:
		pb.Body = &vcguardv1.IpcFrame_Shown{Shown: &vcguardv1.IpcShown{Key: f.Key}}
	case FrameNotShown:
		pb.Body = &vcguardv1.IpcFrame_NotShown{NotShown: &vcguardv1.IpcNotShown{Key: f.Key, Reason: f.Reason}}
	case FrameMedia:
		for i, m := range f.Media {
			if m.PID < 0 {
				return nil, fieldError(fmt.Sprintf("media.uses[%d].pid", i), "%d is out of range (0 to %d)", m.PID, math.MaxInt32)
			}
		}
		pb = mediaToProto(f.Media)
	case "":
		return nil, fieldError("type", "missing")
	default:
		return nil, fieldError("type", "unknown frame type %q", f.Type)
	}
	return pb, nil
}

// noticeToProto wraps n in a frame (negative grace seconds become 0; the
// callers that care check them first). A verdict or action that is none
// of package policies' becomes the unspecified value, which validation
// refuses; a finding kind that is none of theirs would become "no
// finding", so the callers check them first (noticeKindsKnown).
func noticeToProto(n Notice) *vcguardv1.IpcFrame {
	return &vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_Notice{Notice: &vcguardv1.IpcNotice{
		Key: n.Key, AppId: n.AppID, AppName: n.AppName, PolicyVerdict: n.Verdict.Proto(), PolicyAction: n.Action.Proto(),
		GraceSeconds: uint32(max(0, min(n.GraceSeconds, math.MaxUint32))), Alternative: n.Alternative, AlternativeName: n.AlternativeName,
		Note: n.Note.Plain(), Notes: notesToProto(n.Note), InfoUrl: n.InfoURL, Version: n.Version, MinVersion: n.MinVersion, Facts: factsToProto(n.Facts),
		MediaFinding: n.MediaFinding.Proto(), DeviceKind: n.DeviceKind, Process: n.Process,
		ConnectionFinding: n.ConnectionFinding.Proto(), ConnectionDetail: n.ConnectionDetail,
		SiteFinding: n.SiteFinding.Proto(), SiteServices: n.SiteServices,
		PostureFinding: n.PostureFinding.Proto(), PostureDetail: n.PostureDetail,
		EmbeddedServices: n.EmbeddedServices,
	}}}
}

// noticeKindsKnown refuses a finding kind that package policies does not
// pair with a wire value: encoded, it would vanish (the unspecified value
// means "no such finding") and the notice would read as another kind.
func noticeKindsKnown(n Notice) error {
	switch {
	case n.MediaFinding != "" && n.MediaFinding.Proto() == vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNSPECIFIED:
		return fieldError("notice.media_finding", "%q is not a finding this version knows", n.MediaFinding)
	case n.ConnectionFinding != "" && n.ConnectionFinding.Proto() == vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_UNSPECIFIED:
		return fieldError("notice.connection_finding", "%q is not a finding this version knows", n.ConnectionFinding)
	case n.SiteFinding != "" && n.SiteFinding.Proto() == vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNSPECIFIED:
		return fieldError("notice.site_finding", "%q is not a finding this version knows", n.SiteFinding)
	case n.PostureFinding != "" && n.PostureFinding.Proto() == vcguardv1.PostureKind_POSTURE_KIND_UNSPECIFIED:
		return fieldError("notice.posture_finding", "%q is not a finding this version knows", n.PostureFinding)
	}
	return nil
}

func noticeFromProto(pb *vcguardv1.IpcNotice) Notice {
	return Notice{
		Key: pb.Key, AppID: pb.AppId, AppName: pb.AppName,
		Verdict: verdictFromProto(pb.PolicyVerdict), Action: policies.ActionFromProto(pb.PolicyAction),
		GraceSeconds: int(pb.GraceSeconds), Alternative: pb.Alternative, AlternativeName: pb.AlternativeName,
		Note: noteFromProto(pb), InfoURL: pb.InfoUrl, Version: pb.Version, MinVersion: pb.MinVersion, Facts: factsFromProto(pb.Facts),
		MediaFinding: policies.MediaFindingKindFromProto(pb.MediaFinding), DeviceKind: pb.DeviceKind, Process: pb.Process,
		ConnectionFinding: connectionFindingFromProto(pb.ConnectionFinding), ConnectionDetail: pb.ConnectionDetail,
		SiteFinding: siteFindingFromProto(pb.SiteFinding), SiteServices: pb.SiteServices,
		PostureFinding: policies.PostureKindFromProto(pb.PostureFinding), PostureDetail: pb.PostureDetail,
		EmbeddedServices: pb.EmbeddedServices,
	}
}

// verdictFromProto returns the verdict of a validated notice: "" when it
// gives none (a notice about a device use, a server, an account or sites
// may leave it out), not policies' "unknown".
func verdictFromProto(p vcguardv1.Verdict) policies.Verdict {
	if p == vcguardv1.Verdict_VERDICT_UNSPECIFIED {
		return ""
	}
	return policies.VerdictFromProto(p)
}

// connectionFindingFromProto returns the kind of a validated notice: ""
// when it has none (policies' own mapping says "unknown" for the
// unspecified value).
func connectionFindingFromProto(p vcguardv1.ConnectionFindingKind) policies.ConnectionFindingKind {
	if p == vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_UNSPECIFIED {
		return ""
	}
	return policies.ConnectionFindingKindFromProto(p)
}

// siteFindingFromProto returns the kind of a validated notice: "" when it
// has none.
func siteFindingFromProto(p vcguardv1.SiteFindingKind) policies.SiteFindingKind {
	if p == vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNSPECIFIED {
		return ""
	}
	return policies.SiteFindingKindFromProto(p)
}

// notesToProto returns the texts of a note given per language, in the
// order of policies.NoteLanguages; none for a plain note.
func notesToProto(n policies.Note) []*vcguardv1.IpcNoteText {
	texts := n.Texts()
	var out []*vcguardv1.IpcNoteText
	for _, lang := range policies.NoteLanguages {
		if t, ok := texts[lang]; ok {
			out = append(out, &vcguardv1.IpcNoteText{Lang: lang, Text: t})
		}
	}
	return out
}

// noteFromProto returns the note of a validated notice.
func noteFromProto(pb *vcguardv1.IpcNotice) policies.Note {
	if len(pb.Notes) == 0 {
		return policies.PlainNote(pb.Note)
	}
	texts := make(map[string]string, len(pb.Notes))
	for _, t := range pb.Notes {
		texts[t.Lang] = t.Text
	}
	// Validated: languages known, once each, texts bounded; a text the
	// IPC accepts and the policy would not (only white space) leaves
	// the note out rather than the notice.
	n, err := policies.NoteByLanguage(texts)
	if err != nil {
		return policies.Note{}
	}
	return n
}

// mediaToProto wraps ms in a frame. A kind or source that is not one of
// MediaKinds or MediaSources becomes the unspecified value, which
// validation refuses.
func mediaToProto(ms []MediaUse) *vcguardv1.IpcFrame {
	uses := make([]*vcguardv1.IpcMediaUse, 0, len(ms))
	for _, m := range ms {
		uses = append(uses, &vcguardv1.IpcMediaUse{
			Kind: vcguardv1.IpcMediaKind(slices.Index(MediaKinds, m.Kind) + 1), Device: m.Device,
			Pid: uint32(max(m.PID, 0)), Process: m.Process, Source: vcguardv1.IpcMediaSource(slices.Index(MediaSources, m.Source) + 1),
		})
	}
	return &vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_Media{Media: &vcguardv1.IpcMedia{Uses: uses}}}
}

// frameFromProto converts a validated frame.
func frameFromProto(pb *vcguardv1.IpcFrame) Frame {
	f := Frame{Type: frameType(pb)}
	switch b := pb.Body.(type) {
	case *vcguardv1.IpcFrame_Hello:
		f.Hello = Hello{UID: int(b.Hello.Uid), Lang: b.Hello.Lang, Session: b.Hello.Session}
	case *vcguardv1.IpcFrame_Refused:
		f.Reason = b.Refused.Reason
	case *vcguardv1.IpcFrame_Notice:
		f.Notice = noticeFromProto(b.Notice)
	case *vcguardv1.IpcFrame_Shown:
		f.Key = b.Shown.Key
	case *vcguardv1.IpcFrame_NotShown:
		f.Key, f.Reason = b.NotShown.Key, b.NotShown.Reason
	case *vcguardv1.IpcFrame_Media:
		f.Media = make([]MediaUse, 0, len(b.Media.Uses))
		for _, u := range b.Media.Uses {
			f.Media = append(f.Media, MediaUse{
				Kind: MediaKinds[u.Kind-1], Device: u.Device, PID: int32(u.Pid), Process: u.Process, Source: MediaSources[u.Source-1],
			})
		}
	}
	return f
}

// factsToProto is the facts a notice carries. A catalog note longer than
// a frame allows (lenFact) is clipped: the notice must reach the person
// whatever the catalog's notes say (a 659-byte note once made every Zoom
// notice fail to encode); the dashboard shows the whole note.
func factsToProto(f *policies.Facts) *vcguardv1.IpcFacts {
	if f == nil {
		return nil
	}
	text := func(x *policies.Fact[string]) *vcguardv1.IpcTextFact {
		if x == nil {
			return nil
		}
		return &vcguardv1.IpcTextFact{Value: x.Value, Note: clipNote(x.Note), Source: x.Source, Checked: x.Checked}
	}
	pb := &vcguardv1.IpcFacts{E2Ee: text(f.E2EE), DataLocation: text(f.DataLocation), OpenSource: text(f.OpenSource)}
	if x := f.SelfHostable; x != nil {
		pb.SelfHostable = &vcguardv1.IpcBoolFact{Value: x.Value, Note: clipNote(x.Note), Source: x.Source, Checked: x.Checked}
	}
	if x := f.Certifications; x != nil {
		pb.Certifications = &vcguardv1.IpcListFact{Value: x.Value, Note: clipNote(x.Note), Source: x.Source, Checked: x.Checked}
	}
	return pb
}

// clipNote shortens a fact's note to at most lenFact bytes, at a character
// boundary, ending in an ellipsis.
func clipNote(s string) string {
	if len(s) <= lenFact {
		return s
	}
	const ellipsis = "…"
	cut := lenFact - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRightFunc(s[:cut], unicode.IsSpace) + ellipsis
}

func factsFromProto(pb *vcguardv1.IpcFacts) *policies.Facts {
	if pb == nil {
		return nil
	}
	text := func(x *vcguardv1.IpcTextFact) *policies.Fact[string] {
		if x == nil {
			return nil
		}
		return &policies.Fact[string]{Value: x.Value, Note: x.Note, Source: x.Source, Checked: x.Checked}
	}
	f := &policies.Facts{E2EE: text(pb.E2Ee), DataLocation: text(pb.DataLocation), OpenSource: text(pb.OpenSource)}
	if x := pb.SelfHostable; x != nil {
		f.SelfHostable = &policies.Fact[bool]{Value: x.Value, Note: x.Note, Source: x.Source, Checked: x.Checked}
	}
	if x := pb.Certifications; x != nil {
		// An empty list is "none", not unknown: keep it non-nil.
		f.Certifications = &policies.Fact[[]string]{Value: append([]string{}, x.Value...), Note: x.Note, Source: x.Source, Checked: x.Checked}
	}
	return f
}
