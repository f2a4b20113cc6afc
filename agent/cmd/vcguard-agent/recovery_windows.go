package main

import (
	"fmt"
	"time"

	"golang.org/x/sys/windows/svc/mgr"
)

// setRecovery makes the service control manager restart the agent when it
// crashes or stops with an error: after 5 s, 30 s, then every 60 s, the
// count reset after a day without failure. kardianos/service sets no
// recovery actions on Windows.
func setRecovery(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the service control manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("open service %s: %w", name, err)
	}
	defer s.Close()
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	}
	if err := s.SetRecoveryActions(actions, uint32((24 * time.Hour).Seconds())); err != nil {
		return err
	}
	// Also when the agent exits with an error rather than crashing.
	return s.SetRecoveryActionsOnNonCrashFailures(true)
}
