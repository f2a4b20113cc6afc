package dashboard

// The data inventory (docs/privacy.md), served to anyone at GET /privacy:
// the employees whose laptops run the agent have no dashboard account, and
// what is collected about them is no secret. The Markdown is read into
// blocks of plain text here and written out by html/template, which
// escapes every word of it; the page loads nothing but the dashboard's
// own style sheet.

import (
	"net/http"
	"strings"

	"github.com/vcguard/vcguard/docs"
)

// mdSpan is a run of text, set in code or in bold, or neither.
type mdSpan struct {
	Text       string
	Code, Bold bool
}

// mdBlock is one block of the document: a heading (Level 1 to 6, ID its
// anchor), a paragraph (Text), a list (Items), a table (Head, Rows) or
// preformatted text (Pre).
type mdBlock struct {
	Level int
	ID    string
	Text  []mdSpan
	Items [][]mdSpan
	Head  [][]mdSpan
	Rows  [][][]mdSpan
	Pre   string
}

// privacyPage is what the privacy template shows.
type privacyPage struct {
	Source string
	Blocks []mdBlock
}

// privacy serves the data inventory to anyone.
func (d *Dashboard) privacy(w http.ResponseWriter, r *http.Request) {
	d.render(w, http.StatusOK, "privacy.html", page{Title: "What vcguard collects", Data: d.privacyDoc})
}

// parseMarkdown reads the Markdown the inventory is written in: ATX
// headings, paragraphs, "- " lists (continued by indented lines), pipe
// tables, fenced code, and `code` and **bold** within a line. Anything
// else is shown as the text it is.
func parseMarkdown(src string) []mdBlock {
	var (
		blocks []mdBlock
		para   []string
		list   [][]string
		table  [][]string
		fence  []string
		fenced bool
	)
	flush := func() {
		if len(para) > 0 {
			blocks = append(blocks, mdBlock{Text: parseInline(strings.Join(para, " "))})
			para = nil
		}
		if len(list) > 0 {
			var b mdBlock
			for _, item := range list {
				b.Items = append(b.Items, parseInline(strings.Join(item, " ")))
			}
			blocks = append(blocks, b)
			list = nil
		}
		if len(table) > 0 {
			var b mdBlock
			for i, row := range table {
				if i == 1 && isTableRule(row) {
					continue
				}
				cells := make([][]mdSpan, len(row))
				for j, c := range row {
					cells[j] = parseInline(c)
				}
				if i == 0 {
					b.Head = cells
				} else {
					b.Rows = append(b.Rows, cells)
				}
			}
			blocks = append(blocks, b)
			table = nil
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case fenced:
			if strings.HasPrefix(trimmed, "```") {
				blocks = append(blocks, mdBlock{Pre: strings.Join(fence, "\n")})
				fence, fenced = nil, false
			} else {
				fence = append(fence, line)
			}
		case strings.HasPrefix(trimmed, "```"):
			flush()
			fenced = true
		case trimmed == "":
			flush()
		case strings.HasPrefix(line, "#"):
			flush()
			level := len(line) - len(strings.TrimLeft(line, "#"))
			text := strings.TrimSpace(line[level:])
			blocks = append(blocks, mdBlock{Level: min(level, 6), ID: anchor(text), Text: parseInline(text)})
		case strings.HasPrefix(trimmed, "|"):
			if len(table) == 0 {
				flush()
			}
			table = append(table, tableCells(trimmed))
		case strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "* "):
			if len(list) == 0 {
				flush()
			}
			list = append(list, []string{strings.TrimSpace(line[2:])})
		case len(list) > 0 && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
			list[len(list)-1] = append(list[len(list)-1], trimmed)
		default:
			if len(list) > 0 || len(table) > 0 {
				flush()
			}
			para = append(para, trimmed)
		}
	}
	if fenced {
		blocks = append(blocks, mdBlock{Pre: strings.Join(fence, "\n")})
	}
	flush()
	return blocks
}

// tableCells splits a table row, "| a | b |", into its cells.
func tableCells(row string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	cells := strings.Split(row, "|")
	for i, c := range cells {
		cells[i] = strings.TrimSpace(c)
	}
	return cells
}

// isTableRule tells the row under a table's head, "|---|---|", apart.
func isTableRule(row []string) bool {
	for _, c := range row {
		if strings.Trim(c, ":- ") != "" || c == "" {
			return false
		}
	}
	return true
}

// parseInline splits a line into plain, `code` and **bold** spans; an
// unclosed marker is text.
func parseInline(s string) []mdSpan {
	var spans []mdSpan
	add := func(sp mdSpan) {
		if sp.Text == "" {
			return
		}
		if n := len(spans); n > 0 && !sp.Code && !sp.Bold && !spans[n-1].Code && !spans[n-1].Bold {
			spans[n-1].Text += sp.Text
			return
		}
		spans = append(spans, sp)
	}
	for s != "" {
		i := strings.IndexAny(s, "`*")
		if i < 0 {
			add(mdSpan{Text: s})
			break
		}
		add(mdSpan{Text: s[:i]})
		s = s[i:]
		switch {
		case s[0] == '`':
			if end := strings.IndexByte(s[1:], '`'); end >= 0 {
				add(mdSpan{Text: s[1 : 1+end], Code: true})
				s = s[2+end:]
				continue
			}
		case strings.HasPrefix(s, "**"):
			if end := strings.Index(s[2:], "**"); end > 0 {
				add(mdSpan{Text: s[2 : 2+end], Bold: true})
				s = s[4+end:]
				continue
			}
		}
		add(mdSpan{Text: s[:1]})
		s = s[1:]
	}
	return spans
}

// anchor is a heading's id: its words in lower case joined by hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, f := range strings.FieldsFunc(strings.ToLower(heading), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		if b.Len() > 0 {
			b.WriteByte('-')
		}
		b.WriteString(f)
	}
	return b.String()
}

// newPrivacyPage reads the embedded inventory.
func newPrivacyPage() privacyPage {
	return privacyPage{Source: docs.PrivacyName, Blocks: parseMarkdown(docs.Privacy())}
}
