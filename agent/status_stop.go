package agent

import (
	"errors"
	"time"
)

// WriteStopped marks the status file as written by a stopped agent: the
// time it stopped and the error that stopped it (nil for a clean stop),
// with no apps or devices in use, since nothing watches them any more.
// Call it after Run has returned (it reads what Run owned); before, it
// writes nothing and fails.
func (a *Agent) WriteStopped(cause error) error {
	select {
	case <-a.stopped:
	default:
		return errors.New("agent: WriteStopped while Run runs")
	}
	if a.cfg.StatusFile == "" {
		return nil
	}
	st := a.status()
	st.State = StateStopped
	st.Stopped = time.Now().UTC()
	st.Updated = st.Stopped
	if cause != nil {
		st.StopError = cause.Error()
	}
	st.Apps, st.Media = nil, nil
	a.saveStatus(st)
	return nil
}
