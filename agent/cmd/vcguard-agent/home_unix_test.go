//go:build linux || darwin

package main

import (
	"os"
	"os/user"
	"testing"

	"github.com/vcguard/vcguard/agent/proctable"
)

func TestEnvHome(t *testing.T) {
	for env, want := range map[string]string{
		"PATH=/bin\x00HOME=/home/ana\x00LANG=de_DE.UTF-8\x00": "/home/ana",
		"HOMEX=/x\x00":             "",
		"":                         "",
		"HOME=\x00":                "",
		"XHOME=/y\x00HOME=/home/b": "/home/b",
	} {
		if got := envHome([]byte(env)); got != want {
			t.Errorf("envHome(%q) = %q, want %q", env, got, want)
		}
	}
}

// The home of this test's own process is found, and is the running
// user's; a uid that owns no such directory gets none.
func TestHomeOf(t *testing.T) {
	home, err := homeOf(proctable.Owner{UID: os.Getuid(), EUID: os.Geteuid()}, int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
		t.Errorf("home %q: %v", home, err)
	}
	if _, err := homeOf(proctable.Owner{UID: 4242424, EUID: 4242424}, int32(os.Getpid())); err == nil {
		t.Error("a uid that owns no home got one (the process's HOME belongs to another uid)")
	}
}

// accountName is the account database's short name, which names a
// person's folder of macOS user-level managed preferences; a uid it does
// not list has none.
func TestAccountName(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip("the account database does not list this test's user:", err)
	}
	if got := accountName(os.Getuid()); got != u.Username {
		t.Errorf("accountName(%d) = %q, want %q", os.Getuid(), got, u.Username)
	}
	if got := accountName(4242424); got != "" {
		t.Errorf("accountName of an unlisted uid = %q", got)
	}
}
