package appconfig

// Chromium's local storage, as Electron apps keep it in
// <userData>/Local Storage/leveldb. Each item is one LevelDB entry:
//
//	key:   "_" + origin + 0x00 + encoded item key
//	value: encoded item value
//
// where an encoded string is 0x01 followed by its Latin-1 bytes when every
// character fits in Latin-1, else 0x00 followed by UTF-16 little endian.
// Chromium: components/services/storage/dom_storage/local_storage_impl.cc
// (the "_" data prefix and the 0x00 origin separator) and
// third_party/blink/renderer/modules/storage/cached_storage_area.cc
// (StringToUint8Vector / Uint8VectorToString with kLocalStorageDetectFormat:
// 0 = UTF-16, 1 = Latin-1). Checked against a profile written by Chromium
// 156 (testdata/jitsi-meet/README.md).

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"unicode/utf16"
)

// localStorageDir is where an Electron app whose userData directory is
// userData keeps local storage.
func localStorageDir(userData string) string {
	return filepath.Join(userData, "Local Storage", "leveldb")
}

// localStorageKey returns the LevelDB key of an item of an origin. Chromium
// encodes the item key like a value: Latin-1 when it fits, else UTF-16.
func localStorageKey(origin, key string) []byte {
	prefix := "_" + origin + "\x00"
	if latin, ok := encodeLatin1(key); ok {
		return append([]byte(prefix+"\x01"), latin...)
	}
	u := utf16.Encode([]rune(key))
	b := make([]byte, 0, len(prefix)+1+2*len(u))
	b = append(b, prefix+"\x00"...)
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

func encodeLatin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}

// decodeLocalStorageString decodes an encoded key or value.
func decodeLocalStorageString(v []byte) (string, error) {
	if len(v) == 0 {
		return "", errors.New("empty local storage value (no format byte)")
	}
	switch v[0] {
	case 1:
		var sb strings.Builder
		sb.Grow(len(v) - 1)
		for _, c := range v[1:] {
			sb.WriteRune(rune(c))
		}
		return sb.String(), nil
	case 0:
		if (len(v)-1)%2 != 0 {
			return "", errors.New("UTF-16 local storage value of odd length")
		}
		u := make([]uint16, (len(v)-1)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(v[1+2*i:])
		}
		return string(utf16.Decode(u)), nil
	default:
		return "", errors.New("local storage value of unknown format")
	}
}

// readLocalStorage reads items of one origin from an Electron app's local
// storage. It returns the items found, by item key.
func readLocalStorage(userData string, uid int, kind, origin string, items ...string) (map[string]string, error) {
	byKey := map[string]string{}
	for _, item := range items {
		byKey[string(localStorageKey(origin, item))] = item
	}
	raw, err := readLevelDB(localStorageDir(userData), uid, kind, func(key []byte) bool {
		_, ok := byKey[string(key)]
		return ok
	})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range raw {
		item := byKey[k]
		s, err := decodeLocalStorageString(v)
		if err != nil {
			return nil, &FormatError{Kind: kind, Field: "local storage item " + item, Err: err}
		}
		out[item] = s
	}
	return out, nil
}
