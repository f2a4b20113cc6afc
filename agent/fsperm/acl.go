package fsperm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Access rights in an ACE's mask (winnt.h).
const (
	fileWriteData       = 0x0000_0002 // FILE_ADD_FILE on a directory
	fileAppendData      = 0x0000_0004 // FILE_ADD_SUBDIRECTORY on a directory
	fileWriteEA         = 0x0000_0010
	fileDeleteChild     = 0x0000_0040
	fileWriteAttributes = 0x0000_0100
	deleteRight         = 0x0001_0000
	writeDAC            = 0x0004_0000
	writeOwner          = 0x0008_0000
	synchronize         = 0x0010_0000
	genericAll          = 0x1000_0000
	genericWrite        = 0x4000_0000

	// writeRights is every right that lets its holder change a file or a
	// directory's content, attributes, security or existence (the
	// directory's FILE_DELETE_CHILD lets one delete and so replace any file
	// in it).
	writeRights = fileWriteData | fileAppendData | fileWriteEA | fileDeleteChild | fileWriteAttributes |
		deleteRight | writeDAC | writeOwner | genericAll | genericWrite
	// anyRights is every right but SYNCHRONIZE, which gives nothing on its
	// own.
	anyRights = ^uint32(synchronize)
)

// ACE types and flags (winnt.h).
const (
	aceAllowed               = 0x00
	aceAllowedObject         = 0x05
	aceAllowedCallback       = 0x09
	aceAllowedCallbackObject = 0x0b
	aceInheritOnly           = 0x08
	aceObjectTypePresent     = 0x1
	aceInheritedTypePresent  = 0x2
)

// Well-known SIDs the checks treat specially.
const (
	sidSystem           = "S-1-5-18"
	sidAdministrators   = "S-1-5-32-544"
	sidTrustedInstaller = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
	sidEveryone         = "S-1-1-0"
	sidUsers            = "S-1-5-32-545"
	sidCreatorOwner     = "S-1-3-0"
	sidCreatorGroup     = "S-1-3-1"
	sidOwnerRights      = "S-1-3-4"
)

// ace is one access-allowed entry of a DACL; entries that deny or audit
// are not kept (they never grant anything).
type ace struct {
	flags uint8
	mask  uint32
	sid   string
}

// parseACL decodes a binary ACL (ACL header, then AceCount ACEs) and
// returns its access-allowed entries.
func parseACL(b []byte) ([]ace, error) {
	if len(b) < 8 {
		return nil, errors.New("ACL shorter than its header")
	}
	size := int(binary.LittleEndian.Uint16(b[2:]))
	count := int(binary.LittleEndian.Uint16(b[4:]))
	if size < 8 || size > len(b) {
		return nil, fmt.Errorf("ACL size %d outside 8..%d", size, len(b))
	}
	b = b[:size]
	var out []ace
	off := 8
	for i := range count {
		if off+4 > len(b) {
			return nil, fmt.Errorf("ACE %d: past the end of the ACL", i)
		}
		typ, flags := b[off], b[off+1]
		aceSize := int(binary.LittleEndian.Uint16(b[off+2:]))
		if aceSize < 4 || off+aceSize > len(b) {
			return nil, fmt.Errorf("ACE %d: size %d past the end of the ACL", i, aceSize)
		}
		body := b[off+4 : off+aceSize]
		off += aceSize
		var sidAt int
		switch typ {
		case aceAllowed, aceAllowedCallback:
			sidAt = 4
		case aceAllowedObject, aceAllowedCallbackObject:
			if len(body) < 8 {
				return nil, fmt.Errorf("ACE %d: object ACE too short", i)
			}
			objFlags := binary.LittleEndian.Uint32(body[4:])
			sidAt = 8
			if objFlags&aceObjectTypePresent != 0 {
				sidAt += 16
			}
			if objFlags&aceInheritedTypePresent != 0 {
				sidAt += 16
			}
		default:
			continue // deny, audit, alarm, label: grant nothing
		}
		if len(body) < sidAt {
			return nil, fmt.Errorf("ACE %d: too short for its SID", i)
		}
		sid, err := parseSID(body[sidAt:])
		if err != nil {
			return nil, fmt.Errorf("ACE %d: %w", i, err)
		}
		out = append(out, ace{flags: flags, mask: binary.LittleEndian.Uint32(body), sid: sid})
	}
	return out, nil
}

// parseSID decodes a binary SID into its S-1-... form.
func parseSID(b []byte) (string, error) {
	if len(b) < 8 {
		return "", errors.New("SID shorter than its header")
	}
	n := int(b[1])
	if b[0] != 1 || len(b) < 8+4*n {
		return "", fmt.Errorf("SID revision %d with %d sub-authorities does not fit %d bytes", b[0], n, len(b))
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var s strings.Builder
	s.WriteString("S-1-")
	s.WriteString(strconv.FormatUint(auth, 10))
	for i := range n {
		s.WriteByte('-')
		s.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return s.String(), nil
}

// trustedOwner reports whether sid may own the agent's files: SYSTEM,
// Administrators, TrustedInstaller, or the account the agent runs as.
func trustedOwner(sid, self string) bool {
	switch sid {
	case sidSystem, sidAdministrators, sidTrustedInstaller:
		return true
	}
	return sid == self
}

// grantTo returns the first entry that gives a SID other than the trusted
// owners any of the rights in want, on the object itself (inherit-only
// entries are templates for children and grant nothing here; so are
// CREATOR OWNER and CREATOR GROUP entries; OWNER RIGHTS is the owner, who
// was checked apart).
func grantTo(aces []ace, want uint32, self string) (ace, bool) {
	for _, a := range aces {
		if a.flags&aceInheritOnly != 0 || a.mask&want == 0 || trustedOwner(a.sid, self) {
			continue
		}
		switch a.sid {
		case sidCreatorOwner, sidCreatorGroup, sidOwnerRights:
			continue
		}
		return a, true
	}
	return ace{}, false
}
