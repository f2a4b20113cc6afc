//go:build windows

package siem

import "os"

// checkSecretPrivate does nothing on Windows, where the file's ACL, not a
// mode, governs access: keeping it to the service account and
// Administrators is the admin's job (as for --kek-file).
func checkSecretPrivate(path string, info os.FileInfo) error { return nil }
