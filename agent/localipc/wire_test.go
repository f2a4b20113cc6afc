package localipc

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

func testMedia() []MediaUse {
	return []MediaUse{
		{Kind: "camera", Device: "0x8020000005ac8514", PID: 812, Process: "/Applications/zoom.us.app/Contents/MacOS/zoom.us", Source: "coremediaio"},
		{Kind: "camera", Device: "FaceTime HD Camera", Process: "unknown process", Source: "coremediaio"},
		{Kind: "microphone", Device: "BuiltInMicrophoneDevice", PID: 900, Source: "coreaudio"},
	}
}

func testNotice() Notice {
	return Notice{
		Key: "zoom/forbidden", AppID: "zoom", AppName: "Zoom", Verdict: "forbidden", Action: "block",
		GraceSeconds: 120, Alternative: "jitsi", AlternativeName: "Jitsi Meet",
		Note: policies.PlainNote("Use the organisation's own service.\nQuestions: IT desk."), InfoURL: "https://intra.example.org/tools",
		Version: "6.0.1", MinVersion: "6.1",
		Facts: &policies.Facts{
			E2EE:           &policies.Fact[string]{Value: "optional", Source: "https://example.org/e2ee", Checked: "2025-01-10"},
			DataLocation:   &policies.Fact[string]{Value: "outside_eu"},
			Certifications: &policies.Fact[[]string]{Value: []string{}},
		},
	}
}

func TestIPCEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, f := range []Frame{
		{Type: FrameHello, Hello: Hello{UID: 1000, Lang: "nl", Session: "2"}},
		{Type: FrameHello, Hello: Hello{UID: 0, Lang: "de_DE"}},
		{Type: FrameNotice, Notice: testNotice()},
		{Type: FrameNotice, Notice: Notice{Key: "k", AppID: "a", Verdict: "restricted", Action: "warn"}},
		// Notices about a device use: by a process of no catalog app, by
		// an app, and a meeting app left running (no device).
		{Type: FrameNotice, Notice: Notice{Key: "m1", Action: "warn", MediaFinding: "unknown_app", DeviceKind: "microphone", Process: "arecord"}},
		{Type: FrameNotice, Notice: Notice{Key: "m2", AppID: "zoom", AppName: "Zoom", Action: "block", GraceSeconds: 60, MediaFinding: "forbidden_app", DeviceKind: "camera"}},
		{Type: FrameNotice, Notice: Notice{Key: "m3", AppID: "zoom", Action: "warn", MediaFinding: "left_running"}},
		{Type: FramePing},
		{Type: FrameWelcome},
		{Type: FrameRefused, Reason: "hello claims uid 0"},
		{Type: FrameShown, Key: "zoom/forbidden"},
		{Type: FrameNotShown, Key: "zoom/forbidden", Reason: "org.freedesktop.Notifications was not provided"},
		{Type: FrameMedia, Media: testMedia()},
		{Type: FrameMedia, Media: []MediaUse{}},
		{Type: FrameMedia, Media: []MediaUse{{Kind: "camera", Device: "<cam & co>", PID: 1<<31 - 1, Process: `C:\Program Files\"x"`, Source: "consentstore"}}},
	} {
		line, err := EncodeFrame(f)
		if err != nil {
			t.Fatalf("EncodeFrame(%+v): %v", f, err)
		}
		size, n := protowire.ConsumeVarint(line)
		if n <= 0 || int(size) != len(line)-n {
			t.Fatalf("EncodeFrame(%s) = %q: want its size as a varint, then the frame", f.Type, line)
		}
		got, err := DecodeFrame(body(line))
		if err != nil {
			t.Fatalf("DecodeFrame(%s): %v", line, err)
		}
		again, err := EncodeFrame(got)
		if err != nil || !bytes.Equal(again, line) {
			t.Errorf("round trip of %s:\n got %s\nwant %s (err %v)", f.Type, again, line, err)
		}
	}
	// The certification list "none" survives (nil means unknown).
	f, _ := DecodeFrame(body(must(EncodeFrame(Frame{Type: FrameNotice, Notice: testNotice()}))))
	if c := f.Notice.Facts.Certifications; c == nil || c.Value == nil || len(c.Value) != 0 {
		t.Errorf("certifications = %#v, want an empty, non-nil list", c)
	}
	// No uses travel as an empty media message, and come back as an
	// empty, non-nil list.
	line := must(EncodeFrame(Frame{Type: FrameMedia}))
	if !bytes.Equal(line, []byte{2, 7<<3 | 2, 0}) {
		t.Errorf("media frame without uses = %x", line)
	}
	if f, err := DecodeFrame(body(line)); err != nil || f.Media == nil || len(f.Media) != 0 {
		t.Errorf("decode %x = %#v, %v; want an empty, non-nil list", line, f.Media, err)
	}
	if f, err := DecodeFrame(body(must(EncodeFrame(Frame{Type: FrameMedia, Media: testMedia()})))); err != nil || !slices.Equal(f.Media, testMedia()) {
		t.Errorf("media round trip = %+v, %v", f.Media, err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// body drops the size prefix of an encoded frame.
func body(frame []byte) []byte {
	_, n := protowire.ConsumeVarint(frame)
	return frame[n:]
}

// raw marshals a frame without any check, as a hostile client would.
func raw(f *vcguardv1.IpcFrame, extra ...byte) []byte {
	b, err := proto.Marshal(f)
	if err != nil {
		panic(err)
	}
	return append(b, extra...)
}

// unknownField is field num (a varint, 1) as protobuf encodes it.
func unknownField(num protowire.Number) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), 1)
}

