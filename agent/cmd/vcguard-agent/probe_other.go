//go:build !darwin

package main

import (
	"context"
	"log/slog"

	"github.com/vcguard/vcguard/agent/localipc"
)

// mediaProbe is nil: elsewhere the service sees every camera and
// microphone itself.
func mediaProbe(*slog.Logger) func(context.Context) ([]localipc.MediaUse, int, error) { return nil }
