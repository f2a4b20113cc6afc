package localipc

import (
	"errors"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// A policy's note crosses the IPC in its form: one text, or one per
// language, which the notifier picks from.
func TestIPCNoteRoundTrip(t *testing.T) {
	t.Parallel()
	byLang := func(m map[string]string) policies.Note {
		n, err := policies.NoteByLanguage(m)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	full := strings.Repeat("ü", policies.MaxNoteBytes/2)
	for _, tc := range []struct {
		name string
		note policies.Note
		de   string
	}{
		{"none", policies.Note{}, ""},
		{"plain", policies.PlainNote("Only with the company account.\n\tAsk IT."), "Only with the company account.\n\tAsk IT."},
		{"per language", byLang(map[string]string{"en": "Internal only.", "de": "Nur intern.", "fr": "Interne seulement."}), "Nur intern."},
		{"German missing: English", byLang(map[string]string{"en": "Internal only.", "nl": "Alleen intern."}), "Internal only."},
		{"only Dutch", byLang(map[string]string{"nl": "Alleen intern."}), "Alleen intern."},
		{"four full texts", byLang(map[string]string{"en": full, "nl": full, "fr": full, "de": full}), full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := testNotice()
			n.Note = tc.note
			line, err := EncodeFrame(Frame{Type: FrameNotice, Notice: n})
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeFrame(body(line))
			if err != nil {
				t.Fatal(err)
			}
			if got.Notice.Note != tc.note {
				t.Errorf("note = %#v, want %#v", got.Notice.Note, tc.note)
			}
			if de := got.Notice.Note.For("de"); de != tc.de {
				t.Errorf("note in German = %q, want %q", de, tc.de)
			}
		})
	}
}

func TestIPCNoteRefusals(t *testing.T) {
	t.Parallel()
	texts := func(pairs ...string) []*vcguardv1.IpcNoteText {
		var out []*vcguardv1.IpcNoteText
		for i := 0; i+1 < len(pairs); i += 2 {
			out = append(out, &vcguardv1.IpcNoteText{Lang: pairs[i], Text: pairs[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		notes []*vcguardv1.IpcNoteText
		plain string
		want  string
	}{
		{"unknown language", texts("en", "Hello", "es", "Hola"), "", `field notice.notes[1].lang: "es" is not one of en, nl, fr, de`},
		{"a locale, not a language", texts("de-DE", "Hallo"), "", `field notice.notes[0].lang: 5 bytes, at most 2 allowed`},
		{"language in capitals", texts("DE", "Hallo"), "", `field notice.notes[0].lang: "DE" is not one of en, nl, fr, de`},
		{"no language", texts("", "Hallo"), "", "field notice.notes[0].lang: missing or empty"},
		{"a language twice", texts("de", "Hallo", "de", "Servus"), "", `field notice.notes[1].lang: "de" given twice`},
		{"empty text", texts("nl", ""), "", "field notice.notes[0].text: missing or empty"},
		{"text too long", texts("fr", strings.Repeat("x", policies.MaxNoteBytes+1)), "", "field notice.notes[0].text: 4097 bytes, at most 4096 allowed"},
		{"control character", texts("en", "a\x1b[2Jb"), "", `field notice.notes[0].text: control character '\x1b' not allowed`},
		{"too many", texts("en", "a", "nl", "b", "fr", "c", "de", "d", "en", "e"), "", "field notice.notes: 5 entries, at most 4 allowed"},
		{"both forms", texts("en", "a"), "b", "field notice.notes: set with notice.note"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.Notes, n.Note = tc.notes, tc.plain }))
			_, err := DecodeFrame(b)
			if err == nil || !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeFrame: %v; want ErrBadFrame containing %q", err, tc.want)
			}
		})
	}
}
