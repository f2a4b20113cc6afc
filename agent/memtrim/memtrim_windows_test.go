package memtrim

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/vcguard/vcguard/internal/wine"
)

// workingSet is the process's working set in bytes
// (GetProcessMemoryInfo; x/sys/windows has no wrapper).
func workingSet(t *testing.T) uintptr {
	t.Helper()
	var pmc struct {
		cb                         uint32
		pageFaultCount             uint32
		peakWorkingSetSize         uintptr
		workingSetSize             uintptr
		quotaPeakPagedPoolUsage    uintptr
		quotaPagedPoolUsage        uintptr
		quotaPeakNonPagedPoolUsage uintptr
		quotaNonPagedPoolUsage     uintptr
		pagefileUsage              uintptr
		peakPagefileUsage          uintptr
	}
	pmc.cb = uint32(unsafe.Sizeof(pmc))
	proc := windows.NewLazySystemDLL("psapi.dll").NewProc("GetProcessMemoryInfo")
	if r, _, err := proc.Call(uintptr(windows.CurrentProcess()), uintptr(unsafe.Pointer(&pmc)), uintptr(pmc.cb)); r == 0 {
		t.Fatalf("GetProcessMemoryInfo: %v", err)
	}
	return pmc.workingSetSize
}

func TestTrimEmptiesWorkingSet(t *testing.T) {
	before := workingSet(t)
	s, err := Trim()
	if err != nil {
		t.Fatal(err)
	}
	after := workingSet(t)
	t.Logf("working set %d kB -> %d kB; %+v", before/1024, after/1024, s)
	if s.Mappings != 1 {
		t.Errorf("stats %+v, want the working set emptied once", s)
	}
	// Wine keeps no working set of its own: SetProcessWorkingSetSizeEx is
	// a stub there that returns success, and GetProcessMemoryInfo reports
	// the Linux process's resident size (seen here: 16952 kB -> 17564 kB
	// across the call under Wine 8), so the drop is only checked on
	// Windows itself.
	if !wine.Running() && after >= before {
		t.Errorf("working set %d kB -> %d kB, want it smaller", before/1024, after/1024)
	}
}
