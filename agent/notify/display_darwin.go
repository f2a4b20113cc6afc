package notify

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// OSAScriptDisplay shows messages in the macOS notification centre with
// AppleScript's display notification, run by osascript in the user's
// session. It is the fallback the platform notes allow: notifications
// appear under Script Editor's name, cannot be replaced or clicked, and
// UNUserNotificationCenter needs a signed .app bundle vcguard does not
// have yet. Messages are not replaced by key; the body carries the URL.
type OSAScriptDisplay struct {
	// Path is the osascript executable; /usr/bin/osascript when "".
	Path string
}

// OpenSystemDisplay returns an OSAScriptDisplay; appName is unused, as
// osascript notifications carry Script Editor's name.
func OpenSystemDisplay(appName string) (SystemDisplay, error) {
	return &OSAScriptDisplay{}, nil
}

// Show shows m. The text is passed as arguments of the script, never
// inside it.
func (d *OSAScriptDisplay) Show(ctx context.Context, m Message) error {
	path := d.Path
	if path == "" {
		path = "/usr/bin/osascript"
	}
	cmd := exec.CommandContext(ctx, path, osascriptArgs(m)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("show notification %q with %s: %w: %s", m.Title, path, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Close does nothing: an OSAScriptDisplay holds no resources.
func (d *OSAScriptDisplay) Close() error { return nil }
