package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/vcguard/vcguard/agent"
	"github.com/vcguard/vcguard/agent/memtrim"
	"github.com/vcguard/vcguard/internal/schedslice"
)

// When the agent trims its memory (package memtrim): start-up is over
// well within the first; after that, every 2 minutes. That is the period
// at which the Go runtime forces a collection when none ran, and a trace
// of the idle agent showed its read-only data growing by 1-1.8 MB at
// about those times (a collection reads the type data of what is on the
// heap), so a longer period lets the resident set creep back to where it
// was. A trim costs a collection of a heap of about 2 MB and the minor
// faults after it (BenchmarkTrim: 6-7 ms of a test binary).
const (
	trimFirst = 30 * time.Second
	trimEvery = 2 * time.Minute
)

// lighten sets up how the running agent uses memory and the CPU: a
// smaller heap, memory handed back after start-up and now and then, and
// a short scheduler time slice.
func lighten(ctx context.Context, logger *slog.Logger) {
	// The agent idles for hours between events: trade a little CPU at
	// collection for a smaller heap (GOGC 50 unless the environment sets
	// it), and hand back what start-up parsing (catalog, schema) left.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	debug.FreeOSMemory()
	// Once start-up is over (enrollment, the first scan and inventory)
	// and then now and again, hand back the heap and the executable's
	// pages that only start-up or a burst of work ran (package memtrim).
	go memtrim.Run(ctx, trimFirst, trimEvery, func(s memtrim.Stats, err error) {
		if err != nil {
			logger.Warn("memory not trimmed", "err", err)
			return
		}
		logger.Debug("memory trimmed", "mappings", s.Mappings, "bytes", s.Bytes, "skipped", s.Skipped)
	})
	// A short time slice lets the agent act at once when it wakes for an
	// app's start on a busy machine, without a higher priority (package
	// schedslice; Linux 6.12 and later, elsewhere nothing).
	if r, err := schedslice.Set(agent.WakeSlice); err == nil {
		logger.Info("scheduler time slice set", "slice", r.Slice, "threads", r.Threads)
	} else if !errors.Is(err, schedslice.ErrNotSupported) {
		logger.Warn("scheduler time slice not set", "err", err)
	}
}
