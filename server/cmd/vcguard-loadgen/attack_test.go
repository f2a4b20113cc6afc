package main

import (
	"strings"
	"testing"
)

// TestLoadUnderAttack holds 300 agents for 10 s with a policy published
// half-way while every attack runs, and checks that the agents' run is
// clean and that each attack was tried and met its bound.
func TestLoadUnderAttack(t *testing.T) {
	bin := binaries(t)
	// Enroll limited per address (the agents enroll 32 per address, the
	// attacker far more), not per secret; the per-device budgets at their
	// defaults, spelled out because the flood's bound is computed from them.
	const eventsPerSec, eventBurst = 100, 2000
	s := startServer(t, bin, "--enroll-rate-per-addr", "20/100",
		"--device-events-per-sec", "100", "--device-event-burst", "2000", "--max-conns-per-addr", "64")
	const agents = 300
	rep := loadgen(t, bin, s, "--agents", "300", "--duration", "10s", "--publish",
		"--attack", "conns,handshake,enroll,flood,dupconnect", "--attack-conns", "2000", "--attack-enroll-max", "500")
	checkRun(t, rep, agents, true)

	for _, k := range attackKinds {
		a := rep.Attack[k]
		if a == nil {
			t.Errorf("attack %s: not in the report", k)
			continue
		}
		if a.Attempts <= 0 {
			t.Errorf("attack %s: no attempt", k)
		}
		if a.Seconds < 9 {
			t.Errorf("attack %s ran %gs, want the whole hold (10s)", k, a.Seconds)
		}
		if a.Refused+a.Accepted+sum(a.Errors) != a.Attempts {
			t.Errorf("attack %s: %d accepted + %d refused + %v errors != %d attempts", k, a.Accepted, a.Refused, a.Errors, a.Attempts)
		}
	}
	if t.Failed() {
		return
	}
	// conns: 8 addresses, 64 each held, the rest closed at once.
	if a := rep.Attack[attackConns]; a.Refused == 0 || a.OpenMax > 8*64 {
		t.Errorf("attack conns: %d refused, %d held at most; want refusals past --max-conns-per-addr and at most %d held", a.Refused, a.OpenMax, 8*64)
	}
	// handshake: at most 4 half-open streams per connection
	// (MaxConcurrentStreams), the rest wait and are counted refused.
	if a := rep.Attack[attackHandshake]; a.OpenMax > 4*a.Connections || a.RefusedBy["max_concurrent_streams"] == 0 {
		t.Errorf("attack handshake: %d streams held on %d connections, refused %v; want at most 4 per connection", a.OpenMax, a.Connections, a.RefusedBy)
	}
	// enroll: wrong secrets refused, real ones bounded by the flag.
	if a := rep.Attack[attackEnroll]; a.RefusedBy["permissiondenied"] == 0 || a.RealSecretAttempts > 500 || a.Accepted > 500 {
		t.Errorf("attack enroll: refused %v, %d real-secret calls, %d accepted; want wrong secrets refused and at most 500 enrollments", a.RefusedBy, a.RealSecretAttempts, a.Accepted)
	}
	// flood: what the server stored of the flood devices is within their
	// event budget (burst + rate × time, the bucket full at the start).
	if a := rep.Attack[attackFlood]; a.EventsAcked == 0 || a.HostnameClaims == 0 {
		t.Errorf("attack flood: %d events acknowledged, %d hostname claims; want some of both", a.EventsAcked, a.HostnameClaims)
	} else {
		budget := int64(a.Devices) * (eventBurst + eventsPerSec*int64(a.Seconds+2))
		if a.EventsStoredSource != "api_events_stored" || a.EventsStored > budget || a.EventsStored < a.EventsAcked {
			t.Errorf("attack flood: %d events stored (%s), %d acknowledged; want all acknowledged stored, within the budget %d", a.EventsStored, a.EventsStoredSource, a.EventsAcked, budget)
		}
	}
	// dupconnect: one live stream per device; the others are replaced.
	if a := rep.Attack[attackDupConnect]; a.OpenAtEnd > 1 || a.EndedBy["aborted"]+a.RefusedBy["aborted"] == 0 {
		t.Errorf("attack dupconnect: %d streams open at the end, ended %v, refused %v; want one and the others replaced (aborted)", a.OpenAtEnd, a.EndedBy, a.RefusedBy)
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestAttackDescriptorReserve: an attack the descriptor limit cannot hold
// beside the agents is refused before anything starts, naming the flags to
// lower; the agents' own shortage is reported as before.
func TestAttackDescriptorReserve(t *testing.T) {
	cfg, err := parseFlags([]string{"--data", "d", "--agents", "10000", "--attack", "conns,handshake", "--attack-conns", "9800"}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkDescriptors(cfg, 20000); err == nil || !strings.Contains(err.Error(), "--attack-conns") {
		t.Errorf("10,000 agents and 9,800 attack connections under 20,000 files: %v, want a refusal naming --attack-conns", err)
	}
	if err := checkDescriptors(cfg, 30000); err != nil {
		t.Errorf("under 30,000 files: %v, want it to fit", err)
	}
	if err := checkDescriptors(cfg, 5000); err == nil || !strings.Contains(err.Error(), "run fewer agents") {
		t.Errorf("under 5,000 files: %v, want the agents' own refusal", err)
	}
	cfg.Attack = nil
	if err := checkDescriptors(cfg, 10300); err != nil {
		t.Errorf("without --attack under 10,300 files: %v", err)
	}
}

func TestParseAttackList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "", true},
		{"conns, flood,conns", "conns,flood", true},
		{"all", strings.Join(attackKinds, ","), true},
		{"conns,nope", "", false},
	} {
		cfg, err := parseFlags([]string{"--data", "d", "--attack", tc.in}, &strings.Builder{})
		if (err == nil) != tc.ok {
			t.Errorf("--attack %q: err = %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && strings.Join(cfg.Attack, ",") != tc.want {
			t.Errorf("--attack %q = %v, want %s", tc.in, cfg.Attack, tc.want)
		}
	}
}
