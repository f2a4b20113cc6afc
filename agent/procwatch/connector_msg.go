package procwatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
)

// This file decodes what the Linux netlink process connector sends. It has
// no build tag so the decoder is tested and fuzzed on every OS; the socket
// itself is in connector_linux.go.
//
// A datagram holds one or more netlink messages, each aligned to 4 bytes:
//
//	nlmsghdr   len u32, type u16, flags u16, seq u32, pid u32    (16 bytes)
//	cn_msg     id.idx u32, id.val u32, seq u32, ack u32,
//	           len u16, flags u16                               (20 bytes)
//	proc_event what u32, cpu u32, timestamp_ns u64, then a union:
//	           exec: process_pid, process_tgid
//	           exit: process_pid, process_tgid, exit_code, exit_signal,
//	                 (parent_pid, parent_tgid since Linux 4.19)
//	           ack (what 0): err u32
//
// Netlink uses the host's byte order (linux/netlink.h, linux/connector.h,
// linux/cn_proc.h).

// procEventKind says what happened to a process.
type procEventKind uint8

const (
	// procExec: a process replaced its image (PROC_EVENT_EXEC).
	procExec procEventKind = iota + 1
	// procExit: a whole process exited (PROC_EVENT_EXIT of the
	// thread-group leader, pid == tgid); thread exits are dropped. Two
	// edge cases follow from the kernel: a process whose main thread ends
	// with pthread_exit while other threads run on is reported at that
	// moment and not again (the periodic rescan corrects it), and a
	// multithreaded process that execs from another thread is reported as
	// procExit then procExec of the same PID.
	procExit
)

func (k procEventKind) String() string {
	switch k {
	case procExec:
		return "exec"
	case procExit:
		return "exit"
	}
	return fmt.Sprintf("procEventKind(%d)", uint8(k))
}

// procEvent is one process event from the connector.
type procEvent struct {
	Kind procEventKind
	PID  int32 // the process (tgid)
	// At is when the kernel saw the event, in nanoseconds of its
	// monotonic clock (CLOCK_MONOTONIC: proc_event.timestamp_ns, the
	// exec filter's bpf_ktime_get_ns); 0 when the source does not say.
	At uint64
}

// connectorAck is the connector's answer to a PROC_CN_MCAST_LISTEN or
// _IGNORE message: a proc_event with what == 0. The kernel multicasts it to
// every listener, so Ack tells whose request it answers.
type connectorAck struct {
	Seq uint32 // the request's seq on old kernels, an event counter on current ones
	Ack uint32 // the request's cn_msg ack + 1
	Err uint32 // a positive errno, 0 for success
}

// Layout constants from linux/netlink.h, linux/connector.h and
// linux/cn_proc.h.
const (
	nlmsgHdrLen  = 16
	nlmsgAlignTo = 4
	nlmsgNoop    = 0x1
	nlmsgError   = 0x2
	nlmsgDone    = 0x3
	nlmsgOverrun = 0x4
	nlmsgMinType = 0x10

	cnMsgLen  = 20
	cnIdxProc = 1 // CN_IDX_PROC: the id and multicast group of the process connector
	cnValProc = 1 // CN_VAL_PROC

	procCNMcastListen = 1 // PROC_CN_MCAST_LISTEN
	procCNMcastIgnore = 2 // PROC_CN_MCAST_IGNORE

	procEventNone = 0x00000000 // the answer to a listen/ignore request
	procEventExec = 0x00000002
	procEventExit = 0x80000000

	procEventHdrLen = 16 // what, cpu, timestamp_ns
	procEventIDLen  = 8  // process_pid, process_tgid: the start of exec and exit data
	procEventAckLen = 4  // err
)

// errOverrun reports that the kernel dropped process events (the socket's
// receive buffer overflowed: ENOBUFS). The caller must rescan the process
// table; the connector keeps working.
var errOverrun = errors.New("netlink proc connector: the kernel dropped process events (receive buffer overrun); rescan the process table")

// errMalformed reports a connector datagram that does not decode: a length
// that runs past the buffer, a message too short for its type.
var errMalformed = errors.New("malformed netlink proc connector message")

func nlmsgAlign(n int) int { return (n + nlmsgAlignTo - 1) &^ (nlmsgAlignTo - 1) }

