package agent

import (
	"bytes"
	"path"
	"strings"
)

// interpreters are the programs that run an app's start script: shells,
// env, and the script languages apps' launchers are written in.
var interpreters = map[string]bool{
	"sh": true, "dash": true, "bash": true, "zsh": true, "ksh": true, "env": true,
	"python": true, "python3": true, "perl": true, "ruby": true,
}

// isInterpreter reports whether an executable's base name is an
// interpreter's (python3.11 counts as python3).
func isInterpreter(name string) bool {
	if interpreters[name] {
		return true
	}
	base, _, ok := strings.Cut(name, ".")
	return ok && strings.HasPrefix(name, "python3.") && interpreters[base]
}

// parseScript returns the script an interpreter runs from its command line
// (/proc/PID/cmdline: NUL-separated arguments, slash paths on every OS): the first argument after
// the interpreter's own options, when it is an absolute path ("sh -e
// /usr/bin/chromium" → /usr/bin/chromium). A relative or missing script
// gives "": it says nothing the agent can check.
func parseScript(cmdline []byte) string {
	args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
	for _, a := range args[min(1, len(args)):] {
		s := string(a)
		if strings.HasPrefix(s, "-") {
			continue // an option of the interpreter
		}
		if path.IsAbs(s) && !strings.ContainsRune(s, '\n') {
			return path.Clean(s)
		}
		return ""
	}
	return ""
}
