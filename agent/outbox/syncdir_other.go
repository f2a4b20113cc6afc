//go:build !unix

package outbox

// syncDir does nothing where the os package cannot sync a directory
// (Windows). A power loss right after a rename may then undo it, leaving
// the old content of the file: acknowledged events are sent again.
func syncDir(string) error { return nil }
