package main

import (
	"context"
	"log/slog"

	"github.com/vcguard/vcguard/agent"
	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/localipc"
)

// mediaProbe is what the notifier checks from the user's session: on
// macOS 26 CoreMediaIO may answer only a process with camera permission,
// which the system service lacks, so the notifier asks and reports.
func mediaProbe(logger *slog.Logger) func(context.Context) ([]localipc.MediaUse, int, error) {
	probe := devices.NewCameraProbe(logger.With("component", "devices"))
	return func(ctx context.Context) ([]localipc.MediaUse, int, error) {
		us, err := probe(ctx)
		if err != nil {
			return nil, 0, err
		}
		ms, skipped := agent.IPCMedia(us)
		return ms, skipped, nil
	}
}
