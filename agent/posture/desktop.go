package posture

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// desktopEnabled reads an XDG autostart entry (Desktop Entry
// Specification): the entry starts its program at login unless its
// [Desktop Entry] group says Hidden=true or X-GNOME-Autostart-enabled=false.
// A file without a [Desktop Entry] group, or with a line that is neither a
// group header, a comment nor key=value, is malformed (the error names the
// line, never its text).
func desktopEnabled(data []byte) (bool, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	group, seen := "", false
	enabled := true
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		switch {
		case line == "", line[0] == '#':
			continue
		case line[0] == '[':
			if line[len(line)-1] != ']' {
				return false, fmt.Errorf("line %d: group header without ]", i+1)
			}
			group = line[1 : len(line)-1]
			if group == "Desktop Entry" {
				seen = true
			}
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			return false, fmt.Errorf("line %d: neither [group] nor key=value", i+1)
		}
		if group == "" {
			return false, fmt.Errorf("line %d: key before the [Desktop Entry] group", i+1)
		}
		if group != "Desktop Entry" {
			continue
		}
		k, v := strings.TrimSpace(line[:eq]), strings.TrimSpace(line[eq+1:])
		switch {
		case k == "Hidden" && strings.EqualFold(v, "true"):
			enabled = false
		case k == "X-GNOME-Autostart-enabled" && strings.EqualFold(v, "false"):
			enabled = false
		}
	}
	if !seen {
		return false, errors.New("no [Desktop Entry] group")
	}
	return enabled, nil
}