func noticeFrame(edit func(n *vcguardv1.IpcNotice)) *vcguardv1.IpcFrame {
	n := &vcguardv1.IpcNotice{Key: "k", AppId: "zoom", PolicyVerdict: vcguardv1.Verdict_VERDICT_FORBIDDEN, PolicyAction: vcguardv1.Action_ACTION_WARN}
	edit(n)
	return &vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_Notice{Notice: n}}
}

func mediaFrame(uses ...*vcguardv1.IpcMediaUse) *vcguardv1.IpcFrame {
	return &vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_Media{Media: &vcguardv1.IpcMedia{Uses: uses}}}
}

func helloFrame(uid uint32, lang, session string) *vcguardv1.IpcFrame {
	return &vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_Hello{Hello: &vcguardv1.IpcHello{Uid: uid, Lang: lang, Session: session}}}
}

// camera is a valid media use; edit makes it invalid.
func camera(edit func(u *vcguardv1.IpcMediaUse)) *vcguardv1.IpcMediaUse {
	u := &vcguardv1.IpcMediaUse{Kind: vcguardv1.IpcMediaKind_IPC_MEDIA_KIND_CAMERA, Device: "FaceTime HD Camera", Pid: 812, Process: "zoom.us",
		Source: vcguardv1.IpcMediaSource_IPC_MEDIA_SOURCE_COREMEDIAIO}
	edit(u)
	return u
}

