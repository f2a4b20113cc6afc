//go:build !unix && !windows

package policydir

// checkProtected cannot check anything on this OS.
func (d *Dir) checkProtected(string) error { return nil }
