package posture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// jsonLookup finds a dotted member path in a JSON document and returns the
// value as its JSON text without quotes (true, 1, "x" -> x; an object or
// array as compact JSON). A member name may itself hold dots: at each level
// the longest name that is there wins. A number indexes an array. null is
// not set. A document that is not valid JSON gives an error with the
// offset, never the text.
func jsonLookup(data []byte, path string) (value string, found bool, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return "", false, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", false, fmt.Errorf("not valid JSON: more after the value (offset %d)", dec.InputOffset())
	}
	v, ok := walkPath(doc, strings.Split(path, "."))
	if !ok || v == nil {
		return "", false, nil
	}
	return jsonText(v), true, nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("not valid JSON (offset %d)", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("not valid JSON (offset %d)", typ.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("not valid JSON: ends early")
	}
	return errors.New("not valid JSON")
}

// walkPath follows segs through objects (map[string]any) and arrays
// ([]any).
func walkPath(v any, segs []string) (any, bool) {
	if len(segs) == 0 {
		return v, true
	}
	switch t := v.(type) {
	case map[string]any:
		for k := len(segs); k >= 1; k-- {
			if next, ok := t[strings.Join(segs[:k], ".")]; ok {
				if out, ok := walkPath(next, segs[k:]); ok {
					return out, true
				}
			}
		}
	case []any:
		i, err := strconv.Atoi(segs[0])
		if err == nil && i >= 0 && i < len(t) {
			return walkPath(t[i], segs[1:])
		}
	}
	return nil, false
}

func jsonText(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