// Every way a frame can be wrong is refused with the field at fault. The
// JSON protocol's syntax errors (bad JSON, a string for a number, trailing
// data) are protobuf decoding errors or unknown fields now; fields of
// another frame type cannot be present (a oneof); a missing number is 0.
func TestIPCDecodeFrameErrors(t *testing.T) {
	t.Parallel()
	ping := &vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_Ping{Ping: &vcguardv1.IpcPing{}}}
	noop := func(*vcguardv1.IpcMediaUse) {}
	valid := raw(mediaFrame(camera(noop)))
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "field type: missing"},
		{"not protobuf", []byte("hello"), "not a vcguard.v1.IpcFrame"},
		{"truncated", valid[:len(valid)-3], "not a vcguard.v1.IpcFrame"},
		{"bad tag", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "not a vcguard.v1.IpcFrame"},
		{"unknown type", unknownField(99), "unknown field number 99 in IpcFrame"},
		{"unknown field", raw(ping, 0x12, 0x00)[:0:0], ""}, // replaced below
		{"hello uid huge", raw(helloFrame(4294967295, "nl", "")), "field hello.uid: 4294967295 is out of range"},
		{"hello without lang", raw(helloFrame(1, "", "")), "field hello.lang: missing or empty"},
		{"hello bad lang", raw(helloFrame(1, "nl;rm -rf", "")), `field hello.lang: "nl;rm -rf" is not a language tag`},
		{"hello bad session", raw(helloFrame(1, "nl", "a b")), `field hello.session: character ' ' not allowed`},
		{"hello unknown field", raw(helloFrame(1, "nl", ""))[:0:0], ""}, // replaced below
		{"shown empty key", raw(&vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_Shown{Shown: &vcguardv1.IpcShown{}}}), "field shown.key: missing or empty"},
		{"not shown without reason", raw(&vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_NotShown{NotShown: &vcguardv1.IpcNotShown{Key: "k"}}}), "field not_shown.reason: missing or empty"},
		{"not shown reason too long", raw(&vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_NotShown{NotShown: &vcguardv1.IpcNotShown{Key: "k", Reason: strings.Repeat("x", MaxNotShownReason+1)}}}), "field not_shown.reason: 513 bytes, at most 512 allowed"},
		{"not shown reason two lines", raw(&vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_NotShown{NotShown: &vcguardv1.IpcNotShown{Key: "k", Reason: "a\nb"}}}), `field not_shown.reason: control character '\n' not allowed`},
		{"notice no app", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.AppId = "" })), "field notice.app_id: missing or empty"},
		{"notice no verdict", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.PolicyVerdict = 0 })), "field notice.policy_verdict: missing or unspecified"},
		{"notice about an app naming a device", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.DeviceKind = "camera" })), "field notice.device_kind: set in a notice about an app"},
		{"media notice of an unknown finding", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.MediaFinding = 99 })), "field notice.media_finding: 99 is not a MediaFindingKind"},
		{"media notice of a bad device", raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
			n.MediaFinding, n.DeviceKind = vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNKNOWN_APP, "keyboard"
		})), `field notice.device_kind: "keyboard" is not one of camera, microphone, screen, output_audio`},
		{"media notice naming a path", raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
			n.MediaFinding, n.DeviceKind, n.Process = vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNKNOWN_APP, "camera", "/tmp/spy"
		})), "field notice.process: a name, not a path"},
		{"notice bad verdict", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.PolicyVerdict = 42 })), "field notice.policy_verdict: 42 is not a Verdict"},
		{"notice no action", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.PolicyAction = 0 })), "field notice.policy_action: missing or unspecified"},
		{"notice bad action", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.PolicyAction = 7 })), "field notice.policy_action: 7 is not a Action"},
		// The strings the enums replaced are gone: a peer that sends them
		// is not this binary.
		{"notice old verdict string", protowire.AppendBytes(protowire.AppendTag(nil, 4, protowire.BytesType),
			protowire.AppendString(protowire.AppendTag(raw(noticeFrame(func(*vcguardv1.IpcNotice) {}))[2:], 4, protowire.BytesType), "forbidden")),
			"field notice.4: unknown field number 4 in IpcNotice"},
		{"notice grace", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.GraceSeconds = 86401 })), "field notice.grace_seconds: 86401 is out of range"},
		{"notice file url", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.InfoUrl = "file:///etc/passwd" })), `field notice.info_url: scheme "file" not allowed, want http or https`},
		{"notice js url", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.InfoUrl = "javascript:alert(1)" })), `field notice.info_url: scheme "javascript" not allowed`},
		{"notice control char", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.AppName = "Zoom\x1b[31m" })), `field notice.app_name: control character '\x1b' not allowed`},
		{"notice newline in name", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.AppName = "a\nb" })), `field notice.app_name: control character '\n' not allowed`},
		{"notice long note", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.Note = strings.Repeat("x", 5000) })), "field notice.note: 5000 bytes, at most 4096 allowed"},
		{"notice bad fact", raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
			n.Facts = &vcguardv1.IpcFacts{E2Ee: &vcguardv1.IpcTextFact{Value: "maybe"}}
		})), `field notice.facts.e2ee.value: "maybe" is not one of default, optional, none`},
		{"notice fact type", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.Facts = &vcguardv1.IpcFacts{} }))[:0:0], ""}, // replaced below
		{"notice empty certification", raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
			n.Facts = &vcguardv1.IpcFacts{Certifications: &vcguardv1.IpcListFact{Value: []string{"ISO 27001", ""}}}
		})), "field notice.facts.certifications.value[1]: missing or empty"},
		{"refused no reason", raw(&vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_Refused{Refused: &vcguardv1.IpcRefused{}}}), "field refused.reason: missing or empty"},
		{"media no kind", raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Kind = 0 }))), "field media.uses[0].kind: missing or unspecified"},
		{"media bad kind", raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Kind = 9 }))), "field media.uses[0].kind: 9 is not a IpcMediaKind"},
		{"media empty device", raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Device = "" }))), "field media.uses[0].device: missing or empty"},
		{"media long device", raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Device = strings.Repeat("d", 257) }))), "field media.uses[0].device: 257 bytes, at most 256 allowed"},
		{"media huge pid", raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Pid = 2147483648 }))), "field media.uses[0].pid: 2147483648 is out of range"},
		{"media no source", raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Source = 0 }))), "field media.uses[0].source: missing or unspecified"},
		{"media bad source", raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Source = 42 }))), "field media.uses[0].source: 42 is not a IpcMediaSource"},
		{"media control char", raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Process = "zoom\x1b[2J" }))), `field media.uses[0].process: control character '\x1b' not allowed`},
		{"media long process", raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Process = "/" + strings.Repeat("p", 1024) }))), "field media.uses[0].process: 1025 bytes, at most 1024 allowed"},
		{"media second entry", raw(mediaFrame(camera(noop), camera(func(u *vcguardv1.IpcMediaUse) { u.Device = "" }))), "field media.uses[1].device: missing or empty"},
		{"media too many", raw(mediaFrame(slices.Repeat([]*vcguardv1.IpcMediaUse{camera(noop)}, MaxMediaUses+1)...)), "field media.uses: 65 entries, at most 64 allowed"},
		{"invalid utf8", protowire.AppendBytes(protowire.AppendTag(nil, 6, protowire.BytesType), // shown { key: "\xff" }
			protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "\xff")), "invalid UTF-8"},
	} {
		switch tc.name {
		case "unknown field": // ping { 2: 1 }
			tc.b = protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), unknownField(2))
			tc.want = "field ping.2: unknown field number 2 in IpcPing"
		case "hello unknown field": // a uid where the hello is: hello { 1: 0, lang: nl, 9: 1 }
			tc.b = protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), append(raw(helloFrame(1, "nl", ""))[2:], unknownField(9)...))
			tc.want = "field hello.9: unknown field number 9 in IpcHello"
		case "notice fact type": // self_hostable { value: "yes" }: a string where a bool is
			fact := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "yes")
			facts := protowire.AppendBytes(protowire.AppendTag(nil, 3, protowire.BytesType), fact)
			n := append(raw(noticeFrame(func(*vcguardv1.IpcNotice) {}))[2:], protowire.AppendBytes(protowire.AppendTag(nil, 13, protowire.BytesType), facts)...)
			tc.b = protowire.AppendBytes(protowire.AppendTag(nil, 4, protowire.BytesType), n)
			tc.want = "field notice.facts.self_hostable.1: unknown field number 1 in IpcBoolFact"
		}
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeFrame(tc.b)
			if err == nil {
				t.Fatalf("DecodeFrame(%x) succeeded, want an error containing %q", tc.b, tc.want)
			}
			if !errors.Is(err, ErrBadFrame) {
				t.Errorf("error %q does not wrap ErrBadFrame", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeFrame(%.60x):\n got %q\nwant it to contain %q", tc.b, err, tc.want)
			}
		})
	}
}

