package main

import "strings"

// joinVersion joins the non-empty parts of an OS version with single
// spaces (a missing part must not leave "Windows 10 Pro  " behind).
func joinVersion(parts ...string) string {
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}
