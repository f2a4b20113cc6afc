package enforce

import (
	"slices"
	"testing"
)

func TestDescendants(t *testing.T) {
	t.Parallel()
	pids := func(es []entry) []int32 {
		out := make([]int32, len(es))
		for i, e := range es {
			out[i] = e.PID
		}
		return out
	}
	tests := []struct {
		name string
		root entry
		all  []entry
		want []int32
	}{{
		name: "children and grandchildren, parents first",
		root: entry{PID: 10, PPID: 1, Start: 100},
		all: []entry{
			{PID: 1, PPID: 0, Start: 1},
			{PID: 10, PPID: 1, Start: 100},
			{PID: 30, PPID: 11, Start: 103}, // grandchild listed before its parent
			{PID: 12, PPID: 10, Start: 102},
			{PID: 11, PPID: 10, Start: 101},
			{PID: 31, PPID: 30, Start: 104},
		},
		want: []int32{11, 12, 30, 31},
	}, {
		name: "never the parent or a sibling",
		root: entry{PID: 10, PPID: 5, Start: 100},
		all: []entry{
			{PID: 5, PPID: 1, Start: 50},   // parent
			{PID: 10, PPID: 5, Start: 100}, // root
			{PID: 20, PPID: 5, Start: 100}, // sibling, same start tick
			{PID: 21, PPID: 20, Start: 101},
			{PID: 11, PPID: 10, Start: 100}, // child in the same tick
		},
		want: []int32{11},
	}, {
		name: "a process older than the parent its PPID names is not its child",
		// Windows: the real parent of 11 exited and PID 10 was reused by root.
		root: entry{PID: 10, PPID: 1, Start: 100},
		all: []entry{
			{PID: 10, PPID: 1, Start: 100},
			{PID: 11, PPID: 10, Start: 90},
			{PID: 12, PPID: 11, Start: 120},
			{PID: 13, PPID: 10, Start: 130},
		},
		want: []int32{13},
	}, {
		name: "a root whose PID now belongs to a newer process has no children",
		root: entry{PID: 10, PPID: 1, Start: 100},
		all: []entry{
			{PID: 10, PPID: 1, Start: 300},
			{PID: 11, PPID: 10, Start: 310},
		},
		want: nil,
	}, {
		name: "a root that is not listed any more (Windows, pinned by a handle) keeps its children",
		root: entry{PID: 10, PPID: 1, Start: 100},
		all: []entry{
			{PID: 11, PPID: 10, Start: 110},
			{PID: 12, PPID: 11, Start: 120},
		},
		want: []int32{11, 12},
	}, {
		name: "loops in the listing end",
		root: entry{PID: 10, PPID: 1, Start: 100},
		all: []entry{
			{PID: 10, PPID: 11, Start: 100},
			{PID: 11, PPID: 10, Start: 100},
			{PID: 12, PPID: 12, Start: 100},
		},
		want: []int32{11},
	}, {
		name: "no children",
		root: entry{PID: 10, PPID: 1, Start: 100},
		all:  []entry{{PID: 10, PPID: 1, Start: 100}, {PID: 1, Start: 1}},
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pids(descendants(tt.root, tt.all)); !slices.Equal(got, tt.want) {
				t.Errorf("descendants = %v, want %v", got, tt.want)
			}
		})
	}
}
