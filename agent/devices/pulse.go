package devices

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PulseSource is a PulseAudio source as `pactl --format=json list
// sources` describes it.
type PulseSource struct {
	Name string
	// Monitor is set for the monitor source of a sink.
	Monitor bool
}

// ParsePactlSources decodes `pactl --format=json list sources` into the
// sources by index.
func ParsePactlSources(data []byte) (map[int]PulseSource, error) {
	var list []struct {
		Index int    `json:"index"`
		Name  string `json:"name"`
		// monitor_source is, for a source, the sink it monitors.
		MonitorOf string `json:"monitor_source"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("decode pactl sources: %w", err)
	}
	m := make(map[int]PulseSource, len(list))
	for _, s := range list {
		m[s.Index] = PulseSource{Name: s.Name, Monitor: s.MonitorOf != "" || strings.HasSuffix(s.Name, ".monitor")}
	}
	return m, nil
}

// ParsePactlSourceOutputs decodes `pactl --format=json list
// source-outputs` of user uid's PulseAudio server: each source output
// that is not corked is a capture in use. PulseAudio records no PID of
// its own in a client's properties, so PID is the client's claim
// (application.process.id). sources, from ParsePactlSources, names the
// source read from; without it Device is "source #N". Monitor marks the
// capture of a sink's monitor source.
func ParsePactlSourceOutputs(data []byte, uid int, sources map[int]PulseSource) ([]Use, error) {
	var list []struct {
		Index      int            `json:"index"`
		Source     *int           `json:"source"`
		Corked     bool           `json:"corked"`
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("decode pactl source outputs: %w", err)
	}
	var uses []Use
	session := strconv.Itoa(uid)
	for _, so := range list {
		if so.Corked {
			continue
		}
		props := pwProps(so.Properties)
		u := Use{
			Kind: Microphone, UID: uid, Session: session, Source: SourcePulseAudio,
			PID:     int32(props.int("application.process.id")),
			Process: props.str("application.process.binary"),
		}
		if u.Process == "" {
			u.Process = props.str("application.name")
		}
		if so.Source != nil {
			src, ok := sources[*so.Source]
			if ok && src.Name != "" {
				u.Device = src.Name
			} else {
				u.Device = "source #" + strconv.Itoa(*so.Source)
			}
			u.Monitor = src.Monitor
		}
		if u.Device == "" {
			u.Device = props.str("target.object")
		}
		if props.bool("stream.capture.sink") || strings.HasSuffix(u.Device, ".monitor") {
			u.Monitor = true
		}
		uses = append(uses, u)
	}
	return uses, nil
}

// followPactlSubscribe reads the output of `pactl subscribe` ("Event
// 'new' on source-output #12") and calls signal for each event on a
// source output or a source. Client events are left out: every pactl
// run, the agent's own checks included, is a client that comes and goes.
// It returns the reader's error, nil at the end.
func followPactlSubscribe(r io.Reader, signal func()) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		_, facility, ok := strings.Cut(sc.Text(), " on ")
		if ok && strings.HasPrefix(facility, "source") {
			signal()
		}
	}
	return sc.Err()
}
