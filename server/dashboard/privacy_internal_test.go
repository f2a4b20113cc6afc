package dashboard

import (
	"reflect"
	"testing"
)

// TestParseMarkdown reads each kind of block the inventory uses, and
// keeps markup it does not know (HTML among it) as text for the template
// to escape.
func TestParseMarkdown(t *testing.T) {
	t.Parallel()
	src := "# Title `x`\n\nA paragraph\non two lines <script>.\n\n- one **bold**\n  continued\n- two\n\n" +
		"| A | B |\n|---|:-:|\n| `a.b` | 1 * 2 |\n\n```\n<pre> stays\n```\nend `open"
	want := []mdBlock{
		{Level: 1, ID: "title-x", Text: []mdSpan{{Text: "Title "}, {Text: "x", Code: true}}},
		{Text: []mdSpan{{Text: "A paragraph on two lines <script>."}}},
		{Items: [][]mdSpan{{{Text: "one "}, {Text: "bold", Bold: true}, {Text: " continued"}}, {{Text: "two"}}}},
		{Head: [][]mdSpan{{{Text: "A"}}, {{Text: "B"}}}, Rows: [][][]mdSpan{{{{Text: "a.b", Code: true}}, {{Text: "1 * 2"}}}}},
		{Pre: "<pre> stays"},
		{Text: []mdSpan{{Text: "end `open"}}},
	}
	if got := parseMarkdown(src); !reflect.DeepEqual(got, want) {
		t.Errorf("parseMarkdown:\n got %+v\nwant %+v", got, want)
	}
}