func TestIPCDecodeFrameTooLarge(t *testing.T) {
	t.Parallel()
	b := raw(&vcguardv1.IpcFrame{Body: &vcguardv1.IpcFrame_Shown{Shown: &vcguardv1.IpcShown{Key: strings.Repeat("k", MaxFrameSize)}}})
	if _, err := DecodeFrame(b); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("DecodeFrame of %d bytes: err = %v, want ErrFrameTooLarge", len(b), err)
	}
	n := testNotice()
	n.Note = policies.PlainNote(strings.Repeat("é", 2000)) // 4000 bytes: within the limit
	n.Facts.E2EE.Note = strings.Repeat("x", 500)
	if _, err := EncodeFrame(Frame{Type: FrameNotice, Notice: n}); err != nil {
		t.Fatalf("EncodeFrame of a large valid notice: %v", err)
	}
}

func TestIPCEncodeFrameValidates(t *testing.T) {
	t.Parallel()
	for _, f := range []Frame{
		{Type: "bogus"},
		{},
		{Type: FrameHello, Hello: Hello{UID: -1, Lang: "en"}},
		{Type: FrameHello, Hello: Hello{UID: 1 << 32, Lang: "en"}},
		{Type: FrameHello, Hello: Hello{UID: 1, Lang: ""}},
		{Type: FrameNotice, Notice: Notice{Key: "k", AppID: "a", Verdict: "forbidden"}},
		{Type: FrameNotice, Notice: Notice{Key: "k", AppID: "a", Action: "warn"}},
		{Type: FrameNotice, Notice: Notice{Key: "k", AppID: "a", Verdict: "from-the-future", Action: "warn"}},
		{Type: FrameNotice, Notice: Notice{Key: "k", AppID: "a", Verdict: "forbidden", Action: "quarantine"}},
		{Type: FrameNotice, Notice: Notice{Key: "k", AppID: "a", Verdict: "forbidden", Action: "warn", GraceSeconds: -1}},
		{Type: FrameShown},
		{Type: FrameNotShown, Key: "k"},
		{Type: FrameNotShown, Reason: "r"},
		{Type: FrameMedia, Media: []MediaUse{{Kind: "camera", Device: "c", Source: "usb"}}},
		{Type: FrameMedia, Media: []MediaUse{{Kind: "webcam", Device: "c", Source: "v4l2"}}},
		{Type: FrameMedia, Media: []MediaUse{{Kind: "camera", Device: "c", PID: -1, Source: "v4l2"}}},
		{Type: FrameMedia, Media: []MediaUse{{Kind: "camera", Source: "v4l2"}}},
		{Type: FrameMedia, Media: make([]MediaUse, MaxMediaUses+1)},
	} {
		if _, err := EncodeFrame(f); !errors.Is(err, ErrBadFrame) {
			t.Errorf("EncodeFrame(%+v): err = %v, want ErrBadFrame", f, err)
		}
	}
}

