package appid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"
)

// codesignPath is Apple's code-signing tool, present on every macOS.
const codesignPath = "/usr/bin/codesign"

// codesignTimeout bounds one codesign run: verifying a bundle hashes every
// sealed file in it, and Electron apps ship hundreds of megabytes.
const codesignTimeout = 30 * time.Second

// inspectOS on macOS: the enclosing app bundle's Info.plist gives the
// bundle id and version; the executable's embedded code signature gives the
// team id it claims; codesign checks that the signature is valid and issued
// by Apple to that team.
func (in *Inspector) inspectOS(ctx context.Context, pid int32, exe string, c Candidate) Info {
	info := Info{Path: exe}
	if !strings.HasPrefix(exe, "/") {
		info.addReason("the executable path %q is not absolute", exe)
		return info
	}
	// What codesign verifies: the whole bundle when there is one (its
	// sealed resources included), else the bare executable.
	target := exe
	if root, ok := BundleRoot(exe); ok {
		target = root
		bi, err := ReadInfoPlist(in.underRoot(root + "/Contents/Info.plist"))
		if err != nil {
			info.addReason("no bundle id or version: %v", err)
		} else {
			info.BundleID, info.Version = bi.Identifier, bi.Version
		}
	} else {
		info.addReason("not inside an .app bundle: no bundle id or version")
	}

	cs, err := ReadCodeSignature(in.underRoot(exe))
	switch {
	case errors.Is(err, ErrNoCodeSignature):
		info.addReason("the executable is not code-signed")
		return info
	case err != nil:
		info.addReason("cannot read the code signature: %v", err)
		return info
	case cs.AdHoc:
		info.addReason("the code signature is ad hoc (no certificate)")
		return info
	}
	info.TeamID = cs.TeamID

	req, err := codesignRequirement(cs.TeamID, exe, c)
	if err != nil {
		info.addReason("%v", err)
		return info
	}
	info.Signed, err = in.codesignVerify(ctx, in.underRoot(target), req)
	if err != nil {
		info.addReason("%v", err)
	}
	return info
}

// codesignRequirement returns the code requirement the executable's
// signature must satisfy:
//
//   - with a team id: anchored at Apple's root, and either issued to that
//     team (Developer ID: the leaf certificate's subject OU is the team id)
//     or re-signed by the Mac App Store (leaf certificate extension
//     1.2.840.113635.100.6.1.9, as in Xcode's designated requirements; the
//     store's certificate names no team, the team id then comes from the
//     code directory the store signed);
//   - without one, for Apple's own apps (FaceTime, Safari) when the catalog
//     expects no team: signed by Apple itself ("anchor apple").
//
// The team id comes from the file under test, so it is checked to be a team
// id (ten upper-case letters and digits) before it goes into the
// requirement text.
func codesignRequirement(teamID, exe string, c Candidate) (string, error) {
	switch {
	case teamID != "":
		if !isTeamID(teamID) {
			return "", fmt.Errorf("the code signature claims an invalid team id %q", teamID)
		}
		return `anchor apple generic and (certificate leaf[field.1.2.840.113635.100.6.1.9] or certificate leaf[subject.OU] = "` + teamID + `")`, nil
	case len(c.TeamIDs) == 0 && isApplePlatformPath(exe):
		return "anchor apple", nil
	}
	return "", errors.New("the code signature has no team id")
}

// isTeamID reports whether s looks like an Apple developer team id.
func isTeamID(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// codesignVerify runs codesign --verify on target against req. It execs
// Apple's tool because the agent is built without cgo: the alternative is
// SecStaticCodeCreateWithPath + SecStaticCodeCheckValidity in
// Security.framework through purego, with CoreFoundation object handling.
// A run costs up to seconds on a large bundle; the Inspector caches results
// by file, so it runs once per executable version, not per process.
func (in *Inspector) codesignVerify(ctx context.Context, target, req string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, codesignTimeout)
	defer cancel()
	// "-R=text": a requirement argument starting with '=' is requirement
	// source text, not a file name (csreq(1)).
	cmd := exec.CommandContext(ctx, codesignPath, "--verify", "--strict=symlinks", "-R="+req, target)
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		return true, nil
	}
	msg := codesignMessage(out.Bytes())
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return false, fmt.Errorf("codesign did not finish: %w", ctx.Err())
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, fmt.Errorf("the code signature is not valid: %s", msg)
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		return false, fmt.Errorf("the code signature is valid but does not satisfy %s: %s", req, msg)
	}
	return false, fmt.Errorf("cannot check the code signature: codesign: %v: %s", err, msg)
}

// codesignMessage returns the first line of codesign's output, shortened
// for Info.Reason.
func codesignMessage(out []byte) string {
	line, _, _ := bytes.Cut(bytes.TrimSpace(out), []byte{'\n'})
	const maxLen = 300
	if len(line) > maxLen {
		n := maxLen
		for n > 0 && !utf8.RuneStart(line[n]) {
			n--
		}
		line = append(line[:n:n], "…"...)
	}
	if len(line) == 0 {
		return "no output"
	}
	return string(line)
}
