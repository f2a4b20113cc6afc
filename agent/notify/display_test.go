package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
)

// hostile is text that would break out of naive quoting in AppleScript,
// PowerShell or XML.
var hostile = []string{
	`Zoom "Workplace" \ 'quoted'`,
	`"); do shell script "touch /tmp/pwned`,
	`'); Remove-Item -Recurse C:\; ('`,
	"’); Start-Process calc; (‘",
	"line one\n'@\nline three",
	`$(Start-Process calc) ${env:USERNAME} ` + "`n",
	`&amp; <b>bold</b> ]]> <!-- -->`,
	"-e do shell script \"id\"",
	"null\x00byte and\x1bescape",
	"Ünïcödé: Besprechungsdaten, réunions, 会議 🎥",
}

func TestOsascriptArgs(t *testing.T) {
	t.Parallel()
	script := []string{"-e", "on run argv", "-e", "display notification (item 2 of argv) with title (item 1 of argv)", "-e", "end run"}
	for _, title := range hostile {
		for _, body := range hostile {
			args := osascriptArgs(Message{Title: title, Body: body})
			if len(args) != len(script)+2 {
				t.Fatalf("%d args, want %d", len(args), len(script)+2)
			}
			for i, a := range script {
				if args[i] != a {
					t.Fatalf("arg %d = %q, want the fixed script line %q", i, args[i], a)
				}
			}
			for i, want := range []string{title, body} {
				got := args[len(script)+i]
				if strings.ContainsRune(got, 0) || strings.HasPrefix(got, "-") {
					t.Errorf("argument %q is not safe", got)
				}
				if strings.TrimSpace(got) != strings.TrimSpace(strings.ReplaceAll(want, "\x00", "")) {
					t.Errorf("argument %q does not carry %q", got, want)
				}
			}
		}
	}
}

// toastDoc is the part of a toast document the tests read back.
type toastDoc struct {
	Launch         string   `xml:"launch,attr"`
	ActivationType string   `xml:"activationType,attr"`
	Duration       string   `xml:"duration,attr"`
	Texts          []string `xml:"visual>binding>text"`
	Actions        []struct {
		Content   string `xml:"content,attr"`
		Arguments string `xml:"arguments,attr"`
	} `xml:"actions>action"`
}

var loadXML = regexp.MustCompile(`\$x\.LoadXml\('([^']*)'\); `)

func TestToastScript(t *testing.T) {
	t.Parallel()
	printableASCII := regexp.MustCompile(`^[\x20-\x7e]*\n$`)
	for _, text := range hostile {
		m := Message{Key: "zoom/forbidden/" + text, Title: text, Body: text + "\nsecond line", URL: "https://example.org/a?b=1&c='2'", URLLabel: text, Urgency: UrgencyCritical}
		script, err := toastScript(m, "vcguard")
		if err != nil {
			t.Fatal(err)
		}
		if !printableASCII.MatchString(script) {
			t.Fatalf("script is not one line of printable ASCII: %q", script)
		}
		// Every single quote in the script is one the script itself
		// wrote: the XML argument has none.
		sub := loadXML.FindStringSubmatch(script)
		if sub == nil {
			t.Fatalf("no LoadXml('…') in %q", script)
		}
		if got := strings.Count(script, "'"); got != 10 {
			t.Errorf("script has %d single quotes, want the script's own 10: %q", got, script)
		}
		var doc toastDoc
		if err := xml.Unmarshal([]byte(sub[1]), &doc); err != nil {
			t.Fatalf("toast XML does not parse: %v\n%s", err, sub[1])
		}
		wantText := xmlClean(text)
		if len(doc.Texts) != 2 || doc.Texts[0] != wantText || doc.Texts[1] != wantText+"\nsecond line" {
			t.Errorf("texts = %q, want title and body %q", doc.Texts, wantText)
		}
		if doc.Launch != m.URL || doc.ActivationType != "protocol" || doc.Duration != "long" {
			t.Errorf("toast attributes = %+v", doc)
		}
		if len(doc.Actions) != 1 || doc.Actions[0].Content != wantText || doc.Actions[0].Arguments != m.URL {
			t.Errorf("actions = %+v", doc.Actions)
		}
		if !strings.Contains(script, "$t.Tag = '"+toastTag(m.Key)+"'") {
			t.Errorf("script does not tag the toast with the key's tag")
		}
	}
}

// xmlClean is what survives XML: the characters XML 1.0 allows.
func xmlClean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, s)
}

func TestToastScriptPlain(t *testing.T) {
	t.Parallel()
	script, err := toastScript(Message{Title: "T", Body: "B", Urgency: UrgencyNormal}, "vcguard")
	if err != nil {
		t.Fatal(err)
	}
	want := `$x.LoadXml('<toast><visual><binding template="ToastGeneric"><text>T</text><text>B</text></binding></visual></toast>'); `
	if !strings.Contains(script, want) {
		t.Errorf("script %q lacks %q", script, want)
	}
	if strings.Contains(script, "$t.Tag") {
		t.Errorf("a message without key is tagged: %q", script)
	}
	if !strings.Contains(script, "CreateToastNotifier('vcguard')") {
		t.Errorf("script does not use the AUMID: %q", script)
	}
}

func TestToastScriptRefusesBadAUMID(t *testing.T) {
	t.Parallel()
	for _, aumid := range []string{"", "vc guard", "vcguard'); calc; ('", strings.Repeat("a", 129)} {
		if _, err := toastScript(Message{Title: "T"}, aumid); err == nil {
			t.Errorf("toastScript accepted AUMID %q", aumid)
		}
	}
}

func TestToastTag(t *testing.T) {
	t.Parallel()
	a, b := toastTag("zoom/forbidden/1"), toastTag("zoom/forbidden/2")
	if len(a) != 16 || a == b || a != toastTag("zoom/forbidden/1") {
		t.Errorf("tags %q, %q: want 16 hex digits, stable, distinct", a, b)
	}
}

func TestLineDisplay(t *testing.T) {
	var buf bytes.Buffer
	d := &LineDisplay{W: &buf}
	m := Message{Key: "zoom", Title: "Zoom \"quoted\"", Body: "line one\nline two", URL: "https://example.org/", Urgency: UrgencyCritical}
	if err := d.Show(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := d.Show(context.Background(), Message{Key: "k2", Title: "second"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("wrote %d lines, want 2: %q", len(lines), buf.String())
	}
	var got struct {
		Key, Title, Body, URL string
		Urgency               Urgency
	}
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	if got.Key != m.Key || got.Title != m.Title || got.Body != m.Body || got.URL != m.URL || got.Urgency != m.Urgency {
		t.Errorf("line = %+v, want %+v", got, m)
	}
}
