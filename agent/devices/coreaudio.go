package devices

// Decoding of CoreAudio and CoreMediaIO property values, and the rules that
// turn decoded devices and process objects into uses. No build tag: the
// macOS calls live in devices_darwin.go, everything they hand back is
// decoded here and tested on Linux with byte fixtures.
//
// Both APIs return property values as raw memory in the host's byte order.
// Every macOS Go target (amd64, arm64) is little-endian and 64-bit, so the
// decoders read little-endian values and the 64-bit struct layouts.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// A FourCC is a four-character code packed big-endian into a uint32, the way
// CoreAudio and CoreMediaIO spell selectors, scopes and OSStatus codes:
// 'dev#' is 0x64657623.
type fourCC = uint32

// fourCCOf packs a four-character code; it returns 0 unless s has exactly
// four bytes.
func fourCCOf(s string) fourCC {
	if len(s) != 4 {
		return 0
	}
	return fourCC(s[0])<<24 | fourCC(s[1])<<16 | fourCC(s[2])<<8 | fourCC(s[3])
}

// fourCCString spells a code as its four characters when they are all
// printable ASCII, and as a number otherwise.
func fourCCString(c fourCC) string {
	b := []byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}
	for _, x := range b {
		if x < 0x20 || x > 0x7e {
			return strconv.FormatUint(uint64(c), 10)
		}
	}
	return "'" + string(b) + "'"
}

// Property selectors, scopes and objects. CoreAudio's
// (AudioHardware.h, AudioHardwareBase.h) and CoreMediaIO's (CMIOHardware*.h)
// share most values; the CMIO names are kept apart where the headers do.
const (
	// audioSystemObject is kAudioObjectSystemObject; cmioSystemObject is
	// kCMIOObjectSystemObject. Both are 1.
	audioSystemObject uint32 = 1
	cmioSystemObject  uint32 = 1

	// kAudioObjectPropertyElementMain / kCMIOObjectPropertyElementMain.
	elementMain uint32 = 0

	scopeGlobal fourCC = 'g'<<24 | 'l'<<16 | 'o'<<8 | 'b' // kAudioObjectPropertyScopeGlobal
	scopeInput  fourCC = 'i'<<24 | 'n'<<16 | 'p'<<8 | 't' // kAudioObjectPropertyScopeInput

	selDevices             fourCC = 'd'<<24 | 'e'<<16 | 'v'<<8 | '#' // kAudioHardwarePropertyDevices, kCMIOHardwarePropertyDevices
	selRunningSomewhere    fourCC = 'g'<<24 | 'o'<<16 | 'n'<<8 | 'e' // kAudioDevicePropertyDeviceIsRunningSomewhere, kCMIODevicePropertyDeviceIsRunningSomewhere
	selStreamConfiguration fourCC = 's'<<24 | 'l'<<16 | 'a'<<8 | 'y' // kAudioDevicePropertyStreamConfiguration
	selDeviceUID           fourCC = 'u'<<24 | 'i'<<16 | 'd'<<8 | ' ' // kAudioDevicePropertyDeviceUID, kCMIODevicePropertyDeviceUID
	selObjectName          fourCC = 'l'<<24 | 'n'<<16 | 'a'<<8 | 'm' // kAudioObjectPropertyName, kCMIOObjectPropertyName

	// macOS 14.2+: process objects.
	selProcessObjectList   fourCC = 'p'<<24 | 'r'<<16 | 's'<<8 | '#' // kAudioHardwarePropertyProcessObjectList
	selProcessPID          fourCC = 'p'<<24 | 'p'<<16 | 'i'<<8 | 'd' // kAudioProcessPropertyPID
	selProcessBundleID     fourCC = 'p'<<24 | 'b'<<16 | 'i'<<8 | 'd' // kAudioProcessPropertyBundleID
	selProcessRunningInput fourCC = 'p'<<24 | 'i'<<16 | 'r'<<8 | 'i' // kAudioProcessPropertyIsRunningInput
	selProcessDevices      fourCC = 'p'<<24 | 'd'<<16 | 'v'<<8 | '#' // kAudioProcessPropertyDevices
)

// OSStatus codes worth naming in errors (AudioHardwareBase.h,
// CMIOHardwareObject.h).
var osStatusNames = map[int32]string{
	0:                                       "noErr",
	int32('s'<<24 | 't'<<16 | 'o'<<8 | 'p'): "kAudioHardwareNotRunningError",
	int32('w'<<24 | 'h'<<16 | 'a'<<8 | 't'): "kAudioHardwareUnspecifiedError",
	int32('w'<<24 | 'h'<<16 | 'o'<<8 | '?'): "kAudioHardwareUnknownPropertyError",
	int32('!'<<24 | 's'<<16 | 'i'<<8 | 'z'): "kAudioHardwareBadPropertySizeError",
	int32('n'<<24 | 'o'<<16 | 'p'<<8 | 'e'): "kAudioHardwareIllegalOperationError",
	int32('!'<<24 | 'o'<<16 | 'b'<<8 | 'j'): "kAudioHardwareBadObjectError",
	int32('!'<<24 | 'd'<<16 | 'e'<<8 | 'v'): "kAudioHardwareBadDeviceError",
	int32('u'<<24 | 'n'<<16 | 's'<<8 | 'p'): "kAudioHardwareUnsupportedOperationError",
	int32('!'<<24 | 'h'<<16 | 'o'<<8 | 'g'): "kAudioDevicePermissionsError",
}

// osStatusString names an OSStatus: its constant when known, else its four
// characters or number.
func osStatusString(st int32) string {
	if n, ok := osStatusNames[st]; ok {
		return fmt.Sprintf("%s (%s)", n, fourCCString(uint32(st)))
	}
	if st < 0 {
		return "OSStatus " + strconv.Itoa(int(st))
	}
	return "OSStatus " + fourCCString(uint32(st))
}

