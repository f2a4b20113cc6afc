package proctable

import (
	"cmp"
	"slices"
)

// Descendants returns the descendants of root found in all, breadth
// first: every process comes after its parent. all may list root itself,
// and root's ancestors and siblings, which are never returned.
//
// A process counts as a child of its PPID only when it started no earlier
// than that parent. Windows does not update ParentProcessID when a parent
// exits, so a PID reused by a newer process would otherwise adopt the old
// one's children; Linux and macOS reparent orphans, where the check costs
// nothing. A process listed under a parent's PID with another start time
// means the parent has gone and its PID was reused: the processes listed
// as its children are the newcomer's, and are not followed.
func Descendants(root Entry, all []Entry) []Entry {
	children := make(map[int32][]Entry)
	listed := make(map[int32][]int64, len(all))
	for _, e := range all {
		listed[e.PID] = append(listed[e.PID], e.Start)
		if e.PID == e.PPID || e.PID <= 0 {
			continue
		}
		children[e.PPID] = append(children[e.PPID], e)
	}
	for _, cs := range children {
		slices.SortFunc(cs, func(a, b Entry) int { return cmp.Compare(a.PID, b.PID) })
	}
	seen := map[ID]bool{root.ID: true}
	var out []Entry
	queue := []Entry{root}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		if starts := listed[parent.PID]; len(starts) > 0 && !slices.Contains(starts, parent.Start) {
			continue
		}
		for _, c := range children[parent.PID] {
			if c.Start < parent.Start || seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}
