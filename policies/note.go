package policies

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// NoteLanguages are the languages a note may be written in, in the order
// a missing language falls back through: English first, then the others.
// They are the languages of the agent's notices.
var NoteLanguages = [...]string{"en", "nl", "fr", "de"}

// MaxNoteBytes bounds the text of a note, in each of its languages (the
// local IPC carries no more).
const MaxNoteBytes = 4096

// Note is a policy's own text for the person at the keyboard (the caveat
// of a restricted tool, where to ask): one text shown in every language
// (`note: "..."`), or one per language (`note: {en: "...", de: "..."}`),
// of which For picks the reader's. The zero Note says nothing. Notes are
// comparable values.
type Note struct {
	plain  string
	texts  [len(NoteLanguages)]string
	byLang bool
	// bad is what the decoder found wrong (a key that is not a language,
	// a list), reported by the policy validator with the field's path.
	bad noteProblem
}

type noteProblem struct {
	key string // the offending key below note, "" for note itself
	msg string
}

// PlainNote returns a note shown as text in every language.
func PlainNote(text string) Note { return Note{plain: text} }

// NoteByLanguage returns a note given per language: texts maps a language
// of NoteLanguages to its text. It refuses another key, an empty text, a
// text over MaxNoteBytes and an empty map, naming the key.
func NoteByLanguage(texts map[string]string) (Note, error) {
	n := Note{byLang: true}
	if len(texts) == 0 {
		return Note{}, fmt.Errorf("note gives no language; give a text for at least one of %s", strings.Join(NoteLanguages[:], ", "))
	}
	keys := make([]string, 0, len(texts))
	for k := range texts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i := noteLangIndex(k)
		if i < 0 {
			return Note{}, fmt.Errorf("note language %q is not one of %s", k, strings.Join(NoteLanguages[:], ", "))
		}
		if err := checkNoteText(texts[k], true); err != nil {
			return Note{}, fmt.Errorf("note language %s: %w", k, err)
		}
		n.texts[i] = texts[k]
	}
	return n, nil
}

func noteLangIndex(lang string) int {
	for i, l := range NoteLanguages {
		if l == lang {
			return i
		}
	}
	return -1
}

// checkNoteText bounds one text: at most MaxNoteBytes, no control
// characters but newlines and tabs (what the local IPC accepts), and, in
// the per-language form, not empty.
func checkNoteText(s string, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return fmt.Errorf("is empty; give a text or leave the language out")
	}
	if len(s) > MaxNoteBytes {
		return fmt.Errorf("is %d bytes; at most %d are accepted", len(s), MaxNoteBytes)
	}
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if unicode.IsControl(r) || r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("holds the control character %q; only newlines and tabs are allowed", r)
		}
	}
	return nil
}

// IsZero reports whether the note says nothing.
func (n Note) IsZero() bool { return n == Note{} }

// PerLanguage reports whether the note is given per language.
func (n Note) PerLanguage() bool { return n.byLang }

// Plain returns the text of a note given for every language, "" for one
// given per language.
func (n Note) Plain() string { return n.plain }

// Texts returns the texts of a note given per language, by language (a new
// map); nil for a plain note.
func (n Note) Texts() map[string]string {
	if !n.byLang {
		return nil
	}
	out := map[string]string{}
	for i, t := range n.texts {
		if t != "" {
			out[NoteLanguages[i]] = t
		}
	}
	return out
}

// For returns the text for a reader of lang ("de", or a tag such as
// "de-AT" or "de_DE"): the plain text; else the text in lang; else in
// English; else the first given of NoteLanguages.
func (n Note) For(lang string) string {
	if !n.byLang {
		return n.plain
	}
	primary := strings.ToLower(lang)
	if i := strings.IndexAny(primary, "-_.@"); i >= 0 {
		primary = primary[:i]
	}
	if i := noteLangIndex(primary); i >= 0 && n.texts[i] != "" {
		return n.texts[i]
	}
	for _, t := range n.texts {
		if t != "" {
			return t
		}
	}
	return ""
}

// String returns the English text (see For).
func (n Note) String() string { return n.For("en") }

// UnmarshalYAML reads a text or a mapping of language to text. What is
// wrong is kept for the policy validator, which names the field and line.
func (n *Note) UnmarshalYAML(node *yaml.Node) error {
	*n = Note{}
	switch node.Kind {
	case yaml.ScalarNode:
		return node.Decode(&n.plain)
	case yaml.MappingNode:
		n.byLang = true
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			li := noteLangIndex(k.Value)
			if li < 0 {
				n.bad = noteProblem{k.Value, fmt.Sprintf("%q is not a language of notes (%s)", k.Value, strings.Join(NoteLanguages[:], ", "))}
				return nil
			}
			if v.Kind != yaml.ScalarNode {
				n.bad = noteProblem{k.Value, "must be a text"}
				return nil
			}
			if err := v.Decode(&n.texts[li]); err != nil {
				return err
			}
			if strings.TrimSpace(n.texts[li]) == "" {
				n.bad = noteProblem{k.Value, "is empty; give a text or leave the language out"}
				return nil
			}
		}
		if len(node.Content) == 0 {
			n.bad = noteProblem{"", fmt.Sprintf("gives no language; give a text, or a text for at least one of %s", strings.Join(NoteLanguages[:], ", "))}
		}
		return nil
	default:
		n.bad = noteProblem{"", fmt.Sprintf("must be a text, or a text per language (%s)", strings.Join(NoteLanguages[:], ", "))}
		return nil
	}
}

// MarshalYAML writes a plain note as a text and a note per language as a
// mapping.
func (n Note) MarshalYAML() (any, error) {
	if n.byLang {
		return n.Texts(), nil
	}
	return n.plain, nil
}

// MarshalJSON writes the note as MarshalYAML does.
func (n Note) MarshalJSON() ([]byte, error) {
	if n.byLang {
		return json.Marshal(n.Texts())
	}
	return json.Marshal(n.plain)
}

// UnmarshalJSON reads a text or an object of language to text, refusing
// what NoteByLanguage refuses.
func (n *Note) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*n = PlainNote(s)
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("note must be a text, or a text per language: %w", err)
	}
	v, err := NoteByLanguage(m)
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// validate checks a decoded note: the problem the decoder kept, then each
// text's bounds. fail names the field below the note.
func (n Note) validate(fail func(msg string, key string) error) error {
	if n.bad.msg != "" {
		return fail(n.bad.msg, n.bad.key)
	}
	if !n.byLang {
		if err := checkNoteText(n.plain, false); err != nil {
			return fail(err.Error(), "")
		}
		return nil
	}
	given := 0
	for i, t := range n.texts {
		if err := checkNoteText(t, false); err != nil {
			return fail(err.Error(), NoteLanguages[i])
		}
		if t != "" {
			given++
		}
	}
	if given == 0 {
		return fail("gives no text in any language; give a text for at least one of "+strings.Join(NoteLanguages[:], ", ")+", or remove it", "")
	}
	return nil
}
