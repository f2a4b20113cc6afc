package admin

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestValidateComment(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want, err string
	}{
		{"allow Jitsi", "allow Jitsi", ""},
		{"  two lines\n\tsecond \n", "two lines\n\tsecond", ""},
		{"", "", "a change comment is required"},
		{" \n\t ", "", "a change comment is required"},
		{strings.Repeat("é", 500), strings.Repeat("é", 500), ""},
		{strings.Repeat("é", 501), "", "change comment is 1002 bytes, at most 1000"},
		{"bad \xff byte", "", "not UTF-8"},
		{"escape \x1b[31m red", "", "control characters"},
		{"nul \x00", "", "control characters"},
	} {
		got, err := ValidateComment(c.in)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("ValidateComment(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if c.err != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ValidateComment(%q) = %q, %v; want ErrInvalid with %q", c.in, got, err, c.err)
		}
	}
}

// FuzzValidateComment: a comment comes from any admin client. An accepted
// one is stored and shown as it is returned: trimmed, within the budget,
// UTF-8, no control characters but newline and tab; a refused one is
// ErrInvalid.
func FuzzValidateComment(f *testing.F) {
	for _, s := range []string{"allow Jitsi", " x\n", "", "\xff", "\x1b[2J", strings.Repeat("a", 1001), "\u2028", "tab\there"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ValidateComment(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ValidateComment(%q): %v is not ErrInvalid", in, err)
			}
			return
		}
		if got == "" || got != strings.TrimSpace(got) || len(got) > MaxPolicyComment || !utf8.ValidString(got) ||
			strings.ContainsFunc(got, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
			t.Fatalf("ValidateComment(%q) accepted %q", in, got)
		}
		if !strings.Contains(in, got) {
			t.Fatalf("ValidateComment(%q) = %q, not a part of its input", in, got)
		}
	})
}
