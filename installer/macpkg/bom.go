package macpkg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// The Bom ("bill of materials") lists every path a package installs with
// its mode, owner, size and cksum CRC; Installer checks the Payload
// against it and keeps it as the receipt pkgutil reads. Apple has not
// documented the format and no Go library writes it, so it is written here
// from the public descriptions of it (the mkbom/lsbom reimplementation in
// hogliux/bomutils, whose packages install on current macOS, and the
// format reference of igankevich/stuckliste). What is written:
//
//   - a 512-byte header: "BOMStore", version 1, the number of non-null
//     blocks, the offset and length of the block table and of the
//     variables;
//   - blocks, addressed by index through the block table (index 0 is null);
//   - variables naming blocks: BomInfo, Paths, HLIndex, VIndex, Size64;
//   - Paths, a "tree" whose leaves hold up to 256 (key, value) block pairs,
//     key = {id, metadata block}, value = {parent id, name}; ids are given
//     breadth-first from "." = 1, as mkbom does; more than one leaf gets a
//     branch node over them;
//   - per-path metadata: type (1 file, 2 directory), 1, flags 0x000f (full,
//     not path-only, no per-architecture records), mode, uid, gid, mtime,
//     size, 1, then for files the cksum CRC, then 8 zero bytes;
//   - empty HLIndex, VIndex and Size64 trees (no hard links, no 4 GiB
//     files).
// All integers are big-endian.

// bomEntry is one path of a Bom.
type bomEntry struct {
	Path     string // "." or "./Library/..."
	Mode     uint32 // type and permission bits
	UID, GID uint32
	MTime    uint32
	Size     uint32
	Checksum uint32 // cksum CRC of a file's data; 0 for directories
}

const (
	bomHeaderSize  = 512
	bomLeafEntries = 256
	bomTypeFile    = 1
	bomTypeDir     = 2
	bomFlagsFull   = 0x000f
)

type bomBlocks struct{ blocks [][]byte }

func (b *bomBlocks) add(data []byte) uint32 {
	if len(b.blocks) == 0 {
		b.blocks = append(b.blocks, nil) // index 0 is the null block
	}
	b.blocks = append(b.blocks, data)
	return uint32(len(b.blocks) - 1)
}

func be32(vs ...uint32) []byte {
	var out []byte
	for _, v := range vs {
		out = binary.BigEndian.AppendUint32(out, v)
	}
	return out
}

func bomTree(root, blockSize, count uint32) []byte {
	t := append([]byte("tree"), be32(1, root, blockSize, count)...)
	return append(t, 0)
}

func bomNode(leaf bool, pairs [][2]uint32, forward, backward uint32) []byte {
	var n []byte
	isLeaf := uint16(0)
	if leaf {
		isLeaf = 1
	}
	n = binary.BigEndian.AppendUint16(n, isLeaf)
	n = binary.BigEndian.AppendUint16(n, uint16(len(pairs)))
	n = append(n, be32(forward, backward)...)
	for _, p := range pairs {
		n = append(n, be32(p[0], p[1])...)
	}
	return n
}

func bomMetadata(e bomEntry) ([]byte, error) {
	var m []byte
	switch e.Mode & modeTypeMask {
	case modeRegular:
		m = append(m, bomTypeFile)
	case modeDir:
		m = append(m, bomTypeDir)
	default:
		return nil, fmt.Errorf("bom: %s: mode %o is neither a directory nor a regular file", e.Path, e.Mode)
	}
	m = append(m, 1)
	m = binary.BigEndian.AppendUint16(m, bomFlagsFull)
	m = binary.BigEndian.AppendUint16(m, uint16(e.Mode))
	m = append(m, be32(e.UID, e.GID, e.MTime, e.Size)...)
	m = append(m, 1)
	if e.Mode&modeTypeMask == modeRegular {
		m = append(m, be32(e.Checksum)...)
	}
	return append(m, make([]byte, 8)...), nil
}

