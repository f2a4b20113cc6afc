package notify

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/policies"
)

func testMedia() []MediaWire {
	return []MediaWire{
		{Kind: "camera", Device: "0x8020000005ac8514", PID: 812, Process: "/Applications/zoom.us.app/Contents/MacOS/zoom.us", Source: "coremediaio"},
		{Kind: "camera", Device: "FaceTime HD Camera", Process: "unknown process", Source: "coremediaio"},
		{Kind: "microphone", Device: "BuiltInMicrophoneDevice", PID: 900, Source: "coreaudio"},
	}
}

func testNotice() NoticeWire {
	return NoticeWire{
		Key: "zoom/forbidden", AppID: "zoom", AppName: "Zoom", Verdict: "forbidden", Action: "block",
		GraceSeconds: 120, Alternative: "jitsi", AlternativeName: "Jitsi Meet",
		Note: "Use the organisation's own service.\nQuestions: IT desk.", InfoURL: "https://intra.example.org/tools",
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
		{Type: FrameNotice, Notice: NoticeWire{Key: "k", AppID: "a", Verdict: "restricted", Action: "warn"}},
		{Type: FramePing},
		{Type: FrameWelcome},
		{Type: FrameRefused, Reason: "hello claims uid 0"},
		{Type: FrameShown, Key: "zoom/forbidden"},
		{Type: FrameMedia, Media: testMedia()},
		{Type: FrameMedia, Media: []MediaWire{}},
		{Type: FrameMedia, Media: []MediaWire{{Kind: "camera", Device: "<cam & co>", PID: 1<<31 - 1, Process: `C:\Program Files\"x"`, Source: "consentstore"}}},
	} {
		line, err := EncodeFrame(f)
		if err != nil {
			t.Fatalf("EncodeFrame(%+v): %v", f, err)
		}
		if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
			t.Fatalf("EncodeFrame(%s) = %q: want exactly one trailing newline", f.Type, line)
		}
		got, err := DecodeFrame(line)
		if err != nil {
			t.Fatalf("DecodeFrame(%s): %v", line, err)
		}
		again, err := EncodeFrame(got)
		if err != nil || !bytes.Equal(again, line) {
			t.Errorf("round trip of %s:\n got %s\nwant %s (err %v)", f.Type, again, line, err)
		}
	}
	// The certification list "none" survives (nil means unknown).
	f, _ := DecodeFrame(must(EncodeFrame(Frame{Type: FrameNotice, Notice: testNotice()})))
	if c := f.Notice.Facts.Certifications; c == nil || c.Value == nil || len(c.Value) != 0 {
		t.Errorf("certifications = %#v, want an empty, non-nil list", c)
	}
	// No uses travel as an empty list, not null, and come back as one.
	line := must(EncodeFrame(Frame{Type: FrameMedia}))
	if string(line) != `{"type":"media","media":[]}`+"\n" {
		t.Errorf("media frame without uses = %s", line)
	}
	if f, err := DecodeFrame(line); err != nil || f.Media == nil || len(f.Media) != 0 {
		t.Errorf("decode %s = %#v, %v; want an empty, non-nil list", line, f.Media, err)
	}
	if f, err := DecodeFrame(must(EncodeFrame(Frame{Type: FrameMedia, Media: testMedia()}))); err != nil || !slices.Equal(f.Media, testMedia()) {
		t.Errorf("media round trip = %+v, %v", f.Media, err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestIPCDecodeFrameErrors(t *testing.T) {
	t.Parallel()
	notice := `"key":"k","app_id":"zoom","verdict":"forbidden","action":"warn"`
	mediaRest := `"device":"FaceTime HD Camera","pid":812,"process":"zoom.us","source":"coremediaio"`
	for _, tc := range []struct {
		name, line, want string
	}{
		{"empty", ``, "empty line"},
		{"not json", `hello`, "invalid JSON at byte 1"},
		{"array", `[1,2]`, "want a JSON object, got array"},
		{"truncated", `{"type":"ping"`, "incomplete JSON object"},
		{"trailing", `{"type":"ping"}{"type":"ping"}`, "data after the JSON object"},
		{"trailing garbage", `{"type":"ping"} x`, "data after the JSON object"},
		{"no type", `{"uid":1}`, "field type: missing"},
		{"unknown type", `{"type":"pong"}`, `field type: unknown frame type "pong"`},
		{"unknown field", `{"type":"ping","extra":1}`, `unknown field "extra"`},
		{"hello without uid", `{"type":"hello","lang":"nl"}`, "field uid: missing (required in a hello frame)"},
		{"hello uid string", `{"type":"hello","uid":"0","lang":"nl"}`, "field uid: want an integer, got string"},
		{"hello uid float", `{"type":"hello","uid":1.5,"lang":"nl"}`, "field uid: want an integer, got number 1.5"},
		{"hello uid negative", `{"type":"hello","uid":-1,"lang":"nl"}`, "field uid: -1 is out of range"},
		{"hello uid huge", `{"type":"hello","uid":4294967295,"lang":"nl"}`, "field uid: 4294967295 is out of range"},
		{"hello without lang", `{"type":"hello","uid":1}`, "field lang: missing"},
		{"hello bad lang", `{"type":"hello","uid":1,"lang":"nl;rm -rf"}`, `field lang: "nl;rm -rf" is not a language tag`},
		{"hello bad session", `{"type":"hello","uid":1,"lang":"nl","session":"a b"}`, `field session: character ' ' not allowed`},
		{"hello with notice", `{"type":"hello","uid":1,"lang":"nl","key":"x"}`, "field key: not allowed in a hello frame"},
		{"ping with key", `{"type":"ping","key":"x"}`, "field key: not allowed in a ping frame"},
		{"shown without key", `{"type":"shown"}`, "field key: missing (required in a shown frame)"},
		{"shown empty key", `{"type":"shown","key":""}`, "field key: missing or empty"},
		{"notice null", `{"type":"notice","notice":null}`, "field notice: missing"},
		{"notice no app", `{"type":"notice","notice":{"key":"k","verdict":"forbidden","action":"warn"}}`, "field notice.app_id: missing or empty"},
		{"notice unknown field", `{"type":"notice","notice":{` + notice + `,"colour":"red"}}`, `unknown field "colour"`},
		{"notice bad verdict", `{"type":"notice","notice":{"key":"k","app_id":"a","verdict":"Forbidden!","action":"warn"}}`, `field notice.verdict: "Forbidden!" is not a lower-case identifier`},
		{"notice grace", `{"type":"notice","notice":{` + notice + `,"grace_seconds":-5}}`, "field notice.grace_seconds: -5 is out of range"},
		{"notice file url", `{"type":"notice","notice":{` + notice + `,"info_url":"file:///etc/passwd"}}`, `field notice.info_url: scheme "file" not allowed, want http or https`},
		{"notice js url", `{"type":"notice","notice":{` + notice + `,"info_url":"javascript:alert(1)"}}`, `field notice.info_url: scheme "javascript" not allowed`},
		{"notice control char", `{"type":"notice","notice":{` + notice + `,"app_name":"Zoom\u001b[31m"}}`, `field notice.app_name: control character '\x1b' not allowed`},
		{"notice newline in name", `{"type":"notice","notice":{` + notice + `,"app_name":"a\nb"}}`, `field notice.app_name: control character '\n' not allowed`},
		{"notice long note", `{"type":"notice","notice":{` + notice + `,"note":"` + strings.Repeat("x", 5000) + `"}}`, "field notice.note: 5000 bytes, at most 4096 allowed"},
		{"notice bad fact", `{"type":"notice","notice":{` + notice + `,"facts":{"e2ee":{"value":"maybe"}}}}`, `field notice.facts.e2ee.value: "maybe" is not one of default, optional, none`},
		{"notice fact type", `{"type":"notice","notice":{` + notice + `,"facts":{"self_hostable":{"value":"yes"}}}}`, "field notice.facts.self_hostable.value: want bool, got string"},
		{"refused no reason", `{"type":"refused"}`, "field reason: missing"},
		{"media without list", `{"type":"media"}`, "field media: missing (required in a media frame)"},
		{"media null", `{"type":"media","media":null}`, "field media: missing"},
		{"media object", `{"type":"media","media":{}}`, "field media: want an array, got object"},
		{"media with key", `{"type":"media","media":[],"key":"k"}`, "field key: not allowed in a media frame"},
		{"media in a shown frame", `{"type":"shown","key":"k","media":[]}`, "field media: not allowed in a shown frame"},
		{"media null entry", `{"type":"media","media":[null]}`, "field media[0].kind: missing"},
		{"media no kind", `{"type":"media","media":[{` + mediaRest + `}]}`, "field media[0].kind: missing"},
		{"media bad kind", `{"type":"media","media":[{"kind":"speaker",` + mediaRest + `}]}`, `field media[0].kind: "speaker" is not one of camera, microphone`},
		{"media empty kind", `{"type":"media","media":[{"kind":"",` + mediaRest + `}]}`, "field media[0].kind: missing or empty"},
		{"media no device", `{"type":"media","media":[{"kind":"camera","pid":1,"source":"coremediaio"}]}`, "field media[0].device: missing"},
		{"media empty device", `{"type":"media","media":[{"kind":"camera","device":"","pid":1,"source":"coremediaio"}]}`, "field media[0].device: missing or empty"},
		{"media long device", `{"type":"media","media":[{"kind":"camera","device":"` + strings.Repeat("d", 257) + `","pid":1,"source":"coremediaio"}]}`, "field media[0].device: 257 bytes, at most 256 allowed"},
		{"media no pid", `{"type":"media","media":[{"kind":"camera","device":"c","source":"coremediaio"}]}`, "field media[0].pid: missing"},
		{"media negative pid", `{"type":"media","media":[{"kind":"camera","device":"c","pid":-1,"source":"coremediaio"}]}`, "field media[0].pid: -1 is out of range"},
		{"media huge pid", `{"type":"media","media":[{"kind":"camera","device":"c","pid":2147483648,"source":"coremediaio"}]}`, "field media[0].pid: 2147483648 is out of range"},
		{"media pid string", `{"type":"media","media":[{"kind":"camera","device":"c","pid":"1","source":"coremediaio"}]}`, "field media.pid: want an integer, got string"},
		{"media no source", `{"type":"media","media":[{"kind":"camera","device":"c","pid":1}]}`, "field media[0].source: missing"},
		{"media bad source", `{"type":"media","media":[{"kind":"camera","device":"c","pid":1,"source":"webcam"}]}`, `field media[0].source: "webcam" is not one of v4l2, alsa, pipewire, pulseaudio, coreaudio, coremediaio, consentstore`},
		{"media control char", `{"type":"media","media":[{"kind":"camera","device":"c","pid":1,"process":"zoom\u001b[2J","source":"coremediaio"}]}`, `field media[0].process: control character '\x1b' not allowed`},
		{"media long process", `{"type":"media","media":[{"kind":"camera","device":"c","pid":1,"process":"/` + strings.Repeat("p", 1024) + `","source":"coremediaio"}]}`, "field media[0].process: 1025 bytes, at most 1024 allowed"},
		{"media unknown field", `{"type":"media","media":[{"kind":"camera",` + mediaRest + `,"uid":0}]}`, `unknown field "uid"`},
		{"media second entry", `{"type":"media","media":[{"kind":"camera",` + mediaRest + `},{"kind":"microphone"}]}`, "field media[1].device: missing"},
		{"media too many", `{"type":"media","media":[` + strings.Repeat(`{"kind":"camera",`+mediaRest+`},`, 64) + `{"kind":"camera",` + mediaRest + `}]}`, "field media: 65 entries, at most 64 allowed"},
		{"invalid utf8", "{\"type\":\"shown\",\"key\":\"\xff\"}", "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeFrame([]byte(tc.line))
			if err == nil {
				t.Fatalf("DecodeFrame(%q) succeeded, want an error containing %q", tc.line, tc.want)
			}
			if !errors.Is(err, ErrBadFrame) {
				t.Errorf("error %q does not wrap ErrBadFrame", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeFrame(%.60q):\n got %q\nwant it to contain %q", tc.line, err, tc.want)
			}
		})
	}
}

func TestIPCDecodeFrameTooLarge(t *testing.T) {
	t.Parallel()
	line := []byte(`{"type":"shown","key":"` + strings.Repeat("k", MaxFrameSize) + `"}`)
	if _, err := DecodeFrame(line); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("DecodeFrame of %d bytes: err = %v, want ErrFrameTooLarge", len(line), err)
	}
	n := testNotice()
	n.Note = strings.Repeat("é", 2000) // 4000 bytes: within the limit
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
		{Type: FrameHello, Hello: Hello{UID: 1, Lang: ""}},
		{Type: FrameNotice, Notice: NoticeWire{Key: "k", AppID: "a", Verdict: "forbidden"}},
		{Type: FrameShown},
		{Type: FrameMedia, Media: []MediaWire{{Kind: "camera", Device: "c", Source: "usb"}}},
		{Type: FrameMedia, Media: []MediaWire{{Kind: "camera", Device: "c", PID: -1, Source: "v4l2"}}},
		{Type: FrameMedia, Media: []MediaWire{{Kind: "camera", Source: "v4l2"}}},
		{Type: FrameMedia, Media: make([]MediaWire, MaxMediaUses+1)},
	} {
		if _, err := EncodeFrame(f); !errors.Is(err, ErrBadFrame) {
			t.Errorf("EncodeFrame(%+v): err = %v, want ErrBadFrame", f, err)
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
		fr := newFrameReader(&chunkReader{data: []byte("a\n\nbc\n" + exact + "\n"), timeoutAt: 3})
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
		fr := newFrameReader(io.MultiReader(strings.NewReader(exact+"y"), neverEnding{}))
		if _, err := fr.next(); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("err = %v, want ErrFrameTooLarge", err)
		}
	})
	t.Run("cut off", func(t *testing.T) {
		fr := newFrameReader(strings.NewReader(`{"type":"pi`))
		if _, err := fr.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
		}
	})
}

