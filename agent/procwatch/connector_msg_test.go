package procwatch

import (
	"encoding/binary"
	"errors"
	"slices"
	"syscall"
	"testing"
)

// Builders for what the kernel sends, in the host's byte order.

// buildNlmsg wraps payload in a netlink header of type typ and pads it to the
// netlink alignment.
func buildNlmsg(typ uint16, payload []byte) []byte {
	ne := binary.NativeEndian
	b := ne.AppendUint32(nil, uint32(nlmsgHdrLen+len(payload)))
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, 0) // flags
	b = ne.AppendUint32(b, 7) // seq
	b = ne.AppendUint32(b, 0) // port id: the kernel
	b = append(b, payload...)
	for len(b)%nlmsgAlignTo != 0 {
		b = append(b, 0)
	}
	return b
}

// buildCnMsg builds a cn_msg carrying data.
func buildCnMsg(idx, val, seq, ack uint32, data []byte) []byte {
	ne := binary.NativeEndian
	b := ne.AppendUint32(nil, idx)
	b = ne.AppendUint32(b, val)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, ack)
	b = ne.AppendUint16(b, uint16(len(data)))
	b = ne.AppendUint16(b, 0)
	return append(b, data...)
}

// buildProcEvent builds a proc_event: what, cpu, timestamp, then the union's
// 32-bit fields.
// testStamp is the timestamp_ns of every built proc_event.
const testStamp = 1234567890123

func buildProcEvent(what uint32, fields ...uint32) []byte {
	ne := binary.NativeEndian
	b := ne.AppendUint32(nil, what)
	b = ne.AppendUint32(b, 3)         // cpu
	b = ne.AppendUint64(b, testStamp) // timestamp_ns
	for _, f := range fields {
		b = ne.AppendUint32(b, f)
	}
	return b
}

// kernelMsg is one complete message as the kernel sends it: NLMSG_DONE with a
// process connector cn_msg.
func kernelMsg(ev []byte) []byte {
	return buildNlmsg(nlmsgDone, buildCnMsg(cnIdxProc, cnValProc, 42, 0, ev))
}

const (
	procEventFork     = 0x00000001
	procEventUID      = 0x00000004
	procEventGID      = 0x00000040
	procEventSID      = 0x00000080
	procEventPtrace   = 0x00000100
	procEventComm     = 0x00000200
	procEventCoredump = 0x40000000
)

// Event bodies as the kernel lays them out.

func evExec(pid, tgid uint32) []byte { return buildProcEvent(procEventExec, pid, tgid) }

// evExit has parent_pid and parent_tgid, as since Linux 4.19.
func evExit(pid, tgid uint32) []byte {
	return buildProcEvent(procEventExit, pid, tgid, 0, 17, 1, 1)
}

// evExitOld ends after exit_signal, as before Linux 4.19.
func evExitOld(pid, tgid uint32) []byte { return buildProcEvent(procEventExit, pid, tgid, 9, 17) }

// evFork: parent pid/tgid, child pid/tgid.
func evFork(ppid, child uint32) []byte {
	return buildProcEvent(procEventFork, ppid, ppid, child, child)
}

