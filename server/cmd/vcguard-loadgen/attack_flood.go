package main

import (
	"context"
	"crypto/tls"
	"strings"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Flood modes, by device number modulo 3.
const (
	floodAppStarted = iota // app_started, a new PID each
	floodCameraOn          // camera on, a new PID each
	floodPadded            // inventories near the server's size limits
)

const (
	// floodBatchSmall and floodBatchPadded are the events per batch: half
	// the server's largest batch, and as many ~58 KiB events as stay well
	// under gRPC's 4 MiB message.
	floodBatchSmall  = 500
	floodBatchPadded = 40
	// padString is the length of every padded text: the server's
	// default --event-max-string; padApps apps of four such texts make an
	// event just under its default --event-max-bytes (64 KiB).
	padString = 1024
	padApps   = 14
)

// runFlood has each flood device send event batches as fast as the server
// acknowledges them, saying hello with another device's hostname.
// attempts are batches sent; accepted those acknowledged; refused those
// the server ended the stream over (e.g. ResourceExhausted, the daily
// bytes used up) and streams it refused at connect.
func (a *attacker) runFlood(ctx context.Context, st *attackStats) {
	done := make(chan struct{}, len(a.floodIDs))
	for k, id := range a.floodIDs {
		go func() {
			defer func() { done <- struct{}{} }()
			a.floodDevice(ctx, st, k, id)
		}()
	}
	for range a.floodIDs {
		<-done
	}
}

func (a *attacker) floodDevice(ctx context.Context, st *attackStats, k int, id *identity) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: a.s.roots, ServerName: a.s.serverName, Certificates: []tls.Certificate{id.Cert}}
	cc, err := grpc.NewClient(a.s.target(), dialOptionsFrom(attackAddr(attackFlood, k, a.cfg.AttackAddrs), tlsConf)...)
	if err != nil {
		st.errs.add("dial")
		return
	}
	defer cc.Close()
	st.connections.Add(1)
	api := vcguardv1.NewAgentServiceClient(cc)
	wait := 500 * time.Millisecond
	for ctx.Err() == nil {
		if a.floodStream(ctx, st, api, k) {
			wait = 500 * time.Millisecond
		}
		if !pause(ctx, wait) {
			return
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// floodStream holds one stream of flood device k; it reports whether a
// batch was acknowledged on it.
func (a *attacker) floodStream(ctx context.Context, st *attackStats, api vcguardv1.AgentServiceClient, k int) (progressed bool) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := api.Connect(sctx)
	if err != nil {
		if ctx.Err() == nil {
			st.settleStream(err)
		}
		return false
	}
	// The hello claims the hostname of a well-behaved agent.
	claimed := hostname(k % max(a.cfg.Agents, 1))
	if err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{
		Device:        &vcguardv1.DeviceInfo{Hostname: claimed, Os: "linux", OsVersion: "Debian 12", Arch: "amd64", AgentVersion: "loadgen-attack"},
		PolicyVersion: a.s.startPolicy}}}); err != nil {
		if ctx.Err() == nil {
			st.settleStream(recvErr(stream))
		}
		return false
	}
	st.hostnameClaims.Add(1)
	seq, err := recvAck(stream)
	if err != nil {
		if ctx.Err() == nil {
			st.settleStream(err)
		}
		return false
	}
	mode := k % 3
	for ctx.Err() == nil {
		events := floodBatch(mode, seq, time.Now())
		st.attempts.Add(1)
		err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Batch{Batch: &vcguardv1.EventBatch{Events: events}}})
		var ack uint64
		if err == nil {
			st.eventsSent.Add(int64(len(events)))
			ack, err = recvAck(stream)
		} else {
			err = recvErr(stream)
		}
		if ctx.Err() != nil {
			st.attempts.Add(-1)
			return progressed
		}
		if err != nil {
			st.settle(err)
			return progressed
		}
		st.accepted.Add(1)
		if ack > seq {
			st.eventsAcked.Add(int64(ack - seq))
			seq = ack
		}
		progressed = true
	}
	return progressed
}

// settleStream counts a stream the server ended before any batch: an
// attempt of its own.
func (st *attackStats) settleStream(err error) {
	st.attempts.Add(1)
	st.settle(err)
}

// recvAck reads until the next acknowledgement (pushed policies are
// ignored: the attacker applies none).
func recvAck(stream vcguardv1.AgentService_ConnectClient) (uint64, error) {
	for {
		m, err := stream.Recv()
		if err != nil {
			return 0, err
		}
		if ack := m.GetAck(); ack != nil {
			return ack.GetSeq(), nil
		}
	}
}

// recvErr is the stream's status after a failed Send (Send returns io.EOF;
// the status comes with Recv).
func recvErr(stream vcguardv1.AgentService_ConnectClient) error {
	for {
		if _, err := stream.Recv(); err != nil {
			return err
		}
	}
}

