package main

import (
	"golang.org/x/sys/windows/svc"
)

// runService runs p under the Windows service control manager.
//
// kardianos/service decides once, from svc.IsWindowsService, whether it
// talks to the service control manager; where that heuristic fails (it
// wants the parent to be services.exe in session 0; Wine, for one, runs
// services in session 1) its Run never calls the dispatcher and the start
// times out ("Service request timeout"). The service's command line carries
// --service, so the agent calls the dispatcher itself.
func runService(p *program) error {
	return svc.Run(serviceName, &winService{p: p})
}

// winService answers the service control manager for the agent.
type winService struct{ p *program }

// Execute starts the agent, reports it running, and stops it when the
// service control manager asks (stop, or the system shutting down).
func (w *winService) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	if err := w.p.Start(nil); err != nil {
		w.p.logger.Error("service start", "err", err)
		return true, 1
	}
	accepts := svc.AcceptStop | svc.AcceptShutdown
	status <- svc.Status{State: svc.Running, Accepts: accepts}
	for c := range req {
		switch c.Cmd {
		case svc.Interrogate:
			status <- c.CurrentStatus
		case svc.Stop, svc.Shutdown:
			status <- svc.Status{State: svc.StopPending}
			if err := w.p.Stop(nil); err != nil {
				w.p.logger.Error("service stop", "err", err)
				return true, 2
			}
			return false, 0
		}
	}
	return false, 0
}
