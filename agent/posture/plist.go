package posture

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"howett.net/plist"
)

// plistLookup finds key in a property list (XML, binary or OpenStep): a
// top-level key, or a dotted path through dictionaries as in jsonLookup.
// Booleans are true or false, integers decimal, dates RFC 3339. A file that
// is not a property list, or whose root is not a dictionary (a preferences
// file's always is; a bare word is a valid OpenStep list), gives an error
// that never quotes it.
func plistLookup(data []byte, key string) (value string, found bool, err error) {
	var doc any
	if _, err := plist.Unmarshal(data, &doc); err != nil {
		return "", false, errors.New("not a valid property list")
	}
	if _, ok := doc.(map[string]any); !ok {
		return "", false, errors.New("not a valid property list: its root is not a dictionary")
	}
	v, ok := walkPath(doc, strings.Split(key, "."))
	if !ok || v == nil {
		return "", false, nil
	}
	return plistText(v), true, nil
}

func plistText(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case uint64:
		return strconv.FormatUint(t, 10)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case time.Time:
		return t.UTC().Format(time.RFC3339)
	case []byte:
		return fmt.Sprintf("%x", t)
	}
	return ""
}