// neverEnding is an endless stream without newlines: the reader must give
// up after MaxFrameSize, not buffer forever.
type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
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

func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range []Frame{
		{Type: FrameHello, Hello: Hello{UID: 1000, Lang: "nl-BE", Session: "c2"}},
		{Type: FrameNotice, Notice: testNotice()},
		{Type: FrameShown, Key: "k"},
		{Type: FramePing},
		{Type: FrameRefused, Reason: "no"},
		{Type: FrameMedia, Media: testMedia()},
		{Type: FrameMedia},
	} {
		f.Add(must(EncodeFrame(fr)))
	}
	f.Add([]byte(`{"type":"media","media":[{"kind":"camera","device":"c","pid":1e2,"source":"v4l2"}]}`))
	f.Add([]byte(`{"type":"media","media":[{"kind":"camera","device":"\u003c\u0026","pid":0,"process":"","source":"alsa"},null]}`))
	f.Add([]byte(`{"type":"hello","uid":1e3,"lang":"nl"}`))
	f.Add([]byte(`{"type":"notice","notice":{"facts":{"e2ee":null}}}`))
	f.Add([]byte("\x00\xff{"))
	f.Fuzz(func(t *testing.T, line []byte) {
		fr, err := DecodeFrame(line)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("error %v wraps neither ErrBadFrame nor ErrFrameTooLarge", err)
			}
			return
		}
		// Whatever decodes encodes, and decodes to the same thing.
		enc, err := EncodeFrame(fr)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", line, err)
		}
		fr2, err := DecodeFrame(enc)
		if err != nil {
			t.Fatalf("re-decode %q: %v", enc, err)
		}
		if enc2 := must(EncodeFrame(fr2)); !bytes.Equal(enc, enc2) {
			t.Fatalf("not stable:\n%s\n%s", enc, enc2)
		}
	})
}