// writeBOM builds a Bom of entries; every entry's parent directory must be
// an entry too, and "." must be one.
func writeBOM(entries []bomEntry) ([]byte, error) {
	byPath := map[string]bomEntry{}
	children := map[string][]string{}
	for _, e := range entries {
		if rest, ok := strings.CutPrefix(e.Path, "./"); e.Path != "." && (!ok || path.Clean(rest) != rest || rest == ".." || strings.HasPrefix(rest, "../")) {
			return nil, fmt.Errorf("bom: path %q: want \".\" or \"./a/b\"", e.Path)
		}
		if _, dup := byPath[e.Path]; dup {
			return nil, fmt.Errorf("bom: path %s twice", e.Path)
		}
		byPath[e.Path] = e
		if e.Path != "." {
			dir := "."
			if d := path.Dir(e.Path[2:]); d != "." {
				dir = "./" + d
			}
			children[dir] = append(children[dir], e.Path)
		}
	}
	if _, ok := byPath["."]; !ok {
		return nil, errors.New("bom: no \".\" entry")
	}
	for dir := range children {
		d, ok := byPath[dir]
		if !ok {
			return nil, fmt.Errorf("bom: %s: parent directory not listed", children[dir][0])
		}
		if d.Mode&modeTypeMask != modeDir {
			return nil, fmt.Errorf("bom: %s: parent is not a directory", children[dir][0])
		}
	}

	var blocks bomBlocks
	var total uint64
	type item struct {
		path   string
		parent uint32
	}
	queue := []item{{".", 0}}
	var pairs [][2]uint32
	for id := uint32(1); len(queue) > 0; id++ {
		it := queue[0]
		queue = queue[1:]
		e := byPath[it.path]
		meta, err := bomMetadata(e)
		if err != nil {
			return nil, err
		}
		key := blocks.add(be32(id, blocks.add(meta)))
		name := path.Base(it.path)
		val := blocks.add(append(append(be32(it.parent), name...), 0))
		pairs = append(pairs, [2]uint32{key, val})
		total += uint64(e.Size)
		kids := children[it.path]
		sort.Strings(kids)
		for _, k := range kids {
			queue = append(queue, item{k, id})
		}
	}

	// BomInfo: version, number of paths + 1, one entry of all file sizes.
	info := blocks.add(be32(1, uint32(len(pairs)+1), 1, 0, 0, uint32(total), 0))

	// Paths: leaves of up to 256 entries, linked forward and backward.
	var leaves []uint32
	var lastVals []uint32
	for start := 0; start < len(pairs); start += bomLeafEntries {
		end := min(start+bomLeafEntries, len(pairs))
		leaves = append(leaves, blocks.add(nil))
		lastVals = append(lastVals, pairs[end-1][1])
	}
	for i, idx := range leaves {
		start := i * bomLeafEntries
		end := min(start+bomLeafEntries, len(pairs))
		var fwd, back uint32
		if i+1 < len(leaves) {
			fwd = leaves[i+1]
		}
		if i > 0 {
			back = leaves[i-1]
		}
		blocks.blocks[idx] = bomNode(true, pairs[start:end], fwd, back)
	}
	root := leaves[0]
	if len(leaves) > 1 {
		var branch [][2]uint32
		for i, l := range leaves {
			branch = append(branch, [2]uint32{l, lastVals[i]})
		}
		root = blocks.add(bomNode(false, branch, 0, 0))
	}
	paths := blocks.add(bomTree(root, 4096, uint32(len(pairs))))

	hl := blocks.add(bomTree(blocks.add(bomNode(true, nil, 0, 0)), 4096, 0))
	vtree := blocks.add(bomTree(blocks.add(bomNode(true, nil, 0, 0)), 128, 0))
	vindex := blocks.add(append(be32(1, vtree, 0), 0))
	size64 := blocks.add(bomTree(blocks.add(bomNode(true, nil, 0, 0)), 128, 0))

	vars := be32(5)
	for _, v := range []struct {
		name string
		idx  uint32
	}{{"BomInfo", info}, {"Paths", paths}, {"HLIndex", hl}, {"VIndex", vindex}, {"Size64", size64}} {
		vars = append(vars, be32(v.idx)...)
		vars = append(vars, byte(len(v.name)))
		vars = append(vars, v.name...)
	}

	var out bytes.Buffer
	out.Write(make([]byte, bomHeaderSize))
	addrs := make([]uint32, len(blocks.blocks))
	for i, b := range blocks.blocks {
		if i == 0 {
			continue
		}
		addrs[i] = uint32(out.Len())
		out.Write(b)
	}
	varsOff := out.Len()
	out.Write(vars)
	indexOff := out.Len()
	out.Write(be32(uint32(len(blocks.blocks))))
	for i, b := range blocks.blocks {
		out.Write(be32(addrs[i], uint32(len(b))))
	}
	out.Write(be32(0, 0, 0, 0, 0)) // empty free list, and two spare pointers as mkbom writes
	indexLen := out.Len() - indexOff
	hdr := append([]byte("BOMStore"), be32(1, uint32(len(blocks.blocks)-1), uint32(indexOff), uint32(indexLen), uint32(varsOff), uint32(len(vars)))...)
	b := out.Bytes()
	copy(b, hdr)
	return b, nil
}

