//go:build !darwin

package main

import (
	"context"
	"log/slog"

	"github.com/vcguard/vcguard/agent/ipc"
)

// mediaProbe is nil: elsewhere the service sees every camera and
// microphone itself.
func mediaProbe(*slog.Logger) func(context.Context) ([]ipc.MediaUse, int, error) { return nil }
