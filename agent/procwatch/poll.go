package procwatch

import (
	"context"
	"time"
)

// pollLoop polls w until ctx ends, with a full rescan every
// RescanInterval. Errors are logged and the next tick tries again: a
// process table that cannot be read once is no reason to stop watching.
func pollLoop(ctx context.Context, w *Watcher, emit func(Changes)) error {
	log := w.cfg.Logger
	log.Info("polling the process table", "mode", ModePoll, "interval", w.cfg.PollInterval, "rescan", w.cfg.RescanInterval)
	poll := time.NewTicker(w.cfg.PollInterval)
	defer poll.Stop()
	rescan := time.NewTicker(w.cfg.RescanInterval)
	defer rescan.Stop()
	for {
		var (
			ch  Changes
			err error
		)
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			ch, err = w.Poll(ctx)
		case <-rescan.C:
			ch, err = w.Scan(ctx)
		case <-w.refilter:
			ch, err = w.Scan(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("process scan failed", "err", err)
			continue
		}
		if !ch.Empty() {
			emit(ch)
		}
	}
}
