package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestHostileHostnameClaim: a device whose hello claims another device's
// hostname is recorded in the audit log (device_hostname_change, from and
// to, naming the device), and the real device keeps its own record and
// keeps reporting.
func TestHostileHostnameClaim(t *testing.T) {
	t.Parallel()
	s := newHostileServer(t)
	agentID := startWellBehaved(t, s)
	victim := s.device(t, agentID).Hostname

	ctx, stop := context.WithTimeout(t.Context(), 20*time.Second)
	defer stop()
	attacker := enrollProto(t, s, "hostile-claimer")
	if _, _, err := attacker.connect(ctx, t, s, victim); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the hostname change in the audit log", func() bool {
		audit := string(s.getRaw(t, "/api/v1/audit?action=device_hostname_change"))
		return strings.Contains(audit, attacker.id) && strings.Contains(audit, "hostile-claimer") && strings.Contains(audit, victim)
	})
	if got := s.device(t, agentID).Hostname; got != victim {
		t.Errorf("the real device's hostname became %q", got)
	}
	reportsDuringAttack(t, s, agentID, 20*time.Second)
}