// errShortValue reports a property value of the wrong size.
var errShortValue = errors.New("property value has the wrong size")

// decodeUInt32 decodes a UInt32 property value (a Boolean flag such as
// 'gone' or 'piri', or an object ID).
func decodeUInt32(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("UInt32: %d bytes: %w", len(b), errShortValue)
	}
	return binary.LittleEndian.Uint32(b), nil
}

// decodePID decodes a pid_t (int32) property value ('ppid').
func decodePID(b []byte) (int32, error) {
	v, err := decodeUInt32(b)
	return int32(v), err
}

// decodeObjectIDs decodes an array of AudioObjectID / CMIOObjectID (UInt32)
// values ('dev#', 'prs#', 'pdv#').
func decodeObjectIDs(b []byte) ([]uint32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("object ID list: %d bytes: %w", len(b), errShortValue)
	}
	ids := make([]uint32, len(b)/4)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return ids, nil
}

// decodePointer decodes a pointer-sized value, such as the CFStringRef that
// 'uid ', 'lnam' and 'pbid' return.
func decodePointer(b []byte) (uintptr, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("pointer: %d bytes: %w", len(b), errShortValue)
	}
	return uintptr(binary.LittleEndian.Uint64(b)), nil
}

// AudioBufferList layout on 64-bit macOS (CoreAudioBaseTypes.h):
//
//	struct AudioBufferList { UInt32 mNumberBuffers; AudioBuffer mBuffers[]; }
//	struct AudioBuffer     { UInt32 mNumberChannels; UInt32 mDataByteSize; void *mData; }
//
// AudioBuffer holds a pointer, so it is 8-aligned and 16 bytes long, and the
// list's header is padded to 8 bytes.
const (
	bufferListHeader = 8
	audioBufferSize  = 16
)

// decodeBufferListChannels sums mNumberChannels over the buffers of an
// AudioBufferList, the value of 'slay' (stream configuration). A device
// with input channels in scope 'inpt' can capture.
func decodeBufferListChannels(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("AudioBufferList: %d bytes: %w", len(b), errShortValue)
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 {
		return 0, nil
	}
	if uint64(len(b)) < bufferListHeader+uint64(n)*audioBufferSize {
		return 0, fmt.Errorf("AudioBufferList: %d buffers in %d bytes: %w", n, len(b), errShortValue)
	}
	total := 0
	for i := range int(n) {
		total += int(binary.LittleEndian.Uint32(b[bufferListHeader+i*audioBufferSize:]))
	}
	return total, nil
}

// audioDevice is one CoreAudio device as the checker read it.
type audioDevice struct {
	ID            uint32
	UID           string
	Name          string
	InputChannels int
	// Running is 'gone': some process runs the device, for input or
	// output.
	Running bool
}

// audioProcess is one CoreAudio process object (macOS 14.2+).
type audioProcess struct {
	PID      int32
	BundleID string
	// Path is the executable's path when the PID could be resolved.
	Path string
	// UID owns the process; -1 when unknown.
	UID          int
	RunningInput bool
	// InputDevices are the devices the process uses in scope 'inpt'
	// ('pdv#'); empty when not reported.
	InputDevices []uint32
}

// unknownProcess is what Use.Process says when the OS does not tell.
const unknownProcess = "unknown process"

// coreAudioUses turns a CoreAudio snapshot into microphone uses.
//
// With process objects (haveProcs, macOS 14.2+), each process running input
// is a use on each input device it names ('pdv#', or every running input
// device when it names none); devices running without such a process are
// not reported, since 'gone' is device-wide and is also set by output
// alone (a headset playing music).
//
// Without process objects (older macOS), each running device that has
// input channels is a use by an unknown process (PID 0). It may be an
// output-only use of a duplex device: the OS gives no better answer there.
func coreAudioUses(devs []audioDevice, procs []audioProcess, haveProcs bool) []Use {
	input := map[uint32]audioDevice{}
	var runningInputs []audioDevice
	for _, d := range devs {
		if d.InputChannels <= 0 {
			continue
		}
		input[d.ID] = d
		if d.Running {
			runningInputs = append(runningInputs, d)
		}
	}
	var out []Use
	if !haveProcs {
		for _, d := range runningInputs {
			out = append(out, Use{Kind: Microphone, Device: audioDeviceName(d), Process: unknownProcess, UID: -1, Source: SourceCoreAudio})
		}
		return out
	}
	for _, p := range procs {
		if !p.RunningInput || p.PID <= 0 {
			continue
		}
		var on []audioDevice
		for _, id := range p.InputDevices {
			if d, ok := input[id]; ok {
				on = append(on, d)
			}
		}
		if len(on) == 0 {
			on = runningInputs
		}
		u := Use{Kind: Microphone, PID: p.PID, Process: processName(p.Path, p.BundleID), UID: p.UID, Source: SourceCoreAudio}
		if u.UID >= 0 {
			u.Session = strconv.Itoa(u.UID)
		}
		if len(on) == 0 {
			u.Device = "unknown"
			out = append(out, u)
			continue
		}
		for _, d := range on {
			u.Device = audioDeviceName(d)
			out = append(out, u)
		}
	}
	return out
}

// audioDeviceName names a device by its UID, else its name, else its
// object ID.
func audioDeviceName(d audioDevice) string {
	switch {
	case d.UID != "":
		return d.UID
	case d.Name != "":
		return d.Name
	}
	return "object " + strconv.FormatUint(uint64(d.ID), 10)
}

// processName prefers the executable path over an identifier.
func processName(path, id string) string {
	switch {
	case path != "":
		return path
	case id != "":
		return id
	}
	return unknownProcess
}
