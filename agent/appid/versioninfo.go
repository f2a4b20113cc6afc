package appid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// versionInfo is the decoded VS_VERSIONINFO resource of a PE file.
type versionInfo struct {
	strings      map[string]string // StringFileInfo: first string table wins, en-US first
	fixedProduct string            // VS_FIXEDFILEINFO product version, "" when zero
	fixedFile    string            // VS_FIXEDFILEINFO file version, "" when zero
}

// viNode is one node of the VS_VERSIONINFO tree: every node is
// {wLength, wValueLength, wType, szKey, padding, Value, padding, Children}.
type viNode struct {
	key      string
	typ      uint16 // 1: text value (length in WCHARs), 0: binary (length in bytes)
	value    []byte
	children []byte
	length   int // wLength: the node with its children
}

// parseVersionInfo decodes a VS_VERSIONINFO blob. It returns what it could
// read together with an error naming the first malformed part.
func parseVersionInfo(b []byte) (versionInfo, error) {
	vi := versionInfo{strings: map[string]string{}}
	root, err := readVINode(b)
	if err != nil {
		return vi, fmt.Errorf("VS_VERSIONINFO: %w", err)
	}
	if root.key != "VS_VERSION_INFO" {
		return vi, fmt.Errorf("VS_VERSIONINFO: root key is %q, not VS_VERSION_INFO", root.key)
	}
	if len(root.value) >= 52 {
		v := root.value
		if sig := binary.LittleEndian.Uint32(v); sig == 0xFEEF04BD {
			vi.fixedFile = fixedVersion(binary.LittleEndian.Uint32(v[8:]), binary.LittleEndian.Uint32(v[12:]))
			vi.fixedProduct = fixedVersion(binary.LittleEndian.Uint32(v[16:]), binary.LittleEndian.Uint32(v[20:]))
		}
	}
	var firstErr error
	note := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	note(eachVIChild(root.children, func(sfi viNode) error {
		if sfi.key != "StringFileInfo" {
			return nil // VarFileInfo
		}
		var tables []viNode
		note(eachVIChild(sfi.children, func(t viNode) error {
			if strings.HasPrefix(strings.ToLower(t.key), "0409") {
				tables = append([]viNode{t}, tables...)
			} else {
				tables = append(tables, t)
			}
			return nil
		}))
		for _, t := range tables {
			note(eachVIChild(t.children, func(s viNode) error {
				if _, ok := vi.strings[s.key]; !ok && s.key != "" {
					vi.strings[s.key] = strings.TrimSpace(decodeUTF16Z(s.value))
				}
				return nil
			}))
		}
		return nil
	}))
	if firstErr != nil {
		return vi, fmt.Errorf("VS_VERSIONINFO: %w", firstErr)
	}
	return vi, nil
}

func fixedVersion(ms, ls uint32) string {
	if ms == 0 && ls == 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d.%d", ms>>16, ms&0xffff, ls>>16, ls&0xffff)
}

func align4(n int) int { return (n + 3) &^ 3 }

func readVINode(b []byte) (viNode, error) {
	if len(b) < 6 {
		return viNode{}, fmt.Errorf("node header truncated (%d bytes)", len(b))
	}
	length := int(binary.LittleEndian.Uint16(b))
	valueLen := int(binary.LittleEndian.Uint16(b[2:]))
	typ := binary.LittleEndian.Uint16(b[4:])
	if length < 6 || length > len(b) {
		return viNode{}, fmt.Errorf("node length %d out of range (%d bytes left)", length, len(b))
	}
	n := b[:length]
	end := -1
	for i := 6; i+1 < len(n); i += 2 {
		if n[i] == 0 && n[i+1] == 0 {
			end = i
			break
		}
	}
	if end < 0 {
		return viNode{}, errors.New("node key not terminated")
	}
	node := viNode{key: decodeUTF16Z(n[6:end]), typ: typ, length: length}
	pos := align4(end + 2)
	if typ == 1 {
		valueLen *= 2
	}
	if pos+valueLen > len(n) {
		if typ != 1 && pos < len(n) {
			return viNode{}, fmt.Errorf("node %q: value of %d bytes runs past the node", node.key, valueLen)
		}
		// Text values are often mis-sized by resource compilers: take what
		// is there.
		valueLen = max(0, len(n)-pos)
	}
	if pos <= len(n) {
		node.value = n[pos : pos+valueLen]
		if c := align4(pos + valueLen); c < len(n) {
			node.children = n[c:]
		}
	}
	return node, nil
}

// eachVIChild calls f for each node packed in b. Trailing padding ends the
// list; a malformed node ends it with an error.
func eachVIChild(b []byte, f func(viNode) error) error {
	for len(b) >= 6 && binary.LittleEndian.Uint16(b) != 0 {
		node, err := readVINode(b)
		if err != nil {
			return err
		}
		if err := f(node); err != nil {
			return err
		}
		next := align4(node.length)
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return nil
}

// decodeUTF16Z decodes little-endian UTF-16 up to the first NUL.
func decodeUTF16Z(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
