package posture

import (
	"bytes"
	"fmt"
	"strings"
)

// iniLookup finds key in an INI file: "section.key", or "key" for one
// before any section. Section and key names are compared without regard
// to case; the last of several wins. Lines starting with ; or # are
// comments. A value in double quotes loses them. A line that is neither a
// [section], a comment nor key=value makes the file malformed (the error
// names the line, never its text).
func iniLookup(data []byte, key string) (value string, found bool, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		switch {
		case line == "", line[0] == ';', line[0] == '#':
			continue
		case line[0] == '[':
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return "", false, fmt.Errorf("line %d: section header without ]", i+1)
			}
			section = strings.TrimSpace(line[1:end])
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			return "", false, fmt.Errorf("line %d: neither [section] nor key=value", i+1)
		}
		name := strings.TrimSpace(line[:eq])
		if section != "" {
			name = section + "." + name
		}
		if strings.EqualFold(name, key) {
			value, found = unquote(strings.TrimSpace(line[eq+1:])), true
		}
	}
	return value, found, nil
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}