func TestMediaToWire(t *testing.T) {
	t.Parallel()
	zoom := devices.Use{Kind: devices.Camera, Device: "FaceTime HD Camera", PID: 812, Process: "zoom.us", UID: 501, Session: "501", Source: devices.SourceCoreMediaIO}
	mic := devices.Use{Kind: devices.Microphone, Device: "BuiltInMicrophoneDevice", PID: 700, Process: "Safari", UID: 501, Source: devices.SourceCoreAudio}
	other := zoom
	other.UID, other.Session = 502, "502" // the same process as seen under another uid: one use on the wire
	cast := devices.Use{Kind: devices.Camera, Device: "xdg-desktop-portal", PID: 5, Source: devices.SourcePipeWire, ScreenShare: true}
	badSource := devices.Use{Kind: devices.Camera, Device: "x", Source: "usb"}
	longPath := devices.Use{Kind: devices.Microphone, Device: "m", Process: "/" + strings.Repeat("p", 2000), Source: devices.SourceCoreAudio}
	got, skipped := MediaToWire([]devices.Use{mic, zoom, other, cast, badSource, longPath})
	want := []MediaWire{
		{Kind: "camera", Device: "FaceTime HD Camera", PID: 812, Process: "zoom.us", Source: "coremediaio"},
		{Kind: "microphone", Device: "BuiltInMicrophoneDevice", PID: 700, Process: "Safari", Source: "coreaudio"},
	}
	if !slices.Equal(got, want) || skipped != 3 {
		t.Errorf("MediaToWire = %+v, %d skipped\nwant %+v, 3 skipped", got, skipped, want)
	}
	if got, _ := MediaToWire(nil); got == nil || len(got) != 0 {
		t.Errorf("MediaToWire(nil) = %#v, want an empty list", got)
	}
	many := make([]devices.Use, MaxMediaUses+10)
	for i := range many {
		many[i] = devices.Use{Kind: devices.Camera, Device: "c", PID: int32(i + 1), Source: devices.SourceCoreMediaIO}
	}
	if got, skipped := MediaToWire(many); len(got) != MaxMediaUses || skipped != 10 {
		t.Errorf("MediaToWire of %d uses: %d kept, %d skipped", len(many), len(got), skipped)
	}

	// Back on the service's side the session's uid is the uid.
	uses := MediaUses(Session{UID: 501, Session: "console"}, want)
	if len(uses) != 2 || uses[0] != zoom || uses[1].UID != 501 || uses[1].Session != "501" || uses[1].Source != devices.SourceCoreAudio {
		t.Errorf("MediaUses = %+v", uses)
	}
	// On Windows the session is the user's SID.
	if u := MediaUses(Session{UID: 2, User: "S-1-5-21-1-2-3-1001"}, want[:1]); u[0].UID != 2 || u[0].Session != "S-1-5-21-1-2-3-1001" {
		t.Errorf("MediaUses on Windows = %+v", u)
	}
}

// The largest media frame DecodeFrame accepts encodes again: no field
// grows when encoded.
func TestIPCMediaFrameSize(t *testing.T) {
	t.Parallel()
	ms := make([]MediaWire, MaxMediaUses)
	for i := range ms {
		ms[i] = MediaWire{Kind: "microphone", Device: strings.Repeat("<", 256), PID: 1<<31 - 1, Process: strings.Repeat("&", 700), Source: "consentstore"}
	}
	line, err := EncodeFrame(Frame{Type: FrameMedia, Media: ms[:40]})
	if err != nil {
		t.Fatalf("EncodeFrame of 40 long uses (%d bytes): %v", len(line), err)
	}
	if bytes.Contains(line, []byte(`\u003c`)) {
		t.Error("EncodeFrame escapes HTML characters; frames would grow when re-encoded")
	}
	if _, err := EncodeFrame(Frame{Type: FrameMedia, Media: ms}); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("EncodeFrame of %d long uses: err = %v, want ErrFrameTooLarge", len(ms), err)
	}
}
