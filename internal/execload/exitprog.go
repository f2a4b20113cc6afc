package execload

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// The exit program is the smallest process a load can start: a static
// Linux executable of one loadable segment whose code only calls exit(0).
// /bin/true is dynamically linked, so each start of it also maps and
// relocates the C library (ld.so's work, about three quarters of its
// cost); on the 2-core machines this project is measured on a load of
// /bin/true saturates them at about 330 exec/s, below the 1,000 exec/s
// the latency goal of issue 13 is stated for. The exit program leaves
// what every exec costs (fork, exec, the scheduler, the exec and exit
// tracepoints the agent's filter runs on) and drops the dynamic loader.
//
// It is written here byte by byte because nothing in the standard
// library or a maintained module writes ELF files (debug/elf only reads
// them), and a committed binary or a C compiler at benchmark time would
// be worse; the test reads it back with debug/elf and runs it.

// exitCode is, per GOARCH, the machine code of exit(0) on Linux.
var exitCode = map[string]struct {
	machine elf.Machine
	code    []byte
}{
	// mov eax, 60 (exit); xor edi, edi; syscall
	"amd64": {elf.EM_X86_64, []byte{0xb8, 0x3c, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05}},
	// mov x0, #0; mov x8, #93 (exit); svc #0 (little-endian words)
	"arm64": {elf.EM_AARCH64, []byte{0x00, 0x00, 0x80, 0xd2, 0xa8, 0x0b, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4}},
}

// exitProgramBase is where the program's only segment is mapped: the
// traditional base of a non-PIE executable, above vm.mmap_min_addr.
const exitProgramBase = 0x400000

// ExitProgram returns the exit program for Linux on goarch (amd64 or
// arm64).
func ExitProgram(goarch string) ([]byte, error) {
	arch, ok := exitCode[goarch]
	if !ok {
		return nil, fmt.Errorf("exec load: no exit program for linux/%s (only amd64 and arm64)", goarch)
	}
	const ehsize, phsize = 64, 56 // sizes of Elf64_Ehdr and Elf64_Phdr
	size := uint64(ehsize + phsize + len(arch.code))
	var b bytes.Buffer
	put := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) } // bytes.Buffer does not fail
	// Elf64_Ehdr
	b.Write([]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), byte(elf.ELFOSABI_NONE)})
	b.Write(make([]byte, 8)) // e_ident padding
	put(uint16(elf.ET_EXEC))
	put(uint16(arch.machine))
	put(uint32(elf.EV_CURRENT))
	put(uint64(exitProgramBase + ehsize + phsize)) // e_entry: the code, right after the headers
	put(uint64(ehsize))                            // e_phoff
	put(uint64(0))                                 // e_shoff: no sections
	put(uint32(0))                                 // e_flags
	put(uint16(ehsize))
	put(uint16(phsize))
	put(uint16(1)) // e_phnum
	put(uint16(0)) // e_shentsize
	put(uint16(0)) // e_shnum
	put(uint16(0)) // e_shstrndx
	// Elf64_Phdr: the whole file, mapped read and execute.
	put(uint32(elf.PT_LOAD))
	put(uint32(elf.PF_R | elf.PF_X))
	put(uint64(0))               // p_offset
	put(uint64(exitProgramBase)) // p_vaddr
	put(uint64(exitProgramBase)) // p_paddr
	put(size)                    // p_filesz
	put(size)                    // p_memsz
	put(uint64(0x10000))         // p_align: 64 KiB, a multiple of every page size arm64 uses
	b.Write(arch.code)
	return b.Bytes(), nil
}

// WriteExitProgram writes the exit program for goarch into dir, as
// dir/exit0 with mode 0755, and returns its path.
func WriteExitProgram(dir, goarch string) (string, error) {
	prog, err := ExitProgram(goarch)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "exit0")
	if err := os.WriteFile(path, prog, 0o755); err != nil {
		return "", fmt.Errorf("exec load: %w", err)
	}
	return path, nil
}
