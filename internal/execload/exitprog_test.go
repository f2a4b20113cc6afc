package execload

import (
	"bytes"
	"context"
	"debug/elf"
	"os/exec"
	"runtime"
	"testing"
)

// The exit program is a valid ELF executable for each GOARCH it is made
// for: one loadable read-execute segment holding the whole file, the entry
// at the code, and the code exit(0).
func TestExitProgramIsELF(t *testing.T) {
	for goarch, arch := range exitCode {
		t.Run(goarch, func(t *testing.T) {
			prog, err := ExitProgram(goarch)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.NewFile(bytes.NewReader(prog))
			if err != nil {
				t.Fatalf("debug/elf cannot read the exit program: %v", err)
			}
			if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Type != elf.ET_EXEC || f.Machine != arch.machine {
				t.Errorf("header %+v, want a 64-bit little-endian executable for %v", f.FileHeader, arch.machine)
			}
			if len(f.Progs) != 1 {
				t.Fatalf("%d program headers, want 1", len(f.Progs))
			}
			p := f.Progs[0]
			if p.Type != elf.PT_LOAD || p.Flags != elf.PF_R|elf.PF_X || p.Off != 0 || p.Filesz != uint64(len(prog)) || p.Memsz != p.Filesz {
				t.Errorf("segment %+v: want the whole file (%d bytes) loaded read-execute", p.ProgHeader, len(prog))
			}
			if p.Vaddr%p.Align != 0 {
				t.Errorf("segment address %#x is not aligned to %#x", p.Vaddr, p.Align)
			}
			code := prog[f.Entry-p.Vaddr:]
			if !bytes.Equal(code, arch.code) {
				t.Errorf("code at the entry % x, want % x", code, arch.code)
			}
		})
	}
	if _, err := ExitProgram("riscv64"); err == nil {
		t.Error("an exit program for riscv64, which has none: want an error")
	}
}

// On Linux the exit program runs and exits 0, and a load of it starts
// processes without a failure.
func TestExitProgramRuns(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the exit program is a Linux executable")
	}
	if _, ok := exitCode[runtime.GOARCH]; !ok {
		t.Skipf("no exit program for %s", runtime.GOARCH)
	}
	path, err := WriteExitProgram(t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(path).CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("running the exit program: %v, output %q; want exit 0 and no output", err, out)
	}
	l, err := Start(context.Background(), Config{Rate: 200, Path: path, MaxInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitStarted(t, l, 20)
	if r := l.Stop(); r.Failed != 0 || r.Err != nil {
		t.Errorf("a load of the exit program failed %d starts, the first: %v", r.Failed, r.Err)
	}
}
