package main

import (
	"fmt"
	"path/filepath"
	"regexp"

	"golang.org/x/sys/windows/registry"

	"github.com/vcguard/vcguard/agent/proctable"
)

// sidRE is a user account's SID: a local or domain account (S-1-5-21-…)
// or a Microsoft Entra ID account (S-1-12-1-…).
var sidRE = regexp.MustCompile(`^S-1-(5-21|12-1)(-[0-9]{1,10}){3,4}$`)

// homeOf returns the profile directory of a process's owner, from the
// profile list Windows keeps per SID (ProfileImagePath; see
// PLATFORM-NOTES.md): the same place %USERPROFILE% points to.
func homeOf(o proctable.Owner, _ int32) (string, error) {
	if !sidRE.MatchString(o.SID) {
		return "", fmt.Errorf("owner %q is not a user account's SID", o.SID)
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\`+o.SID, registry.QUERY_VALUE)
	if err != nil {
		return "", fmt.Errorf("profile of %s: %w", o.SID, err)
	}
	defer k.Close()
	dir, _, err := k.GetStringValue("ProfileImagePath")
	if err != nil {
		return "", fmt.Errorf("profile of %s: %w", o.SID, err)
	}
	if dir, err = registry.ExpandString(dir); err != nil || !filepath.IsAbs(dir) {
		return "", fmt.Errorf("profile of %s: %q is not an absolute path", o.SID, dir)
	}
	return dir, nil
}

// accountName: Windows has no user-level managed preferences folder;
// profiles are found by SID.
func accountName(int) string { return "" }