// Every field of every Ipc message has a rule: a field added to ipc.proto
// without one would be refused at run time.
func TestIPCEveryFieldHasARule(t *testing.T) {
	t.Parallel()
	fd := vcguardv1.File_vcguard_v1_ipc_proto
	msgs := fd.Messages()
	for i := range msgs.Len() {
		fields := msgs.Get(i).Fields()
		for j := range fields.Len() {
			if _, ok := rules[fields.Get(j).FullName()]; !ok {
				t.Errorf("no rule for %s", fields.Get(j).FullName())
			}
		}
	}
}

// chunkReader returns its data a few bytes at a time and a timeout error
// once in between, like a socket read interrupted by a deadline.
type chunkReader struct {
	data      []byte
	n         int
	timeoutAt int
}

type fakeTimeout struct{}

func (fakeTimeout) Error() string   { return "i/o timeout" }
func (fakeTimeout) Timeout() bool   { return true }
func (fakeTimeout) Temporary() bool { return true }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if r.timeoutAt > 0 && r.n >= r.timeoutAt {
		r.timeoutAt = 0
		return 0, fakeTimeout{}
	}
	k := min(len(p), 7, len(r.data))
	copy(p, r.data[:k])
	r.data, r.n = r.data[k:], r.n+k
	return k, nil
}