// Limits of readBOM: Boms from elsewhere are untrusted.
const (
	maxBOMBlocks = 1 << 20
	maxBOMPaths  = 100000
)

type bomReader struct {
	b      []byte
	blocks [][2]uint32
}

func (r *bomReader) block(i uint32) ([]byte, error) {
	if i == 0 || int(i) >= len(r.blocks) {
		return nil, fmt.Errorf("bom: block %d does not exist", i)
	}
	a, n := r.blocks[i][0], r.blocks[i][1]
	if uint64(a)+uint64(n) > uint64(len(r.b)) {
		return nil, fmt.Errorf("bom: block %d at %d+%d outside the file of %d bytes", i, a, n, len(r.b))
	}
	return r.b[a : a+n], nil
}

func (r *bomReader) tree(i uint32) (root uint32, err error) {
	t, err := r.block(i)
	if err != nil {
		return 0, err
	}
	if len(t) < 21 || string(t[:4]) != "tree" {
		return 0, fmt.Errorf("bom: block %d is not a tree", i)
	}
	return binary.BigEndian.Uint32(t[8:]), nil
}

type bomNodeRead struct {
	leaf              bool
	forward, backward uint32
	pairs             [][2]uint32
}

func (r *bomReader) node(i uint32) (bomNodeRead, error) {
	b, err := r.block(i)
	if err != nil {
		return bomNodeRead{}, err
	}
	if len(b) < 12 {
		return bomNodeRead{}, fmt.Errorf("bom: tree node %d too short", i)
	}
	be := binary.BigEndian
	n := bomNodeRead{leaf: be.Uint16(b) != 0, forward: be.Uint32(b[4:]), backward: be.Uint32(b[8:])}
	count := int(be.Uint16(b[2:]))
	if len(b) < 12+8*count {
		return bomNodeRead{}, fmt.Errorf("bom: tree node %d: %d entries do not fit %d bytes", i, count, len(b))
	}
	for k := range count {
		p := b[12+8*k:]
		n.pairs = append(n.pairs, [2]uint32{be.Uint32(p), be.Uint32(p[4:])})
	}
	return n, nil
}

