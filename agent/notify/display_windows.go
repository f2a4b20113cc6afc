package notify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultAUMID is the AppUserModelID vcguard's toasts are shown under.
// Windows shows toasts only for a registered AppUserModelID: the
// installer creates the Start menu shortcut of vcguard-agent with
// System.AppUserModel.ID set to it (and registers
// HKLM\Software\Classes\AppUserModelId\vcguard with its DisplayName and
// icon). Without that registration Show succeeds but Windows shows
// nothing.
const DefaultAUMID = "vcguard"

// createNoWindow keeps the PowerShell child from opening a console window.
const createNoWindow = 0x08000000

// ToastDisplay shows messages as Windows toast notifications, through
// Windows PowerShell and the Windows.UI.Notifications runtime API, in the
// user's session. Toasts with the same message key replace each other;
// clicking one opens the message's URL.
type ToastDisplay struct {
	// AUMID is the registered AppUserModelID; DefaultAUMID when "".
	AUMID string
	// PowerShell is the powershell.exe to run; Windows PowerShell in
	// %SystemRoot% when "" (never one found on PATH).
	PowerShell string
}

// OpenSystemDisplay returns a ToastDisplay under DefaultAUMID; appName
// is unused, as Windows takes the name from the AUMID's registration.
func OpenSystemDisplay(appName string) (SystemDisplay, error) {
	return &ToastDisplay{}, nil
}

// Show shows m as a toast.
func (d *ToastDisplay) Show(ctx context.Context, m Message) error {
	aumid := d.AUMID
	if aumid == "" {
		aumid = DefaultAUMID
	}
	script, err := toastScript(m, aumid)
	if err != nil {
		return fmt.Errorf("show notification %q: %w", m.Title, err)
	}
	ps := d.PowerShell
	if ps == "" {
		root := os.Getenv("SystemRoot")
		if root == "" {
			root = `C:\Windows`
		}
		ps = filepath.Join(root, "System32", "WindowsPowerShell", "v1.0", "powershell.exe")
	}
	cmd := exec.CommandContext(ctx, ps, "-NoProfile", "-NonInteractive", "-Command", "-")
	cmd.Stdin = strings.NewReader(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("show notification %q as a toast of %s with %s: %w: %s", m.Title, aumid, ps, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Close does nothing: a ToastDisplay holds no resources.
func (d *ToastDisplay) Close() error { return nil }