func TestIPCFrameReader(t *testing.T) {
	t.Parallel()
	exact := strings.Repeat("x", MaxFrameSize)
	t.Run("frames", func(t *testing.T) {
		var data []byte
		for _, f := range []string{"a", "", "bc", exact} {
			data = protowire.AppendBytes(data, []byte(f))
		}
		fr := newFrameReader(&chunkReader{data: data, timeoutAt: 3})
		var got []string
		for {
			line, err := fr.next()
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				continue // resumes without losing the partial frame
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(line))
		}
		if len(got) != 4 || got[0] != "a" || got[1] != "" || got[2] != "bc" || got[3] != exact {
			t.Errorf("frames = %.40q", got)
		}
	})
	t.Run("too large", func(t *testing.T) {
		// The size is refused before the frame is read.
		fr := newFrameReader(io.MultiReader(bytes.NewReader(protowire.AppendVarint(nil, MaxFrameSize+1)), neverEnding{}))
		if _, err := fr.next(); !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "65537 bytes announced") {
			t.Fatalf("err = %v, want ErrFrameTooLarge", err)
		}
		// A size prefix that never ends.
		fr = newFrameReader(neverEnding{})
		if _, err := fr.next(); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("err = %v, want ErrFrameTooLarge", err)
		}
	})
	t.Run("cut off", func(t *testing.T) {
		fr := newFrameReader(bytes.NewReader(must(EncodeFrame(Frame{Type: FrameShown, Key: "k"}))[:4]))
		if _, err := fr.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
		}
	})
}

// neverEnding is an endless stream of 0xff: the reader must give up,
// not buffer forever.
type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xff
	}
	return len(p), nil
}

func TestIPCNoticeValidate(t *testing.T) {
	t.Parallel()
	if err := testNotice().Validate(); err != nil {
		t.Fatal(err)
	}
	n := testNotice()
	n.InfoURL = "https://user:pw@example.org/"
	if err := n.Validate(); err == nil || !strings.Contains(err.Error(), "field notice.info_url: user information") {
		t.Errorf("Validate = %v", err)
	}
}

// FuzzDecodeFrame feeds DecodeFrame what a hostile local user could send:
// it never panics, every error wraps ErrBadFrame or ErrFrameTooLarge, and
// whatever it accepts encodes, and decodes again to the same frame.
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range []Frame{
		{Type: FrameHello, Hello: Hello{UID: 1000, Lang: "nl-BE", Session: "c2"}},
		{Type: FrameNotice, Notice: testNotice()},
		{Type: FrameShown, Key: "k"},
		{Type: FramePing},
		{Type: FrameWelcome},
		{Type: FrameRefused, Reason: "no"},
		{Type: FrameMedia, Media: testMedia()},
		{Type: FrameMedia},
		{Type: FrameNotice, Notice: testConnectionNotice()},
		{Type: FrameNotice, Notice: Notice{Key: "t", AppID: "microsoft-teams", Action: "warn", ConnectionFinding: "personal_account", ConnectionDetail: "personal account"}},
		{Type: FrameNotice, Notice: testSiteNotice()},
		{Type: FrameNotice, Notice: Notice{Key: "f", AppID: "firefox", Action: "warn", SiteFinding: "unknown_site"}},
	} {
		f.Add(body(must(EncodeFrame(fr))))
	}
	// Near misses of the connection and site fields: two kinds at once,
	// a detail in two lines, a ninth service, a kind nobody knows.
	f.Add(raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
		n.ConnectionFinding, n.SiteFinding = vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER, vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNKNOWN_SITE
	})))
	f.Add(raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
		n.ConnectionFinding, n.ConnectionDetail = vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER, "meet.jit.si\nx"
	})))
	f.Add(raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
		n.SiteFinding, n.SiteServices = vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNAPPROVED_SITE, slices.Repeat([]string{"Whereby"}, MaxSiteServices+1)
	})))
	f.Add(raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.ConnectionFinding = 99 })))
	f.Add(raw(mediaFrame(camera(func(u *vcguardv1.IpcMediaUse) { u.Kind = 9 }))))
	f.Add(raw(helloFrame(4294967295, "nl", "")))
	f.Add(unknownField(99))
	f.Add(append(body(must(EncodeFrame(Frame{Type: FrameShown, Key: "a"}))), body(must(EncodeFrame(Frame{Type: FramePing})))...))
	f.Add([]byte("\x00\xff{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("error %v wraps neither ErrBadFrame nor ErrFrameTooLarge", err)
			}
			return
		}
		enc, err := EncodeFrame(fr)
		if err != nil {
			t.Fatalf("decoded %x but cannot encode it: %v", b, err)
		}
		fr2, err := DecodeFrame(body(enc))
		if err != nil {
			t.Fatalf("re-decode %x: %v", enc, err)
		}
		if !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("not stable:\n%+v\n%+v", fr, fr2)
		}
		if enc2 := must(EncodeFrame(fr2)); !bytes.Equal(enc, enc2) {
			t.Fatalf("not stable:\n%x\n%x", enc, enc2)
		}
	})
}

