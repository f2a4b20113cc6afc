package fsperm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// MkdirAll creates dir, and its parents, when it does not exist, with the
// protected DACL Protect gives (the parents get the usual inherited one).
// An existing dir is left as it is: check it with CheckNotWritableByOthers.
func MkdirAll(dir string, usersMayRead bool) error {
	_, err := mkdirAll(dir, usersMayRead)
	return err
}

func mkdirAll(dir string, usersMayRead bool) (self string, err error) {
	self, err = selfSID()
	if err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	sd, err := windows.SecurityDescriptorFromString(protectedSDDL(self, usersMayRead))
	if err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := create(dir, sd); err != nil {
			return "", fmt.Errorf("create %s: %w", dir, err)
		}
	}
	return self, nil
}

// protectedSDDL is the security descriptor of the agent's directories:
// SYSTEM, Administrators and the agent's own account (when that is
// neither) full control, BUILTIN\Users read and list with usersMayRead,
// all of it inherited by files and folders (OICI), nothing inherited from
// the parent (P).
func protectedSDDL(self string, usersMayRead bool) string {
	sddl := "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
	if self != sidSystem && self != sidAdministrators {
		sddl += "(A;OICI;FA;;;" + self + ")"
	}
	if usersMayRead {
		sddl += "(A;OICI;0x1200a9;;;BU)" // FILE_GENERIC_READ | FILE_GENERIC_EXECUTE
	}
	return sddl
}

// Protect creates dir like MkdirAll, and gives an existing dir the
// protected DACL too: SYSTEM and Administrators (and the account the agent
// runs as, when that is neither) have full control of it and of everything
// in it; with usersMayRead BUILTIN\Users may read and list it too. Nothing
// is inherited from the parent, so %ProgramData%'s "users may create files
// and folders" does not reach it. Use it only on a directory that belongs
// to the agent alone (the state directory), never on one it shares.
//
// A dir that is a link or junction, or that someone else owns (a user who
// created it before the agent did), is refused, and so is anything already
// in it that someone else owns or may write: the agent must not take over
// what another user prepared. The error says what to remove.
func Protect(dir string, usersMayRead bool) error {
	self, err := mkdirAll(dir, usersMayRead)
	if err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString(protectedSDDL(self, usersMayRead))
	if err != nil {
		return fmt.Errorf("protect %s: %w", dir, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("protect %s: %w", dir, err)
	}
	// Hold the directory open, without letting anyone rename or delete it,
	// while its DACL is set by name: what was checked is what is changed.
	h, err := openNoFollow(dir)
	if err != nil {
		return fmt.Errorf("protect %s: %w", dir, err)
	}
	defer windows.CloseHandle(h)
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return fmt.Errorf("protect %s: %w", dir, err)
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 || info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY == 0 {
		return fmt.Errorf("%s is a link or not a directory: remove it and start the agent again", dir)
	}
	cur, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read the owner of %s: %w", dir, err)
	}
	owner, _, err := cur.Owner()
	if err != nil {
		return fmt.Errorf("read the owner of %s: %w", dir, err)
	}
	if !trustedOwner(owner.String(), self) {
		return fmt.Errorf("%s is owned by %s, not by SYSTEM or Administrators: someone else created it; remove it and start the agent again", dir, account(owner.String()))
	}
	// By name, so that the new inheritable entries reach what is already
	// in the directory (SetSecurityInfo on the handle would not).
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("set the access list of %s: %w", dir, err)
	}
	// What the OS made of it (and what was in the directory before).
	if err := CheckNotWritableByOthers(dir); err != nil {
		return fmt.Errorf("protect %s: %w", dir, err)
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		if d.Type()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
			return fmt.Errorf("%s is a link in the agent's directory %s: remove it and start the agent again", path, dir)
		}
		if err := CheckNotWritableByOthers(path); err != nil {
			return fmt.Errorf("in the agent's directory %s: %w: remove it and start the agent again", dir, err)
		}
		return nil
	})
}

// create makes dir with the security descriptor sd from the start, so that
// it is never open to others, not even for a moment.
func create(dir string, sd *windows.SECURITY_DESCRIPTOR) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	if err := windows.CreateDirectory(p, sa); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return err
	}
	return nil
}

// openNoFollow opens dir itself (not what a link there points to) for
// reading its attributes and security, sharing it for reading and writing
// but not for deletion or renaming.
func openNoFollow(dir string) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	return windows.CreateFile(p, windows.READ_CONTROL|windows.FILE_READ_ATTRIBUTES,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
}

// CheckNotWritableByOthers refuses a file or directory that someone else
// than SYSTEM, Administrators, TrustedInstaller or the agent's own account
// owns, or that its DACL lets anyone else write (change, append, delete,
// re-permission or take over; a NULL DACL lets everyone). The error names
// the path and who may write it.
func CheckNotWritableByOthers(path string) error {
	return check(path, writeRights, "writable by others")
}

// CheckPrivate is CheckNotWritableByOthers for any access: it refuses path
// when anyone else may even read it.
func CheckPrivate(path string) error {
	return check(path, anyRights, "readable or writable by others")
}

func check(path string, want uint32, what string) error {
	self, err := selfSID()
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read the access list of %s: %w", path, err)
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return fmt.Errorf("read the owner of %s: %v", path, err)
	}
	if !trustedOwner(owner.String(), self) {
		return fmt.Errorf("%s: owned by %s, not by SYSTEM or Administrators", path, account(owner.String()))
	}
	dacl, _, err := sd.DACL()
	if errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) || (err == nil && dacl == nil) {
		return fmt.Errorf("%s: %s: it has no access list (NULL DACL), so everyone may write it", path, what)
	}
	if err != nil {
		return fmt.Errorf("read the access list of %s: %w", path, err)
	}
	size := *(*uint16)(unsafe.Add(unsafe.Pointer(dacl), 2)) // ACL.AclSize
	aces, err := parseACL(unsafe.Slice((*byte)(unsafe.Pointer(dacl)), size))
	if err != nil {
		return fmt.Errorf("%s: access list: %w", path, err)
	}
	if a, ok := grantTo(aces, want, self); ok {
		return fmt.Errorf("%s: %s: %s has access %#x", path, what, account(a.sid), a.mask)
	}
	return nil
}

// selfSID is the account this process runs as (S-1-5-18 for the service).
func selfSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("read this process's account: %w", err)
	}
	return u.User.Sid.String(), nil
}

// account names a SID for a person: SID (DOMAIN\name), or the SID alone
// when it has no name (the SID first: names are translated).
func account(sid string) string {
	s, err := windows.StringToSid(sid)
	if err != nil {
		return sid
	}
	name, domain, _, err := s.LookupAccount("")
	if err != nil || name == "" {
		return sid
	}
	if domain != "" {
		name = domain + `\` + name
	}
	return sid + " (" + name + ")"
}