// floodBatch is the next batch of a flood device in mode after sequence
// number seq.
func floodBatch(mode int, seq uint64, now time.Time) []*vcguardv1.Event {
	n := floodBatchSmall
	if mode == floodPadded {
		n = floodBatchPadded
	}
	ts := timestamppb.New(now)
	events := make([]*vcguardv1.Event, n)
	for j := range events {
		s := seq + uint64(j) + 1
		pid := int32(1_000_000 + s%1_000_000_000)
		ev := &vcguardv1.Event{Seq: s, Time: ts}
		switch mode {
		case floodAppStarted:
			ev.Detail = &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED, App: &vcguardv1.AppInstance{
				AppId: "zoom", Name: "Zoom", Pid: pid, Started: ts, Exe: "/opt/zoom/zoom", Verdict: vcguardv1.Verdict_VERDICT_APPROVED,
				Version: "6.2.11", Verified: true, Identity: "deb package zoom", PolicyAction: vcguardv1.Action_ACTION_MONITOR}}}
		case floodCameraOn:
			ev.Detail = &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{On: true, Use: &vcguardv1.MediaUse{
				Kind: "camera", Device: "/dev/video0", Pid: pid, Process: "zoom", AppId: "zoom", Category: "meeting",
				Session: "1000", Source: "pipewire", Since: ts}}}
		default:
			ev.Detail = &vcguardv1.Event_Inventory{Inventory: &vcguardv1.Inventory{Apps: paddedApps(pid, ts)}}
		}
		events[j] = ev
	}
	return events
}

var padText = strings.Repeat("x", padString)

// paddedApps is an inventory of padApps apps whose texts are each at the
// server's default string bound.
func paddedApps(pid int32, ts *timestamppb.Timestamp) []*vcguardv1.AppInstance {
	apps := make([]*vcguardv1.AppInstance, padApps)
	for i := range apps {
		apps[i] = &vcguardv1.AppInstance{AppId: "zoom", Name: padText, Pid: pid + int32(i), Started: ts, Exe: padText,
			Verdict: vcguardv1.Verdict_VERDICT_UNLISTED, Version: padText, Identity: padText, PolicyAction: vcguardv1.Action_ACTION_MONITOR}
	}
	return apps
}

// runDupConnect holds --attack-dup-streams Connect streams at once with one
// device's certificate, dupStreamsPerConn per connection, each re-opened
// about a second after it ends. attempts are streams opened; accepted
// those whose hello was answered; refused those the server ended before
// (replaced by a newer one: aborted). How the server later ended an
// accepted stream (aborted: replaced) is counted in ended_by.
func (a *attacker) runDupConnect(ctx context.Context, st *attackStats) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: a.s.roots, ServerName: a.s.serverName, Certificates: []tls.Certificate{a.dupID.Cert}}
	conns := ceilDiv(a.cfg.AttackDupStreams, dupStreamsPerConn)
	done := make(chan struct{}, a.cfg.AttackDupStreams)
	started := 0
	for n := range conns {
		cc, err := grpc.NewClient(a.s.target(), dialOptionsFrom(attackAddr(attackDupConnect, n, a.cfg.AttackAddrs), tlsConf)...)
		if err != nil {
			st.errs.add("dial")
			continue
		}
		defer cc.Close()
		st.connections.Add(1)
		api := vcguardv1.NewAgentServiceClient(cc)
		for range min(dupStreamsPerConn, a.cfg.AttackDupStreams-n*dupStreamsPerConn) {
			started++
			go func() {
				defer func() { done <- struct{}{} }()
				a.dupSlot(ctx, st, api)
			}()
		}
	}
	for range started {
		<-done
	}
}

func (a *attacker) dupSlot(ctx context.Context, st *attackStats, api vcguardv1.AgentServiceClient) {
	if !pause(ctx, time.Second) {
		return
	}
	info := &vcguardv1.DeviceInfo{Hostname: "attack-dupconnect", Os: "linux", OsVersion: "Debian 12", Arch: "amd64", AgentVersion: "loadgen-attack"}
	for ctx.Err() == nil && !a.draining.Load() {
		func() {
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			st.attempts.Add(1)
			stream, err := api.Connect(sctx)
			if err == nil {
				err = stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{Device: info, PolicyVersion: a.s.startPolicy}}})
				if err != nil {
					err = recvErr(stream)
				} else {
					_, err = recvAck(stream)
				}
			}
			if ctx.Err() != nil {
				st.attempts.Add(-1)
				return
			}
			st.settle(err)
			if err != nil {
				return
			}
			st.opened()
			_, err = recvAck(stream)
			for err == nil {
				_, err = recvAck(stream)
			}
			st.open.Add(-1)
			if ctx.Err() == nil {
				st.endedBy.add(codeKind(err))
			}
		}()
		if !pause(ctx, time.Second) {
			return
		}
	}
}
