package main

import (
	"context"
	"log/slog"

	"github.com/vcguard/vcguard/agent/devices"
)

// mediaProbe is what the notifier checks from the user's session: on
// macOS 26 CoreMediaIO may answer only a process with camera permission,
// which the system service lacks, so the notifier asks and reports.
func mediaProbe(logger *slog.Logger) func(context.Context) ([]devices.Use, error) {
	return devices.NewCameraProbe(logger.With("component", "devices"))
}
