package state

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/policies"
)

// Use is one camera, microphone or screen use as the agent knows it.
type Use struct {
	devices.Use
	// Since is when the agent first saw it.
	Since time.Time
	// Ancestry is the PIDs of the process and its ancestors when the use
	// began, the process first; the instance it belongs to now is found
	// among them (Apps.Attribute).
	Ancestry []int32
	// App is the catalog app the process belonged to when the use began;
	// nil for a process of no catalog app.
	App *policies.App
}

// Key identifies the use (devices.Use.Key).
func (u Use) Key() string { return u.Use.Key() }

// SessionName is the user session the use belongs to: the one the source
// named, or the uid.
func (u Use) SessionName() string {
	if u.Session == "" && u.UID >= 0 {
		return "uid " + strconv.Itoa(u.UID)
	}
	return u.Session
}

// MediaDelta is what a report of the uses changed.
type MediaDelta struct {
	// On are the uses that began, in the report's order.
	On []Use
	// Off are the uses that ended, by key.
	Off []Use
}

// Media are the device uses going on. The zero value is not usable; call
// NewMedia.
type Media struct {
	uses map[string]Use
}

// NewMedia returns a state with no use.
func NewMedia() *Media { return &Media{uses: map[string]Use{}} }

// Known reports whether the use with key k is going on.
func (m *Media) Known(k string) bool {
	_, ok := m.uses[k]
	return ok
}

// Len is the number of uses.
func (m *Media) Len() int { return len(m.uses) }

// Uses returns the uses going on, by key.
func (m *Media) Uses() []Use {
	out := make([]Use, 0, len(m.uses))
	for _, k := range slices.Sorted(maps.Keys(m.uses)) {
		out = append(out, m.uses[k])
	}
	return out
}

// Apply takes the complete set of uses now. A use not known before begins
// (its Since and Ancestry as given); one known keeps what was known of it;
// one missing has ended. Uses listed twice count once.
func (m *Media) Apply(now []Use) MediaDelta {
	var d MediaDelta
	current := make(map[string]bool, len(now))
	for _, u := range now {
		k := u.Key()
		if current[k] {
			continue
		}
		current[k] = true
		if _, known := m.uses[k]; known {
			continue
		}
		m.uses[k] = u
		d.On = append(d.On, u)
	}
	for _, k := range slices.Sorted(maps.Keys(m.uses)) {
		if !current[k] {
			d.Off = append(d.Off, m.uses[k])
			delete(m.uses, k)
		}
	}
	return d
}
