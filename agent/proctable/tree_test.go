package proctable

import (
	"slices"
	"testing"
)

func TestDescendants(t *testing.T) {
	t.Parallel()
	pids := func(es []Entry) []int32 {
		out := make([]int32, len(es))
		for i, e := range es {
			out[i] = e.PID
		}
		return out
	}
	tests := []struct {
		name string
		root Entry
		all  []Entry
		want []int32
	}{{
		name: "children and grandchildren, parents first",
		root: ent(10, 1, 100),
		all: []Entry{
			ent(1, 0, 1),
			ent(10, 1, 100),
			ent(30, 11, 103), // grandchild listed before its parent
			ent(12, 10, 102),
			ent(11, 10, 101),
			ent(31, 30, 104),
		},
		want: []int32{11, 12, 30, 31},
	}, {
		name: "never the parent or a sibling",
		root: ent(10, 5, 100),
		all: []Entry{
			ent(5, 1, 50),   // parent
			ent(10, 5, 100), // root
			ent(20, 5, 100), // sibling, same start tick
			ent(21, 20, 101),
			ent(11, 10, 100), // child in the same tick
		},
		want: []int32{11},
	}, {
		name: "a process older than the parent its PPID names is not its child",
		// Windows: the real parent of 11 exited and PID 10 was reused by root.
		root: ent(10, 1, 100),
		all: []Entry{
			ent(10, 1, 100),
			ent(11, 10, 90),
			ent(12, 11, 120),
			ent(13, 10, 130),
		},
		want: []int32{13},
	}, {
		name: "a root whose PID now belongs to a newer process has no children",
		root: ent(10, 1, 100),
		all: []Entry{
			ent(10, 1, 300),
			ent(11, 10, 310),
		},
		want: nil,
	}, {
		name: "a root that is not listed any more (Windows, pinned by a handle) keeps its children",
		root: ent(10, 1, 100),
		all: []Entry{
			ent(11, 10, 110),
			ent(12, 11, 120),
		},
		want: []int32{11, 12},
	}, {
		name: "loops in the listing end",
		root: ent(10, 1, 100),
		all: []Entry{
			ent(10, 11, 100),
			ent(11, 10, 100),
			ent(12, 12, 100),
		},
		want: []int32{11},
	}, {
		name: "no children",
		root: ent(10, 1, 100),
		all:  []Entry{ent(10, 1, 100), ent(1, 0, 1)},
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pids(Descendants(tt.root, tt.all)); !slices.Equal(got, tt.want) {
				t.Errorf("descendants = %v, want %v", got, tt.want)
			}
		})
	}
}

func ent(pid, ppid int32, start int64) Entry {
	return Entry{ID: ID{PID: pid, Start: start}, PPID: ppid}
}
