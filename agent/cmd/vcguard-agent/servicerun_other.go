//go:build !windows

package main

import "github.com/kardianos/service"

// runService runs p under the system's service manager (systemd, launchd),
// through kardianos/service, which stops it on SIGTERM.
func runService(p *program) error {
	s, err := service.New(p, serviceConfig(p.cfg))
	if err != nil {
		return err
	}
	return s.Run()
}
