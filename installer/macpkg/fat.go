package macpkg

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"fmt"
	"sort"
)

// universal joins thin Mach-O executables into one universal ("fat")
// binary, as lipo -create does: a big-endian fat header, one fat_arch
// record per slice, and each slice unchanged at an offset aligned to
// 2^14 bytes (the arm64 page size, which lipo also uses for x86_64), so
// each slice's code signature stays valid.
func universal(thin [][]byte) ([]byte, error) {
	const alignLog2 = 14
	const align = 1 << alignLog2
	type slice struct {
		cpu, sub uint32
		data     []byte
	}
	var slices []slice
	seen := map[macho.Cpu]bool{}
	for i, b := range thin {
		f, err := macho.NewFile(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("slice %d: not a thin Mach-O file: %w", i, err)
		}
		if f.Type != macho.TypeExec {
			return nil, fmt.Errorf("slice %d: Mach-O type %v, want an executable", i, f.Type)
		}
		if seen[f.Cpu] {
			return nil, fmt.Errorf("slice %d: a second %v slice", i, f.Cpu)
		}
		seen[f.Cpu] = true
		slices = append(slices, slice{uint32(f.Cpu), f.SubCpu, b})
	}
	if len(slices) == 0 {
		return nil, fmt.Errorf("no Mach-O slices")
	}
	sort.Slice(slices, func(i, j int) bool { return slices[i].cpu < slices[j].cpu })

	var out bytes.Buffer
	be := binary.BigEndian
	out.Write(be.AppendUint32(nil, macho.MagicFat))
	out.Write(be.AppendUint32(nil, uint32(len(slices))))
	off := uint64(8 + 20*len(slices))
	offsets := make([]uint64, len(slices))
	for i, s := range slices {
		off = (off + align - 1) &^ (align - 1)
		offsets[i] = off
		off += uint64(len(s.data))
	}
	if off > 1<<32-1 {
		return nil, fmt.Errorf("universal binary of %d bytes does not fit 32-bit fat offsets", off)
	}
	for i, s := range slices {
		for _, v := range []uint32{s.cpu, s.sub, uint32(offsets[i]), uint32(len(s.data)), alignLog2} {
			out.Write(be.AppendUint32(nil, v))
		}
	}
	for i, s := range slices {
		out.Write(make([]byte, int(offsets[i])-out.Len()))
		out.Write(s.data)
	}
	return out.Bytes(), nil
}
