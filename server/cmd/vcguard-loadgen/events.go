package main

import (
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// simApp is a meeting app the simulated agents run.
type simApp struct {
	id, name, exe, version, identity string
}

var simApps = []simApp{
	{"zoom", "Zoom", "/opt/zoom/zoom", "6.2.11", "deb package zoom"},
	{"teams", "Microsoft Teams", "/usr/bin/teams-for-linux", "1.12.7", "deb package teams-for-linux"},
	{"webex", "Webex", "/opt/Webex/bin/CiscoCollabHost", "44.10.0", "deb package webex"},
	{"slack", "Slack", "/usr/lib/slack/slack", "4.41.105", "deb package slack-desktop"},
}

// cycleLen is the events of one simulated meeting: the app starts, camera
// and microphone go on and off, the app stops.
const cycleLen = 6

// eventFor returns agent's event seq. Its content is a function of the
// sequence number alone (and of base, the agent's start), so a batch resent
// after a reconnect carries the same events: a meeting cycle of app_started,
// camera_on, microphone_on, camera_off, microphone_off, app_stopped, with a
// new PID per meeting.
func eventFor(seq uint64, base, now time.Time, policyVersion uint64) *vcguardv1.Event {
	meeting := seq / cycleLen
	app := simApps[meeting%uint64(len(simApps))]
	pid := int32(10_000 + meeting%50_000)
	started := base.Add(time.Duration(meeting) * time.Second)
	inst := &vcguardv1.AppInstance{
		AppId: app.id, Name: app.name, Pid: pid, Started: timestamppb.New(started), Exe: app.exe,
		Verdict: vcguardv1.Verdict_VERDICT_APPROVED, PolicyVersion: policyVersion, Version: app.version,
		Verified: true, Identity: app.identity, PolicyAction: vcguardv1.Action_ACTION_MONITOR,
	}
	ev := &vcguardv1.Event{Seq: seq, Time: timestamppb.New(now)}
	media := func(kind, device string, on bool) *vcguardv1.Event_Media {
		return &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{On: on, Use: &vcguardv1.MediaUse{
			Kind: kind, Device: device, Pid: pid, Process: app.id, AppId: app.id, Category: "meeting",
			Session: "1000", Source: "pipewire", Since: timestamppb.New(started),
		}}}
	}
	const camera, mic = "/dev/video0", "alsa_input.pci-0000_00_1f.3.analog-stereo"
	switch seq % cycleLen {
	case 0:
		ev.Detail = &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED, App: inst}}
	case 1:
		ev.Detail = media("camera", camera, true)
	case 2:
		ev.Detail = media("microphone", mic, true)
	case 3:
		ev.Detail = media("camera", camera, false)
	case 4:
		ev.Detail = media("microphone", mic, false)
	default:
		ev.Detail = &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STOPPED, App: inst}}
	}
	return ev
}

// inventoryEvent is what an agent records when it starts: the complete set
// of running apps (none).
func inventoryEvent(seq uint64, now time.Time) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(now), Detail: &vcguardv1.Event_Inventory{Inventory: &vcguardv1.Inventory{}}}
}

// policyAppliedEvent records that the agent applies a policy version.
func policyAppliedEvent(seq uint64, now time.Time, version uint64) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(now),
		Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: version}}}
}
