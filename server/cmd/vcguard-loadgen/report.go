package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// report is the result of a run; docs/load.md explains every field.
type report struct {
	Agents          int     `json:"agents"`
	AgentsConnected int64   `json:"agents_connected"`
	AgentsEnrolled  int64   `json:"agents_enrolled"`
	AgentsReused    int64   `json:"agents_reused"`
	EnrollPerS      float64 `json:"enroll_per_s"`
	EnrollRetries   int64   `json:"enroll_retries"`
	RampS           float64 `json:"ramp_s"`
	HoldS           float64 `json:"hold_s"`
	DrainS          float64 `json:"drain_s"`
	Rate            float64 `json:"rate_per_agent_per_min"`
	Batch           int     `json:"batch"`

	EventsAcked        int64   `json:"events_acked"`
	EventsStored       int64   `json:"events_stored"`
	EventsStoredSource string  `json:"events_stored_source"`
	EventsUnacked      int64   `json:"events_unacked"`
	EventsPerS         float64 `json:"events_per_s"`
	AckMS              summary `json:"ack_ms"`

	PolicyVersion  uint64  `json:"policy_version"`
	PolicyReceived int64   `json:"policy_received"`
	PublishPostMS  float64 `json:"publish_post_ms"`
	PushMS         summary `json:"push_ms"`

	ServerRSSKiB      int64   `json:"server_rss_kib"`
	ServerRSSKiBStart int64   `json:"server_rss_kib_start"`
	ServerKiBPerAgent float64 `json:"server_kib_per_agent"`
	FileLimit         uint64  `json:"file_limit"`
	LoadgenRSSKiB     int64   `json:"loadgen_rss_kib"`

	Errors      int64            `json:"errors"`
	ErrorKinds  map[string]int64 `json:"error_kinds"`
	Interrupted bool             `json:"interrupted,omitempty"`

	// Attack is what each --attack did (attack.go); absent without one.
	Attack map[string]*attackReport `json:"attack,omitempty"`
}

func (r *report) writeJSON(w io.Writer) error {
	if r.ErrorKinds == nil {
		r.ErrorKinds = map[string]int64{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "agents:     %d connected of %d (%d enrolled at %.1f/s with %d retries, %d reused); ramp %.1fs, hold %.1fs, drain %.1fs\n",
		r.AgentsConnected, r.Agents, r.AgentsEnrolled, r.EnrollPerS, r.EnrollRetries, r.AgentsReused, r.RampS, r.HoldS, r.DrainS)
	fmt.Fprintf(&b, "events:     %d acknowledged, %d stored (%s), %d unacknowledged; %.1f/s during the hold (%g per agent per minute, batches of %d)\n",
		r.EventsAcked, r.EventsStored, r.EventsStoredSource, r.EventsUnacked, r.EventsPerS, r.Rate, r.Batch)
	fmt.Fprintf(&b, "ack:        p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.AckMS.P50, r.AckMS.P99, r.AckMS.Max)
	if r.PolicyVersion > 0 {
		fmt.Fprintf(&b, "policy:     version %d on %d streams (POST %.1f ms); arrival p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
			r.PolicyVersion, r.PolicyReceived, r.PublishPostMS, r.PushMS.P50, r.PushMS.P99, r.PushMS.Max)
	}
	if r.ServerRSSKiB > 0 {
		fmt.Fprintf(&b, "server:     %d KiB resident at the peak (%d KiB before the agents, %.1f KiB per connected agent)\n",
			r.ServerRSSKiB, r.ServerRSSKiBStart, r.ServerKiBPerAgent)
	}
	if r.LoadgenRSSKiB > 0 {
		fmt.Fprintf(&b, "loadgen:    %d KiB resident at the end of the hold\n", r.LoadgenRSSKiB)
	}
	fmt.Fprintf(&b, "errors:     %d", r.Errors)
	for _, k := range slices.Sorted(maps.Keys(r.ErrorKinds)) {
		fmt.Fprintf(&b, " %s=%d", k, r.ErrorKinds[k])
	}
	b.WriteString("\n")
	for _, k := range slices.Sorted(maps.Keys(r.Attack)) {
		a := r.Attack[k]
		fmt.Fprintf(&b, "attack %-10s %d attempts in %.1fs: %d accepted, %d refused", k+":", a.Attempts, a.Seconds, a.Accepted, a.Refused)
		for _, c := range slices.Sorted(maps.Keys(a.RefusedBy)) {
			fmt.Fprintf(&b, " %s=%d", c, a.RefusedBy[c])
		}
		fmt.Fprintf(&b, "; held at most %d, %d at the end", a.OpenMax, a.OpenAtEnd)
		if k == attackFlood {
			fmt.Fprintf(&b, "; %d devices, events %d sent, %d acknowledged, %d stored", a.Devices, a.EventsSent, a.EventsAcked, a.EventsStored)
		}
		if len(a.Errors) > 0 {
			b.WriteString("; errors")
			for _, c := range slices.Sorted(maps.Keys(a.Errors)) {
				fmt.Fprintf(&b, " %s=%d", c, a.Errors[c])
			}
		}
		b.WriteString("\n")
	}
	if r.Interrupted {
		b.WriteString("interrupted: the figures cover part of the run\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
