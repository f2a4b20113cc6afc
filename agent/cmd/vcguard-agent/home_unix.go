//go:build linux || darwin

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/vcguard/vcguard/agent/proctable"
)

// homeOf returns the home directory of a process's owner: the account
// database's (os/user; on macOS through the system's directory services),
// else, for an account it does not list (a directory-service user on
// Linux, read without cgo from /etc/passwd only), the HOME the process
// was started with. Either way the directory must be the owner's own: a
// root service never reads settings from a directory another user owns.
func homeOf(o proctable.Owner, pid int32) (string, error) {
	uid := o.UID
	var dir string
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.HomeDir != "" {
		dir = u.HomeDir
	} else if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil {
		dir = envHome(env)
	}
	if dir == "" || !filepath.IsAbs(dir) {
		return "", fmt.Errorf("no home directory known for uid %d", uid)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("home of uid %d: %w", uid, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != uid {
		return "", fmt.Errorf("home %s of uid %d is not a directory that uid owns", dir, uid)
	}
	return dir, nil
}

// envHome returns HOME from a NUL-separated environment block; nothing
// else of it is kept.
func envHome(env []byte) string {
	for _, kv := range bytes.Split(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("HOME=")); ok {
			return string(v)
		}
	}
	return ""
}

// accountName returns the short name of uid from the account database
// (os/user; on macOS the system's directory services), or "" when it
// lists none. On macOS it names the folder of the person's user-level
// managed preferences (agent/posture).
func accountName(uid int) string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}