func evComm(pid uint32) []byte {
	return append(buildProcEvent(procEventComm, pid, pid), "zoom\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)
}

// evAck is the answer to a listen or ignore request.
func evAck(errno uint32) []byte { return buildProcEvent(procEventNone, errno) }

// nlError is an NLMSG_ERROR carrying code (a negative errno, or 0 for an
// acknowledgement) and the request's header.
func nlError(code int32) []byte {
	return buildNlmsg(nlmsgError, append(binary.NativeEndian.AppendUint32(nil, uint32(code)), make([]byte, nlmsgHdrLen)...))
}

var execMsg = kernelMsg(evExec(100, 100))

func TestParseConnectorMessages(t *testing.T) {
	t.Parallel()
	// An exec event with one stray byte of cn_msg data: its netlink length
	// is not a multiple of 4 and the next message starts after padding.
	oddExec := buildNlmsg(nlmsgDone, buildCnMsg(cnIdxProc, cnValProc, 1, 0, append(evExec(300, 300), 0xff)))
	if binary.NativeEndian.Uint32(oddExec)%nlmsgAlignTo == 0 {
		t.Fatal("test setup: oddExec is aligned")
	}
	unpadded := buildNlmsg(nlmsgDone, buildCnMsg(cnIdxProc, cnValProc, 1, 0, append(evExec(301, 301), 0xff)))
	unpadded = unpadded[:binary.NativeEndian.Uint32(unpadded)]

	tests := []struct {
		name    string
		in      []byte
		want    []procEvent
		acks    []connectorAck
		wantErr error // matched with errors.Is; nil: no error
	}{
		{name: "empty datagram", in: nil},
		{name: "exec", in: execMsg, want: []procEvent{{procExec, 100, testStamp}}},
		{name: "exec by a thread reports the process", in: kernelMsg(evExec(101, 100)), want: []procEvent{{procExec, 100, testStamp}}},
		{name: "exit of a process", in: kernelMsg(evExit(200, 200)), want: []procEvent{{procExit, 200, testStamp}}},
		{name: "exit of a process, pre-4.19 layout", in: kernelMsg(evExitOld(200, 200)), want: []procEvent{{procExit, 200, testStamp}}},
		{name: "exit of a thread is dropped", in: kernelMsg(evExit(201, 200))},
		{name: "fork is dropped", in: kernelMsg(evFork(1, 400))},
		{name: "comm, uid, gid, sid, ptrace, coredump are dropped", in: slices.Concat(
			kernelMsg(evComm(5)), kernelMsg(buildProcEvent(procEventUID, 5, 5, 0, 0)), kernelMsg(buildProcEvent(procEventGID, 5, 5, 0, 0)),
			kernelMsg(buildProcEvent(procEventSID, 5, 5)), kernelMsg(buildProcEvent(procEventPtrace, 5, 5, 6, 6)), kernelMsg(buildProcEvent(procEventCoredump, 5, 5, 1, 1)),
		)},
		{name: "unknown event is dropped", in: kernelMsg(buildProcEvent(0x1000, 5, 5))},
		{name: "answer to listen", in: buildNlmsg(nlmsgDone, buildCnMsg(cnIdxProc, cnValProc, 9, 78, evAck(0))), acks: []connectorAck{{Seq: 9, Ack: 78}}},
		{name: "refused listen", in: buildNlmsg(nlmsgDone, buildCnMsg(cnIdxProc, cnValProc, 9, 78, evAck(1))), acks: []connectorAck{{Seq: 9, Ack: 78, Err: 1}}},
		{
			name: "several messages in one datagram",
			in:   slices.Concat(kernelMsg(evFork(1, 500)), kernelMsg(evExec(500, 500)), kernelMsg(evExit(501, 500)), kernelMsg(evExit(500, 500)), kernelMsg(evExec(600, 600))),
			want: []procEvent{{procExec, 500, testStamp}, {procExit, 500, testStamp}, {procExec, 600, testStamp}},
		},
		{name: "unaligned length then padding", in: slices.Concat(oddExec, execMsg), want: []procEvent{{procExec, 300, testStamp}, {procExec, 100, testStamp}}},
		{name: "last message without its padding", in: slices.Concat(execMsg, unpadded), want: []procEvent{{procExec, 100, testStamp}, {procExec, 301, testStamp}}},
		{name: "NLMSG_NOOP is skipped", in: slices.Concat(buildNlmsg(nlmsgNoop, nil), execMsg), want: []procEvent{{procExec, 100, testStamp}}},
		{name: "NLMSG_DONE ending a dump is skipped", in: slices.Concat(execMsg, buildNlmsg(nlmsgDone, []byte{0, 0, 0, 0})), want: []procEvent{{procExec, 100, testStamp}}},
		{name: "NLMSG_ERROR 0 is an acknowledgement", in: slices.Concat(nlError(0), execMsg), want: []procEvent{{procExec, 100, testStamp}}},
		{name: "NLMSG_ERROR with an errno", in: slices.Concat(execMsg, nlError(-1), kernelMsg(evExec(9, 9))), want: []procEvent{{procExec, 100, testStamp}}, wantErr: syscall.Errno(1)},
		{name: "NLMSG_ERROR too short", in: buildNlmsg(nlmsgError, []byte{1}), wantErr: errMalformed},
		{name: "NLMSG_OVERRUN", in: slices.Concat(execMsg, buildNlmsg(nlmsgOverrun, nil)), want: []procEvent{{procExec, 100, testStamp}}, wantErr: errOverrun},
		{name: "other control message is skipped", in: slices.Concat(buildNlmsg(0x5, []byte{1, 2, 3, 4}), execMsg), want: []procEvent{{procExec, 100, testStamp}}},
		{name: "cn_msg in a non-control type is read", in: buildNlmsg(nlmsgMinType, buildCnMsg(cnIdxProc, cnValProc, 1, 0, evExec(77, 77))), want: []procEvent{{procExec, 77, testStamp}}},
		{name: "wrong connector idx", in: buildNlmsg(nlmsgDone, buildCnMsg(2, cnValProc, 1, 0, evExec(77, 77)))},
		{name: "wrong connector val", in: buildNlmsg(nlmsgDone, buildCnMsg(cnIdxProc, 2, 1, 0, evExec(77, 77)))},
		{name: "wrong id then a good one", in: slices.Concat(buildNlmsg(nlmsgDone, buildCnMsg(3, 1, 1, 0, evExec(77, 77))), execMsg), want: []procEvent{{procExec, 100, testStamp}}},
		{name: "tgid 0 is dropped", in: kernelMsg(evExec(0, 0))},
		{name: "negative tgid is dropped", in: kernelMsg(evExit(0xffffffff, 0xffffffff))},

		// Truncation and lengths that lie.
		{name: "half a header", in: execMsg[:10], wantErr: errMalformed},
		{name: "trailing bytes", in: slices.Concat(execMsg, []byte{1, 2, 3}), want: []procEvent{{procExec, 100, testStamp}}, wantErr: errMalformed},
		{name: "netlink length past the end", in: execMsg[:len(execMsg)-4], wantErr: errMalformed},
		{name: "netlink length below the header", in: patchU32(slices.Clone(execMsg), 0, 8), wantErr: errMalformed},
		{name: "netlink length 0", in: patchU32(slices.Clone(execMsg), 0, 0), wantErr: errMalformed},
		{name: "netlink length 4 GiB", in: patchU32(slices.Clone(execMsg), 0, 0xffffffff), wantErr: errMalformed},
		{name: "cn_msg shorter than its header", in: buildNlmsg(nlmsgDone, make([]byte, cnMsgLen-1)), wantErr: nil}, // 19 bytes under NLMSG_DONE: the end of a dump
		{name: "cn_msg shorter than its header, other type", in: buildNlmsg(nlmsgMinType, make([]byte, cnMsgLen-1)), wantErr: errMalformed},
		{name: "cn_msg data length past the end", in: buildNlmsg(nlmsgDone, buildCnMsg(cnIdxProc, cnValProc, 1, 0, evExec(5, 5))[:cnMsgLen+10]), wantErr: errMalformed},
		{name: "cn_msg data length lies", in: buildNlmsg(nlmsgDone, patchU16(buildCnMsg(cnIdxProc, cnValProc, 1, 0, evExec(5, 5)), 16, 0xffff)), wantErr: errMalformed},
		{name: "proc_event without its header", in: kernelMsg(buildProcEvent(procEventExec)[:12]), wantErr: errMalformed},
		{name: "exec without tgid", in: kernelMsg(buildProcEvent(procEventExec, 5)), wantErr: errMalformed},
		{name: "exit without tgid", in: kernelMsg(buildProcEvent(procEventExit, 5)), wantErr: errMalformed},
		{name: "answer without err", in: kernelMsg(buildProcEvent(procEventNone)), wantErr: errMalformed},
		{name: "events before a truncated one are kept", in: slices.Concat(execMsg, kernelMsg(buildProcEvent(procEventExit, 5))), want: []procEvent{{procExec, 100, testStamp}}, wantErr: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, acks, err := parseConnectorMessages(tt.in, nil, nil)
			if tt.wantErr == nil && err != nil {
				t.Errorf("error %v, want none", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want one matching %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events %v, want %v", got, tt.want)
			}
			if !slices.Equal(acks, tt.acks) {
				t.Errorf("acks %+v, want %+v", acks, tt.acks)
			}
		})
	}
}

// The events are appended to what the caller passes.
func TestParseConnectorMessagesAppends(t *testing.T) {
	t.Parallel()
	prev := []procEvent{{procExit, 1, testStamp}}
	acks := []connectorAck{{Seq: 1}}
	got, gotAcks, err := parseConnectorMessages(slices.Concat(execMsg, buildNlmsg(nlmsgDone, buildCnMsg(cnIdxProc, cnValProc, 5, 6, evAck(0)))), prev, acks)
	if err != nil {
		t.Fatal(err)
	}
	if want := []procEvent{{procExit, 1, testStamp}, {procExec, 100, testStamp}}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if want := []connectorAck{{Seq: 1}, {Seq: 5, Ack: 6}}; !slices.Equal(gotAcks, want) {
		t.Errorf("acks %v, want %v", gotAcks, want)
	}
}

func TestAppendConnectorRequest(t *testing.T) {
	t.Parallel()
	ne := binary.NativeEndian
	b := appendConnectorRequest([]byte{0xaa}, 5, 1000, 1000, procCNMcastListen)
	if b[0] != 0xaa {
		t.Fatal("the prefix was overwritten")
	}
	b = b[1:]
	const want = nlmsgHdrLen + cnMsgLen + 4
	if len(b) != want {
		t.Fatalf("request of %d bytes, want %d", len(b), want)
	}
	for _, f := range []struct {
		name      string
		off, size int
		want      uint32
	}{
		{"nlmsg_len", 0, 4, want},
		{"nlmsg_type", 4, 2, nlmsgDone},
		{"nlmsg_flags", 6, 2, 0},
		{"nlmsg_seq", 8, 4, 5},
		{"nlmsg_pid", 12, 4, 1000},
		{"cn id.idx", 16, 4, cnIdxProc},
		{"cn id.val", 20, 4, cnValProc},
		{"cn seq", 24, 4, 5},
		{"cn ack", 28, 4, 1000},
		{"cn len", 32, 2, 4},
		{"cn flags", 34, 2, 0},
		{"op", 36, 4, procCNMcastListen},
	} {
		var got uint32
		if f.size == 2 {
			got = uint32(ne.Uint16(b[f.off:]))
		} else {
			got = ne.Uint32(b[f.off:])
		}
		if got != f.want {
			t.Errorf("%s = %d, want %d", f.name, got, f.want)
		}
	}
	if got := appendConnectorRequest(nil, 1, 2, 3, procCNMcastIgnore); ne.Uint32(got[36:]) != procCNMcastIgnore {
		t.Errorf("ignore request carries op %d", ne.Uint32(got[36:]))
	}

	// struct proc_input: the op, then the events wanted.
	f := appendConnectorRequest(nil, 1, 2, 3, procCNMcastListen, procEventExec|procEventExit)
	if len(f) != nlmsgHdrLen+cnMsgLen+8 || ne.Uint32(f) != uint32(len(f)) {
		t.Fatalf("filtered request of %d bytes says %d, want %d", len(f), ne.Uint32(f), nlmsgHdrLen+cnMsgLen+8)
	}
	if l, op, mask := ne.Uint16(f[32:]), ne.Uint32(f[36:]), ne.Uint32(f[40:]); l != 8 || op != procCNMcastListen || mask != 0x80000002 {
		t.Errorf("filtered request: cn len %d, op %d, mask %#x; want 8, %d, 0x80000002", l, op, mask, procCNMcastListen)
	}
}

// The decoder must never panic or read outside the datagram, whatever the
// kernel (or a bug) puts in it.
func FuzzParseConnectorMessages(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		execMsg,
		kernelMsg(evExit(200, 200)),
		kernelMsg(evExitOld(201, 200)),
		kernelMsg(evFork(1, 2)),
		kernelMsg(evComm(3)),
		buildNlmsg(nlmsgDone, buildCnMsg(cnIdxProc, cnValProc, 9, 78, evAck(0))),
		slices.Concat(kernelMsg(evFork(1, 500)), kernelMsg(evExec(500, 500)), kernelMsg(evExit(501, 500)), kernelMsg(evExit(500, 500))),
		slices.Concat(buildNlmsg(nlmsgNoop, nil), nlError(0), nlError(-1)),
		buildNlmsg(nlmsgOverrun, nil),
		buildNlmsg(nlmsgDone, []byte{0, 0, 0, 0}),
		buildNlmsg(nlmsgDone, buildCnMsg(2, 1, 1, 0, evExec(77, 77))),
		execMsg[:len(execMsg)-4],
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := slices.Clone(b)
		prefix := []procEvent{{procExit, 1, testStamp}}
		events, acks, err := parseConnectorMessages(b, prefix, nil)
		if !slices.Equal(b, orig) {
			t.Fatal("the decoder modified its input")
		}
		if len(events) == 0 || events[0] != prefix[0] {
			t.Fatalf("the caller's events were lost: %v", events)
		}
		// The smallest message that yields an event or an answer: header,
		// cn_msg, proc_event header and its fields.
		const minEvent = nlmsgHdrLen + cnMsgLen + procEventHdrLen + procEventAckLen
		if n := len(events) - 1 + len(acks); n > len(b)/minEvent {
			t.Fatalf("%d events and answers from %d bytes", n, len(b))
		}
		for _, ev := range events[1:] {
			if ev.PID <= 0 || (ev.Kind != procExec && ev.Kind != procExit) {
				t.Fatalf("invalid event %+v", ev)
			}
		}
		// Deterministic, and the same from a fresh slice.
		events2, acks2, err2 := parseConnectorMessages(b, nil, nil)
		if !slices.Equal(events[1:], events2) || !slices.Equal(acks, acks2) || (err == nil) != (err2 == nil) {
			t.Fatalf("second decode differs: %v %v %v, then %v %v %v", events[1:], acks, err, events2, acks2, err2)
		}
	})
}

func patchU32(b []byte, off int, v uint32) []byte {
	binary.NativeEndian.PutUint32(b[off:], v)
	return b
}

func patchU16(b []byte, off int, v uint16) []byte {
	binary.NativeEndian.PutUint16(b[off:], v)
	return b
}