// parseConnectorMessages decodes one datagram received from the netlink
// process connector. It appends exec events and whole-process exit events
// to events, answers to listen/ignore requests to acks, and skips every
// other process event (fork, uid, comm, thread exit, …), messages of other
// connectors (cn_msg id other than CN_IDX_PROC/CN_VAL_PROC), and
// NLMSG_NOOP/NLMSG_DONE without a connector payload.
//
// It returns an error wrapping errMalformed when a length does not fit the
// datagram, an error wrapping the errno of an NLMSG_ERROR carrying one, and
// one wrapping errOverrun for NLMSG_OVERRUN. Events decoded before the
// error are returned with it. It never reads outside b.
func parseConnectorMessages(b []byte, events []procEvent, acks []connectorAck) ([]procEvent, []connectorAck, error) {
	ne := binary.NativeEndian
	for off := 0; off < len(b); {
		rest := b[off:]
		if len(rest) < nlmsgHdrLen {
			return events, acks, fmt.Errorf("%w: %d trailing bytes at offset %d, want a %d-byte netlink header", errMalformed, len(rest), off, nlmsgHdrLen)
		}
		msgLen := ne.Uint32(rest[0:4])
		typ := ne.Uint16(rest[4:6])
		if msgLen < nlmsgHdrLen || uint64(msgLen) > uint64(len(rest)) {
			return events, acks, fmt.Errorf("%w: netlink message at offset %d has length %d, %d bytes left", errMalformed, off, msgLen, len(rest))
		}
		payload := rest[nlmsgHdrLen:msgLen]
		msgOff := off
		// The last message need not carry its alignment padding.
		off += min(nlmsgAlign(int(msgLen)), len(rest))

		switch {
		case typ == nlmsgNoop:
			continue
		case typ == nlmsgError:
			// struct nlmsgerr: int error, then the request's header.
			if len(payload) < 4 {
				return events, acks, fmt.Errorf("%w: NLMSG_ERROR of %d bytes", errMalformed, len(payload))
			}
			if code := int32(ne.Uint32(payload[0:4])); code != 0 {
				return events, acks, fmt.Errorf("netlink proc connector: kernel reported an error: %w", syscall.Errno(-int64(code)))
			}
			continue // an acknowledgement
		case typ == nlmsgOverrun:
			return events, acks, fmt.Errorf("netlink proc connector: NLMSG_OVERRUN: %w", errOverrun)
		case typ == nlmsgDone && len(payload) < cnMsgLen:
			// The end of a multipart dump (its payload is an int). The
			// connector itself sends every message as NLMSG_DONE with a
			// cn_msg inside, handled below.
			continue
		case typ != nlmsgDone && typ < nlmsgMinType:
			continue // a control message this decoder does not know
		}

		var err error
		events, acks, err = parseCnMsg(payload, events, acks)
		if err != nil {
			return events, acks, fmt.Errorf("netlink message at offset %d: %w", msgOff, err)
		}
	}
	return events, acks, nil
}

// parseCnMsg decodes one cn_msg and the proc_event inside it.
func parseCnMsg(b []byte, events []procEvent, acks []connectorAck) ([]procEvent, []connectorAck, error) {
	ne := binary.NativeEndian
	if len(b) < cnMsgLen {
		return events, acks, fmt.Errorf("%w: cn_msg of %d bytes, want %d", errMalformed, len(b), cnMsgLen)
	}
	idx, val := ne.Uint32(b[0:4]), ne.Uint32(b[4:8])
	seq, ack := ne.Uint32(b[8:12]), ne.Uint32(b[12:16])
	dataLen := int(ne.Uint16(b[16:18]))
	data := b[cnMsgLen:]
	if dataLen > len(data) {
		return events, acks, fmt.Errorf("%w: cn_msg says %d data bytes, %d present", errMalformed, dataLen, len(data))
	}
	data = data[:dataLen]
	if idx != cnIdxProc || val != cnValProc {
		return events, acks, nil // another connector's message
	}
	if len(data) < procEventHdrLen {
		return events, acks, fmt.Errorf("%w: proc_event of %d bytes", errMalformed, len(data))
	}
	what := ne.Uint32(data[0:4])
	at := ne.Uint64(data[8:16])
	body := data[procEventHdrLen:]
	switch what {
	case procEventNone:
		if len(body) < procEventAckLen {
			return events, acks, fmt.Errorf("%w: acknowledgement with %d data bytes", errMalformed, len(body))
		}
		acks = append(acks, connectorAck{Seq: seq, Ack: ack, Err: ne.Uint32(body[0:4])})
	case procEventExec, procEventExit:
		if len(body) < procEventIDLen {
			return events, acks, fmt.Errorf("%w: event %#x with %d data bytes", errMalformed, what, len(body))
		}
		pid := int32(ne.Uint32(body[0:4]))
		tgid := int32(ne.Uint32(body[4:8]))
		if tgid <= 0 {
			return events, acks, nil // no such process; the kernel never sends it
		}
		if what == procEventExec {
			events = append(events, procEvent{Kind: procExec, PID: tgid, At: at})
		} else if pid == tgid {
			events = append(events, procEvent{Kind: procExit, PID: tgid, At: at})
		}
	}
	return events, acks, nil
}

// appendConnectorRequest appends the netlink message that asks the process
// connector to start (procCNMcastListen) or stop (procCNMcastIgnore)
// sending events: nlmsghdr + cn_msg + payload, where payload is the op
// alone (struct-less, understood by every kernel) or, for newer kernels,
// struct proc_input: the op and a mask of the events wanted.
func appendConnectorRequest(b []byte, seq, ack, portID uint32, payload ...uint32) []byte {
	ne := binary.NativeEndian
	dataLen := 4 * len(payload)
	b = ne.AppendUint32(b, uint32(nlmsgHdrLen+cnMsgLen+dataLen))
	b = ne.AppendUint16(b, nlmsgDone) // type: what the kernel's own connector messages use
	b = ne.AppendUint16(b, 0)         // flags
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, portID)
	b = ne.AppendUint32(b, cnIdxProc)
	b = ne.AppendUint32(b, cnValProc)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, ack)
	b = ne.AppendUint16(b, uint16(dataLen))
	b = ne.AppendUint16(b, 0) // flags
	for _, v := range payload {
		b = ne.AppendUint32(b, v)
	}
	return b
}
