//go:build !unix

package agent

// checkStatusDir relies on the installer's ACL on Windows
// (%ProgramData%\vcguard: SYSTEM and Administrators write).
func checkStatusDir(string) error { return nil }
