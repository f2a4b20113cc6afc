package notify

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/policies"
)

// The policy's note is shown in the reader's language where the policy
// gives one, else in English; a plain note in every language. It crosses
// the IPC in its form (ToWire, FromWire).
func TestRenderNoteLanguage(t *testing.T) {
	t.Parallel()
	byLang := func(m map[string]string) policies.Note {
		n, err := policies.NoteByLanguage(m)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	all := byLang(map[string]string{
		"en": "Only with the company account.", "nl": "Alleen met het account van de organisatie.",
		"fr": "Uniquement avec le compte de l'organisation.", "de": "Nur mit dem Konto der Organisation.",
	})
	noGerman := byLang(map[string]string{"en": "Only with the company account.", "fr": "Uniquement avec le compte de l'organisation."})
	onlyDutch := byLang(map[string]string{"nl": "Alleen met het account van de organisatie."})
	plain := policies.PlainNote("Questions: IT desk, extension 4711.")
	app := func(v policies.Verdict, note policies.Note) Notice {
		return Notice{Key: "zoom/x", AppID: "zoom", AppName: "Zoom", Verdict: v, Action: policies.ActionWarn, Note: note}
	}
	media := func(note policies.Note) Notice {
		return Notice{Key: "zoom/cam", AppID: "zoom", AppName: "Zoom", Action: policies.ActionWarn,
			MediaFinding: policies.MediaForbiddenApp, DeviceKind: "camera", Note: note}
	}
	tests := []struct {
		name      string
		n         Notice
		lang      string
		want      string
		notWanted []string
	}{
		{"restricted, German", app(policies.VerdictRestricted, all), "de", "Nur mit dem Konto der Organisation.", []string{"Only with", "Alleen", "Uniquement"}},
		{"forbidden, German", app(policies.VerdictForbidden, all), "de", "Nur mit dem Konto der Organisation.", []string{"Only with"}},
		{"forbidden, Dutch", app(policies.VerdictForbidden, all), "nl", "Alleen met het account van de organisatie.", []string{"Only with"}},
		{"forbidden, French", app(policies.VerdictForbidden, all), "fr", "Uniquement avec le compte de l'organisation.", []string{"Only with"}},
		{"German missing: English", app(policies.VerdictRestricted, noGerman), "de", "Only with the company account.", []string{"Uniquement"}},
		{"no English: the one given", app(policies.VerdictForbidden, onlyDutch), "de", "Alleen met het account van de organisatie.", nil},
		{"an unknown language: English", app(policies.VerdictForbidden, all), "it", "Only with the company account.", []string{"Nur mit"}},
		{"plain note in German", app(policies.VerdictForbidden, plain), "de", "Questions: IT desk, extension 4711.", nil},
		{"media notice, German", media(all), "de", "Nur mit dem Konto der Organisation.", []string{"Only with"}},
		{"media notice, German missing", media(noGerman), "de", "Only with the company account.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, n := range []Notice{tt.n, FromWire(wireRoundTrip(t, ToWire(tt.n)))} {
				m := Render(n, tt.lang)
				if !strings.Contains(m.Body, tt.want) {
					t.Errorf("Render(%s) body %q lacks %q", tt.lang, m.Body, tt.want)
				}
				for _, s := range tt.notWanted {
					if strings.Contains(m.Body, s) {
						t.Errorf("Render(%s) body %q holds %q", tt.lang, m.Body, s)
					}
				}
			}
		})
	}
}

// wireRoundTrip sends a notice through the IPC's encoding and back.
func wireRoundTrip(t *testing.T, n localipc.Notice) localipc.Notice {
	t.Helper()
	b, err := localipc.EncodeFrame(localipc.Frame{Type: localipc.FrameNotice, Notice: n})
	if err != nil {
		t.Fatal(err)
	}
	_, size := protowire.ConsumeVarint(b)
	f, err := localipc.DecodeFrame(b[size:])
	if err != nil {
		t.Fatal(err)
	}
	return f.Notice
}