// The largest media frame DecodeFrame accepts encodes again: no field
// grows when encoded.
func TestIPCMediaFrameSize(t *testing.T) {
	t.Parallel()
	ms := make([]MediaUse, MaxMediaUses)
	for i := range ms {
		ms[i] = MediaUse{Kind: "microphone", Device: strings.Repeat("<", 256), PID: 1<<31 - 1, Process: strings.Repeat("&", 1000), Source: "consentstore"}
	}
	line, err := EncodeFrame(Frame{Type: FrameMedia, Media: ms[:40]})
	if err != nil {
		t.Fatalf("EncodeFrame of 40 long uses (%d bytes): %v", len(line), err)
	}
	if f, err := DecodeFrame(body(line)); err != nil || !slices.Equal(f.Media, ms[:40]) {
		t.Errorf("DecodeFrame of 40 long uses: %v", err)
	}
	if _, err := EncodeFrame(Frame{Type: FrameMedia, Media: ms}); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("EncodeFrame of %d long uses: err = %v, want ErrFrameTooLarge", len(ms), err)
	}
}

// OneLine makes any reason fit a not_shown frame.
func TestOneLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", "unknown error"},
		{"\n\t", "unknown error"},
		{"dbus: org.freedesktop.Notifications\nwas not provided", "dbus: org.freedesktop.Notifications was not provided"},
		{"a\x00\x01b\u2028c", "a b c"},
		{"bad \xff utf8", "bad ? utf8"},
		{strings.Repeat("é", 300), strings.Repeat("é", MaxNotShownReason/2)},
	} {
		got := OneLine(tc.in, MaxNotShownReason)
		if got != tc.want {
			t.Errorf("OneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, err := EncodeFrame(Frame{Type: FrameNotShown, Key: "k", Reason: got}); err != nil {
			t.Errorf("OneLine(%q) = %q does not encode: %v", tc.in, got, err)
		}
	}
}

// A fact's note longer than a frame allows is clipped at a character
// boundary, not a reason to drop the notice: every catalog app's facts go
// into a notice frame and come back.
func TestNoticeFactsOfEveryCatalogAppEncode(t *testing.T) {
	t.Parallel()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", lenFact) // 2 bytes each
	for _, app := range append(cat.Apps(), &policies.App{ID: "long", Facts: &policies.Facts{
		E2EE:         &policies.Fact[string]{Value: "none", Note: long},
		SelfHostable: &policies.Fact[bool]{Value: false, Note: strings.Repeat("x", lenFact+1)},
	}}) {
		n := testNotice()
		n.AppID, n.Facts = app.ID, app.Facts
		b, err := EncodeFrame(Frame{Type: FrameNotice, Notice: n})
		if err != nil {
			t.Errorf("%s: %v", app.ID, err)
			continue
		}
		_, size := protowire.ConsumeVarint(b)
		got, err := DecodeFrame(b[size:])
		if err != nil {
			t.Errorf("%s: decode: %v", app.ID, err)
			continue
		}
		if app.Facts == nil || app.Facts.E2EE == nil {
			continue
		}
		note, want := got.Notice.Facts.E2EE.Note, app.Facts.E2EE.Note
		switch {
		case len(want) <= lenFact && note != want:
			t.Errorf("%s: e2ee note %q, want it whole: %q", app.ID, note, want)
		case len(want) > lenFact && (len(note) > lenFact || !strings.HasSuffix(note, "…") || !utf8.ValidString(note) || !strings.HasPrefix(want, strings.TrimSuffix(note, "…"))):
			t.Errorf("%s: e2ee note of %d bytes clipped to %q", app.ID, len(want), note)
		}
	}
}
