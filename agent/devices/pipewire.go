package devices

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// PipeWire object types in pw-dump's output.
const (
	pwTypeNode   = "PipeWire:Interface:Node"
	pwTypeClient = "PipeWire:Interface:Client"
	pwTypeLink   = "PipeWire:Interface:Link"
)

// pwObject is one element of pw-dump's JSON array. Only what the decoder
// reads is declared; info is null for an object that was removed (in
// --monitor output).
type pwObject struct {
	ID   int    `json:"id"`
	Type string `json:"type"`
	Info *struct {
		State        string         `json:"state"`
		Props        map[string]any `json:"props"`
		OutputNodeID *int           `json:"output-node-id"`
		InputNodeID  *int           `json:"input-node-id"`
	} `json:"info"`
}

// pwProps reads PipeWire properties, whose values pw-dump writes as JSON
// strings, numbers or booleans depending on the key and the version.
type pwProps map[string]any

func (p pwProps) str(key string) string {
	switch v := p[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func (p pwProps) int(key string) int {
	switch v := p[key].(type) {
	case float64:
		if v >= 0 && v <= 1<<31-1 && v == float64(int(v)) {
			return int(v)
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
			return n
		}
	}
	return 0
}

func (p pwProps) bool(key string) bool {
	switch v := p[key].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(strings.TrimSpace(v))
		return b
	case float64:
		return v != 0
	}
	return false
}

// ParsePWDump decodes the JSON that pw-dump prints for the PipeWire server
// of user uid and returns the capture streams running now: every
// PipeWire:Interface:Node of media.class Stream/Input/Audio (Microphone)
// or Stream/Input/Video (Camera) in state "running".
//
// PID is the one the server itself recorded for the stream's client
// (pipewire.sec.pid, from the socket's peer credentials), not the
// client-supplied application.process.id, except where the server's peer
// is a proxy: a client of pipewire-pulse (client.api "pipewire-pulse") or
// a connection the desktop portal opened for an application
// (pipewire.access "portal", or pipewire.access.portal.is_portal). For
// those the peer PID is the proxy's, so the application's own claim is
// reported, and the proxy's PID only when there is no claim.
//
// Device is the node.name of the source node linked to the stream, else
// the stream's target (target.object, node.target), else its own
// node.name. Monitor marks an audio capture of an output (linked to an
// Audio/Sink, stream.capture.sink, or a *.monitor target); ScreenShare
// marks a video capture that is not a camera: a portal client that was
// not granted the Camera role, a media.role of Screen, or a linked
// source that is not a device (a compositor's screen-cast stream).
func ParsePWDump(data []byte, uid int) ([]Use, error) {
	var objs []pwObject
	if err := json.Unmarshal(data, &objs); err != nil {
		return nil, fmt.Errorf("decode pw-dump output: %w", err)
	}
	nodes := make(map[int]pwProps)
	clients := make(map[int]pwProps)
	// sources maps an input node to the output nodes linked to it.
	sources := make(map[int][]int)
	for _, o := range objs {
		if o.Info == nil {
			continue
		}
		switch o.Type {
		case pwTypeNode:
			nodes[o.ID] = o.Info.Props
		case pwTypeClient:
			clients[o.ID] = o.Info.Props
		case pwTypeLink:
			in, out := -1, -1
			if o.Info.InputNodeID != nil && o.Info.OutputNodeID != nil {
				in, out = *o.Info.InputNodeID, *o.Info.OutputNodeID
			} else if p := pwProps(o.Info.Props); p != nil {
				in, out = p.int("link.input.node"), p.int("link.output.node")
			}
			if in >= 0 && out >= 0 && !slices.Contains(sources[in], out) {
				sources[in] = append(sources[in], out)
			}
		}
	}
	var uses []Use
	session := strconv.Itoa(uid)
	for _, o := range objs {
		if o.Type != pwTypeNode || o.Info == nil || o.Info.State != "running" {
			continue
		}
		props := pwProps(o.Info.Props)
		var kind Kind
		switch props.str("media.class") {
		case "Stream/Input/Audio":
			kind = Microphone
		case "Stream/Input/Video":
			kind = Camera
		default:
			continue
		}
		u := Use{Kind: kind, UID: uid, Session: session, Source: SourcePipeWire}
		client := pwProps(clients[props.int("client.id")])
		u.PID, u.Process = pwClientProcess(client, props)

		// The source the stream reads from: the lowest-numbered linked
		// output node, for a stable answer when it reads from several.
		var src pwProps
		if outs := sources[o.ID]; len(outs) > 0 {
			slices.Sort(outs)
			src = nodes[outs[0]]
		}
		target := cmp.Or(props.str("target.object"), props.str("node.target"))
		u.Device = cmp.Or(src.str("node.name"), target, props.str("node.name"))

		switch kind {
		case Microphone:
			u.Monitor = props.bool("stream.capture.sink") ||
				strings.HasPrefix(src.str("media.class"), "Audio/Sink") ||
				strings.HasSuffix(u.Device, ".monitor") || strings.HasSuffix(target, ".monitor")
		case Camera:
			u.ScreenShare = pwScreenCast(client, props, src)
		}
		uses = append(uses, u)
	}
	return uses, nil
}

// pwClientProcess returns the PID and process name of a stream's client;
// see ParsePWDump for which PID is trusted.
func pwClientProcess(client, node pwProps) (int32, string) {
	secPID := client.int("pipewire.sec.pid")
	claimed := cmp.Or(client.int("application.process.id"), node.int("application.process.id"))
	proxied := client.str("client.api") == "pipewire-pulse" || pwPortalClient(client)
	pid := secPID
	if pid == 0 || (proxied && claimed != 0) {
		pid = claimed
	}
	name := cmp.Or(client.str("application.process.binary"), node.str("application.process.binary"),
		client.str("application.name"), node.str("application.name"))
	return int32(pid), name
}

// pwPortalClient reports whether the client's connection was made by the
// desktop portal on an application's behalf (OpenPipeWireRemote of the
// camera or screen-cast portal), so that its peer PID is the portal's. A
// Flatpak application connecting by itself (pipewire.access "flatpak"
// with a pipewire.access.portal.app_id) is not one: its peer PID is its
// own, and the PID it claims is one of its sandbox.
func pwPortalClient(client pwProps) bool {
	return client.str("pipewire.access") == "portal" || client.bool("pipewire.access.portal.is_portal")
}

// pwScreenCast reports whether a running video input stream captures a
// screen rather than a camera.
func pwScreenCast(client, node, src pwProps) bool {
	if strings.EqualFold(node.str("media.role"), "Screen") || strings.EqualFold(client.str("media.role"), "Screen") {
		return true
	}
	if pwPortalClient(client) {
		// The camera portal grants the Camera role; the screen-cast
		// portal grants none.
		roles := strings.FieldsFunc(client.str("pipewire.access.portal.media_roles"), func(r rune) bool { return r == ',' || r == ' ' })
		if !slices.Contains(roles, "Camera") {
			return true
		}
	}
	// A camera is a device node (device.api v4l2 or libcamera); a screen
	// cast comes from a compositor's stream, which has no device.
	if src != nil && src.str("device.api") == "" && src.str("device.id") == "" &&
		!strings.EqualFold(src.str("media.role"), "Camera") {
		return true
	}
	return false
}

// followPWMonitor reads the output of `pw-dump --monitor`, a series of
// JSON arrays of added or changed objects ({id, type, info}) and removed
// ones ({id, info: null}), and calls signal after each array that
// touches a node or a link: the only objects whose changes start, stop
// or move a capture stream. Client-only updates are left out: every
// pw-dump run, the agent's own checks included, adds and removes a
// client, and signalling those would make every check cause the next.
// It returns the reader's or the decoder's error (io.EOF at the end).
func followPWMonitor(r io.Reader, signal func()) error {
	types := make(map[int]string)
	dec := json.NewDecoder(r)
	for {
		var objs []struct {
			ID   int             `json:"id"`
			Type string          `json:"type"`
			Info json.RawMessage `json:"info"`
		}
		if err := dec.Decode(&objs); err != nil {
			return err
		}
		relevant := false
		for _, o := range objs {
			typ := o.Type
			if typ == "" {
				typ = types[o.ID]
			}
			if o.Info == nil || string(o.Info) == "null" {
				delete(types, o.ID)
			} else if o.Type != "" {
				types[o.ID] = o.Type
			}
			if typ == pwTypeNode || typ == pwTypeLink {
				relevant = true
			}
		}
		if relevant {
			signal()
		}
	}
}
