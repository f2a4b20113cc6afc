package fsperm

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
)

// sidBytes encodes "S-1-A-s1-s2..." as a binary SID.
func sidBytes(t *testing.T, s string) []byte {
	t.Helper()
	parts := strings.Split(s, "-")
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil || parts[0] != "S" || parts[1] != "1" {
		t.Fatalf("bad SID %q", s)
	}
	b := []byte{1, byte(len(parts) - 3), 0, 0, 0, 0, 0, 0}
	for i := range 6 {
		b[2+i] = byte(auth >> (8 * (5 - i)))
	}
	for _, p := range parts[3:] {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			t.Fatalf("bad SID %q", s)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

func aceBytes(t *testing.T, typ, flags uint8, mask uint32, sid string) []byte {
	t.Helper()
	body := binary.LittleEndian.AppendUint32(nil, mask)
	if typ == aceAllowedObject {
		body = binary.LittleEndian.AppendUint32(body, aceObjectTypePresent)
		body = append(body, make([]byte, 16)...) // the object type GUID
	}
	body = append(body, sidBytes(t, sid)...)
	h := []byte{typ, flags, 0, 0}
	binary.LittleEndian.PutUint16(h[2:], uint16(4+len(body)))
	return append(h, body...)
}

func aclBytes(aces ...[]byte) []byte {
	b := []byte{2, 0, 0, 0, 0, 0, 0, 0}
	for _, a := range aces {
		b = append(b, a...)
	}
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	binary.LittleEndian.PutUint16(b[4:], uint16(len(aces)))
	return b
}

const (
	user     = "S-1-5-21-1004336348-1177238915-682003330-1001"
	self     = "S-1-5-21-1004336348-1177238915-682003330-500"
	fullCtl  = 0x1f01ff // FILE_ALL_ACCESS
	readExec = 0x1200a9 // FILE_GENERIC_READ | FILE_GENERIC_EXECUTE
)

func TestParseSID(t *testing.T) {
	for _, s := range []string{sidSystem, sidAdministrators, sidTrustedInstaller, sidEveryone, user} {
		got, err := parseSID(sidBytes(t, s))
		if err != nil || got != s {
			t.Errorf("parseSID(%s) = %q, %v", s, got, err)
		}
	}
	for _, b := range [][]byte{nil, {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0}, {2, 0, 0, 0, 0, 0, 0, 1}} {
		if got, err := parseSID(b); err == nil {
			t.Errorf("parseSID(% x) = %q, want an error", b, got)
		}
	}
}

// Which entries give someone else than SYSTEM, Administrators,
// TrustedInstaller or the agent's own account the rights asked about.
func TestGrantTo(t *testing.T) {
	tests := []struct {
		name      string
		acl       []byte
		want      uint32
		wantSID   string // "" when nobody else has the rights
		wantFound bool
	}{
		{"what Protect sets", aclBytes(
			aceBytes(t, aceAllowed, 0x3, fullCtl, sidSystem),
			aceBytes(t, aceAllowed, 0x3, fullCtl, sidAdministrators),
			aceBytes(t, aceAllowed, 0x3, fullCtl, self),
		), anyRights, "", false},
		{"users may read: not writable", aclBytes(
			aceBytes(t, aceAllowed, 0x3, fullCtl, sidSystem),
			aceBytes(t, aceAllowed, 0x3, readExec, sidUsers),
		), writeRights, "", false},
		{"users may read: not private", aclBytes(
			aceBytes(t, aceAllowed, 0x3, fullCtl, sidSystem),
			aceBytes(t, aceAllowed, 0x3, readExec, sidUsers),
		), anyRights, sidUsers, true},
		{"everyone may write", aclBytes(
			aceBytes(t, aceAllowed, 0, fullCtl, sidSystem),
			aceBytes(t, aceAllowed, 0, 0x1301bf, sidEveryone),
		), writeRights, sidEveryone, true},
		{"%ProgramData%: users may create files in subfolders", aclBytes(
			aceBytes(t, aceAllowed, 0x10|0x3, fullCtl, sidSystem),
			aceBytes(t, aceAllowed, 0x10|0x2, fileWriteData|fileAppendData|fileWriteEA|fileWriteAttributes, sidUsers),
		), writeRights, sidUsers, true},
		{"only delete", aclBytes(aceBytes(t, aceAllowed, 0, deleteRight, user)), writeRights, user, true},
		{"only take ownership", aclBytes(aceBytes(t, aceAllowed, 0, writeOwner, user)), writeRights, user, true},
		{"generic write", aclBytes(aceBytes(t, aceAllowed, 0, genericWrite, user)), writeRights, user, true},
		{"generic all", aclBytes(aceBytes(t, aceAllowed, 0, genericAll, user)), writeRights, user, true},
		{"delete any child of a directory", aclBytes(aceBytes(t, aceAllowed, 0, fileDeleteChild, user)), writeRights, user, true},
		{"object ACE", aclBytes(aceBytes(t, aceAllowedObject, 0, fileWriteData, user)), writeRights, user, true},
		{"inherit-only: for children, not this object", aclBytes(
			aceBytes(t, aceAllowed, aceInheritOnly|0x3, fullCtl, user),
		), writeRights, "", false},
		{"CREATOR OWNER and OWNER RIGHTS", aclBytes(
			aceBytes(t, aceAllowed, 0, fullCtl, sidCreatorOwner),
			aceBytes(t, aceAllowed, 0, fullCtl, sidOwnerRights),
		), writeRights, "", false},
		{"a deny grants nothing", aclBytes(aceBytes(t, 0x01, 0, fullCtl, user)), writeRights, "", false},
		{"read only, asked about write", aclBytes(aceBytes(t, aceAllowed, 0, readExec|synchronize, sidEveryone)), writeRights, "", false},
		{"synchronize only, asked about any", aclBytes(aceBytes(t, aceAllowed, 0, synchronize, sidEveryone)), anyRights, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aces, err := parseACL(tt.acl)
			if err != nil {
				t.Fatal(err)
			}
			got, found := grantTo(aces, tt.want, self)
			if found != tt.wantFound || got.sid != tt.wantSID {
				t.Errorf("grantTo = %+v, %v; want %q, %v", got, found, tt.wantSID, tt.wantFound)
			}
		})
	}
}

func TestParseACLRefusesDamage(t *testing.T) {
	good := aclBytes(aceBytes(t, aceAllowed, 0, fullCtl, sidSystem), aceBytes(t, aceAllowed, 0, fullCtl, user))
	cut := func(b []byte, n int) []byte { return append([]byte(nil), b[:n]...) }
	tooMany := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(tooMany[4:], 3)
	aceTooBig := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(aceTooBig[8+2:], 200)
	for name, b := range map[string][]byte{
		"empty": nil, "header cut": cut(good, 6), "body cut": cut(good, len(good)-3),
		"more ACEs than bytes": tooMany, "ACE past the end": aceTooBig,
	} {
		if aces, err := parseACL(b); err == nil {
			t.Errorf("%s: parseACL = %+v, want an error", name, aces)
		}
	}
}

func FuzzParseACL(f *testing.F) {
	f.Add(aclBytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		aces, err := parseACL(b)
		if err == nil {
			grantTo(aces, writeRights, self)
		}
	})
}

func TestTrustedOwner(t *testing.T) {
	for sid, want := range map[string]bool{
		sidSystem: true, sidAdministrators: true, sidTrustedInstaller: true, self: true,
		user: false, sidUsers: false, sidEveryone: false, sidCreatorOwner: false,
	} {
		if got := trustedOwner(sid, self); got != want {
			t.Errorf("trustedOwner(%s) = %v, want %v", sid, got, want)
		}
	}
}
