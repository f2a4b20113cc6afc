package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Display shows messages to the person at the keyboard.
type Display interface {
	// Show shows m, replacing the message shown earlier for m.Key where
	// the platform allows.
	Show(ctx context.Context, m Message) error
}

// SystemDisplay is the platform's Display for the current user session,
// holding resources that Close releases. OpenSystemDisplay returns one.
type SystemDisplay interface {
	Display
	io.Closer
}

// The builders below carry no build tag so that every platform's escaping
// is tested on any machine.

// osascriptArgs returns the arguments of /usr/bin/osascript that show m.
// The text travels as arguments of the script's run handler, never as
// part of the script, so quotes and backslashes in it cannot change what
// runs.
func osascriptArgs(m Message) []string {
	return []string{
		"-e", "on run argv",
		"-e", "display notification (item 2 of argv) with title (item 1 of argv)",
		"-e", "end run",
		plainArg(m.Title), plainArg(m.Body),
	}
}

// plainArg makes s safe as a command-line argument: no NUL (which exec
// refuses) and no leading '-' that an option parser could take for an
// option.
func plainArg(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	if strings.HasPrefix(s, "-") {
		s = " " + s
	}
	return s
}

// toastXML returns the toast notification document for m: the
// ToastGeneric template with the title and body, opening m.URL when the
// toast or its button is clicked. The document is printable ASCII only:
// every other character is a character reference.
func toastXML(m Message) string {
	var b strings.Builder
	b.WriteString("<toast")
	if m.Urgency == UrgencyCritical {
		b.WriteString(` duration="long"`)
	}
	if m.URL != "" {
		b.WriteString(` activationType="protocol" launch="` + xmlEscape(m.URL) + `"`)
	}
	b.WriteString(`><visual><binding template="ToastGeneric"><text>`)
	b.WriteString(xmlEscape(m.Title))
	b.WriteString("</text><text>")
	b.WriteString(xmlEscape(m.Body))
	b.WriteString("</text></binding></visual>")
	if m.URL != "" {
		label := m.URLLabel
		if label == "" {
			label = m.URL
		}
		b.WriteString(`<actions><action activationType="protocol" content="` + xmlEscape(label) +
			`" arguments="` + xmlEscape(m.URL) + `"/></actions>`)
	}
	b.WriteString("</toast>")
	return b.String()
}

// xmlEscape escapes s for XML text and attribute values, writing every
// character outside printable ASCII as a character reference and dropping
// those XML 1.0 does not allow. The result contains no quote of any kind,
// so it can sit inside a single-quoted PowerShell string, which also ends
// at the typographic quotes U+2018 to U+201B.
func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\n' || r == '\t':
			b.WriteString("&#" + strconv.Itoa(int(r)) + ";")
		case r < 0x20 || r == 0x7f || r == utf8.RuneError || r == 0xfffe || r == 0xffff || (r >= 0xd800 && r <= 0xdfff):
			// Not allowed in XML (or not a character): dropped.
		case r < 0x7f:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "&#x%X;", r)
		}
	}
	return b.String()
}

// toastScript returns a one-line Windows PowerShell script that shows m
// as a toast notification of the app with AppUserModelID aumid. Toasts
// with the same key share a tag, so a new one replaces the old. The
// script is printable ASCII, read from standard input, and exits 1 with
// the reason on standard error when Windows refuses the toast.
func toastScript(m Message, aumid string) (string, error) {
	if !validAUMID(aumid) {
		return "", fmt.Errorf("AppUserModelID %q: want 1 to 128 letters, digits, '.', '-' or '_'", aumid)
	}
	tag := toastTag(m.Key)
	var b strings.Builder
	b.WriteString("$ErrorActionPreference = 'Stop'; try { ")
	b.WriteString("$null = [Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime]; ")
	b.WriteString("$null = [Windows.Data.Xml.Dom.XmlDocument, Windows.Data.Xml.Dom.XmlDocument, ContentType = WindowsRuntime]; ")
	b.WriteString("$x = New-Object Windows.Data.Xml.Dom.XmlDocument; ")
	b.WriteString("$x.LoadXml('" + toastXML(m) + "'); ")
	b.WriteString("$t = New-Object Windows.UI.Notifications.ToastNotification $x; ")
	if tag != "" {
		b.WriteString("$t.Tag = '" + tag + "'; $t.Group = 'vcguard'; ")
	}
	b.WriteString("[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('" + aumid + "').Show($t); exit 0 ")
	b.WriteString("} catch { [Console]::Error.WriteLine($_.Exception.Message); exit 1 }\n")
	return b.String(), nil
}

// toastTag returns the toast tag of a message key: 16 hex digits, short
// enough for every Windows 10 release; "" for no key.
func toastTag(key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

func validAUMID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// LineDisplay writes each message as one JSON line to W instead of showing
// it: for checking the notice path where no desktop is (a test, a console
// session, Wine, which has no toast notifications). `vcguard-agent notifier
// --display lines` uses it.
type LineDisplay struct {
	mu sync.Mutex
	W  io.Writer
}

// Show writes m as a JSON line.
func (d *LineDisplay) Show(_ context.Context, m Message) error {
	line, err := json.Marshal(struct {
		Key, Title, Body, URL string
		Urgency               Urgency
	}{m.Key, m.Title, m.Body, m.URL, m.Urgency})
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err = d.W.Write(append(line, '\n'))
	return err
}

// Close does nothing.
func (d *LineDisplay) Close() error { return nil }
