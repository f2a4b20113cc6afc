package main

// The attack's flags, their checks and its source addresses.

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// parseAttackList splits --attack; "all" is every attack.
func parseAttackList(v string) []string {
	var out []string
	for _, k := range strings.Split(v, ",") {
		k = strings.ToLower(strings.TrimSpace(k))
		switch {
		case k == "":
		case k == "all":
			out = append(out, attackKinds...)
		case !slices.Contains(out, k):
			out = append(out, k)
		}
	}
	return slices.Compact(out)
}

// validateAttack checks the --attack flags.
func (c *config) validateAttack() error {
	for _, k := range c.Attack {
		if !slices.Contains(attackKinds, k) {
			return fmt.Errorf("--attack %q: unknown attack; want a comma-separated list of %s, or all", k, strings.Join(attackKinds, ", "))
		}
	}
	switch {
	case c.AttackConns < 1 || c.AttackConns > 1_000_000:
		return fmt.Errorf("--attack-conns %d: want 1 to 1,000,000", c.AttackConns)
	case c.AttackStreams < 1 || c.AttackStreams > 1_000_000:
		return fmt.Errorf("--attack-streams %d: want 1 to 1,000,000", c.AttackStreams)
	case c.AttackEnrollMax < 0 || c.AttackEnrollMax > 1_000_000:
		return fmt.Errorf("--attack-enroll-max %d: want 0 to 1,000,000", c.AttackEnrollMax)
	case c.AttackDevices < 1 || c.AttackDevices > 1000:
		return fmt.Errorf("--attack-devices %d: want 1 to 1000", c.AttackDevices)
	case c.AttackDupStreams < 1 || c.AttackDupStreams > 100_000:
		return fmt.Errorf("--attack-dup-streams %d: want 1 to 100,000", c.AttackDupStreams)
	case c.AttackAddrs < 1 || c.AttackAddrs > 254:
		return fmt.Errorf("--attack-addrs %d: want 1 to 254", c.AttackAddrs)
	}
	return nil
}

func (c *config) attacks(kind string) bool { return slices.Contains(c.Attack, kind) }

// attackDescriptors is what the attacks hold at most: one descriptor per
// connection, plus a spare for enrollments.
func (c *config) attackDescriptors() uint64 {
	if len(c.Attack) == 0 {
		return 0
	}
	n := attackDescriptorsSpare
	if c.attacks(attackConns) {
		n += c.AttackConns
	}
	if c.attacks(attackHandshake) {
		n += ceilDiv(c.AttackStreams, handshakeStreamsPerConn)
	}
	if c.attacks(attackEnroll) {
		n += enrollAddrs
	}
	if c.attacks(attackFlood) {
		n += c.AttackDevices
	}
	if c.attacks(attackDupConnect) {
		n += ceilDiv(c.AttackDupStreams, dupStreamsPerConn)
	}
	return uint64(n)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// attackAddr is the n-th source address of attack kind: 127.66.K.x with K
// its place in attackKinds (from 1) and x from 1, n wrapping over addrs.
func attackAddr(kind string, n, addrs int) net.IP {
	k := slices.Index(attackKinds, kind) + 1
	return net.IPv4(127, 66, byte(k), byte(n%addrs+1))
}