// readBOM parses a Bom and returns its paths in the Paths tree's order.
func readBOM(b []byte) ([]bomEntry, error) {
	if len(b) < 32 || string(b[:8]) != "BOMStore" {
		return nil, errors.New("bom: bad magic (not a BOMStore file)")
	}
	be := binary.BigEndian
	if v := be.Uint32(b[8:]); v != 1 {
		return nil, fmt.Errorf("bom: version %d, want 1", v)
	}
	indexOff, indexLen := be.Uint32(b[16:]), be.Uint32(b[20:])
	varsOff, varsLen := be.Uint32(b[24:]), be.Uint32(b[28:])
	if uint64(indexOff)+uint64(indexLen) > uint64(len(b)) || indexLen < 4 {
		return nil, errors.New("bom: block table outside the file")
	}
	if uint64(varsOff)+uint64(varsLen) > uint64(len(b)) || varsLen < 4 {
		return nil, errors.New("bom: variables outside the file")
	}
	idx := b[indexOff : indexOff+indexLen]
	n := be.Uint32(idx)
	if n > maxBOMBlocks || uint64(len(idx)-4) < 8*uint64(n) {
		return nil, fmt.Errorf("bom: block table of %d entries does not fit %d bytes", n, len(idx))
	}
	r := &bomReader{b: b}
	for i := range n {
		p := idx[4+8*i:]
		r.blocks = append(r.blocks, [2]uint32{be.Uint32(p), be.Uint32(p[4:])})
	}
	vars := map[string]uint32{}
	vb := b[varsOff : varsOff+varsLen]
	count := be.Uint32(vb)
	vb = vb[4:]
	for range count {
		if len(vb) < 5 || len(vb) < 5+int(vb[4]) {
			return nil, errors.New("bom: variables truncated")
		}
		vars[string(vb[5:5+int(vb[4])])] = be.Uint32(vb)
		vb = vb[5+int(vb[4]):]
	}
	pathsIdx, ok := vars["Paths"]
	if !ok {
		return nil, errors.New("bom: no Paths variable")
	}
	cur, err := r.tree(pathsIdx)
	if err != nil {
		return nil, err
	}
	// Down the first branch to the first leaf, then along the leaves.
	seen := map[uint32]bool{}
	var node bomNodeRead
	for {
		if seen[cur] {
			return nil, errors.New("bom: Paths tree has a loop")
		}
		seen[cur] = true
		if node, err = r.node(cur); err != nil {
			return nil, err
		}
		if node.leaf {
			break
		}
		if len(node.pairs) == 0 {
			return nil, errors.New("bom: empty branch in the Paths tree")
		}
		cur = node.pairs[0][0]
	}
	type raw struct {
		id, parent uint32
		name       string
		e          bomEntry
	}
	var all []raw
	for {
		for _, p := range node.pairs {
			if len(all) >= maxBOMPaths {
				return nil, fmt.Errorf("bom: more than %d paths", maxBOMPaths)
			}
			key, err := r.block(p[0])
			if err != nil {
				return nil, err
			}
			val, err := r.block(p[1])
			if err != nil {
				return nil, err
			}
			if len(key) < 8 || len(val) < 5 || val[len(val)-1] != 0 {
				return nil, fmt.Errorf("bom: bad path entry (blocks %d, %d)", p[0], p[1])
			}
			name := string(val[4 : len(val)-1])
			if i := strings.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			meta, err := r.block(be.Uint32(key[4:]))
			if err != nil {
				return nil, err
			}
			e, err := parseBOMMetadata(meta)
			if err != nil {
				return nil, fmt.Errorf("bom: %s: %w", name, err)
			}
			all = append(all, raw{be.Uint32(key), be.Uint32(val), name, e})
		}
		if node.forward == 0 {
			break
		}
		if seen[node.forward] {
			return nil, errors.New("bom: Paths leaves loop")
		}
		seen[node.forward] = true
		if node, err = r.node(node.forward); err != nil {
			return nil, err
		}
	}
	byID := map[uint32]int{}
	for i, x := range all {
		if x.id == 0 {
			return nil, fmt.Errorf("bom: %s: id 0", x.name)
		}
		if _, dup := byID[x.id]; dup {
			return nil, fmt.Errorf("bom: id %d twice", x.id)
		}
		byID[x.id] = i
	}
	out := make([]bomEntry, len(all))
	for i, x := range all {
		if x.name == "" || strings.Contains(x.name, "/") && x.name != "." {
			return nil, fmt.Errorf("bom: bad name %q", x.name)
		}
		p := x.name
		for parent, depth := x.parent, 0; parent != 0; depth++ {
			j, ok := byID[parent]
			if !ok {
				return nil, fmt.Errorf("bom: %s: parent %d not listed", x.name, parent)
			}
			if depth > 256 {
				return nil, fmt.Errorf("bom: %s: parents nested too deep or in a loop", x.name)
			}
			p = all[j].name + "/" + p
			parent = all[j].parent
		}
		out[i] = x.e
		out[i].Path = p
	}
	return out, nil
}

func parseBOMMetadata(m []byte) (bomEntry, error) {
	be := binary.BigEndian
	if len(m) < 4 {
		return bomEntry{}, errors.New("metadata truncated")
	}
	typ, flags := m[0], be.Uint16(m[2:])
	if flags&0xf == 0 {
		return bomEntry{}, errors.New("a path-only Bom (no modes or sizes)")
	}
	if len(m) < 23 {
		return bomEntry{}, errors.New("metadata truncated")
	}
	e := bomEntry{
		Mode:  uint32(be.Uint16(m[4:])),
		UID:   be.Uint32(m[6:]),
		GID:   be.Uint32(m[10:]),
		MTime: be.Uint32(m[14:]),
		Size:  be.Uint32(m[18:]),
	}
	switch {
	case typ == bomTypeFile && e.Mode&modeTypeMask == modeRegular:
		if len(m) < 27 {
			return bomEntry{}, errors.New("file metadata without a checksum")
		}
		e.Checksum = be.Uint32(m[23:])
	case typ == bomTypeDir && e.Mode&modeTypeMask == modeDir:
	default:
		return bomEntry{}, fmt.Errorf("type %d with mode %o not supported", typ, e.Mode)
	}
	return e, nil
}
