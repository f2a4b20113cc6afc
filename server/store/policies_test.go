package store_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/store"
)

// Policy publishing and rollout, on a SQLite file and on PostgreSQL.
func TestPolicyPublishAndRollout(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]opener{"SQLite": openSQLite, "PostgreSQL": func(t *testing.T) *store.Store {
		postgresDSN(t)
		return openPostgres(t)
	}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("UnchangedRefused", func(t *testing.T) { t.Parallel(); testPublishUnchanged(t, open(t)) })
			t.Run("Rollout", func(t *testing.T) { t.Parallel(); testPolicyRollout(t, open(t), name) })
		})
	}
}

var sign = func(v uint64, _ []byte) []byte { return fmt.Appendf(nil, "sig-%d", v) }

// A document identical to the newest version's is refused, naming that
// version, with no version, audit entry or notice; the comment is stored
// and read back by every read.
func testPublishUnchanged(t *testing.T, s *store.Store) {
	ctx := t.Context()
	doc := []byte("name: A\n")
	p1, err := s.PublishPolicy(ctx, store.NewPolicy{Name: "A", Document: doc, By: "alice", Comment: "first", At: at(0)}, sign, change("policy_publish"))
	if err != nil || p1.Version != 1 || p1.Comment != "first" {
		t.Fatalf("first publish: %+v, %v", p1, err)
	}
	_, err = s.PublishPolicy(ctx, store.NewPolicy{Name: "A", Document: doc, By: "alice", Comment: "again", At: at(1)}, sign, change("policy_publish"))
	var ue *store.UnchangedError
	if !errors.Is(err, store.ErrUnchanged) || !errors.As(err, &ue) || ue.Version != 1 ||
		err.Error() != "the document is identical to version 1, the version in force: nothing to publish" {
		t.Fatalf("identical document: %v", err)
	}
	if ps, _ := s.Policies(ctx); len(ps) != 1 {
		t.Errorf("%d versions after the refusal", len(ps))
	}
	if log, _ := s.AuditLog(ctx, store.AuditFilter{}); len(log) != 1 {
		t.Errorf("audit log after the refusal: %+v", log)
	}
	// An older version's document is a change: that is a rollback.
	if _, err := s.PublishPolicy(ctx, store.NewPolicy{Name: "B", Document: []byte("name: B\n"), By: "bob", Comment: "second", At: at(2)}, sign, change("policy_publish")); err != nil {
		t.Fatal(err)
	}
	p3, err := s.PublishPolicy(ctx, store.NewPolicy{Name: "A", Document: doc, By: "bob (rollback to version 1)", Comment: "back to A\nsee ticket 7", At: at(3)}, sign, change("policy_rollback"))
	if err != nil || p3.Version != 3 {
		t.Fatalf("rollback to version 1's document: %+v, %v", p3, err)
	}
	cur, err1 := s.CurrentPolicy(ctx)
	one, err2 := s.Policy(ctx, 1)
	all, err3 := s.Policies(ctx)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if cur.Comment != "back to A\nsee ticket 7" || one.Comment != "first" || len(all) != 3 || all[1].Comment != "second" {
		t.Errorf("comments read back: current %q, version 1 %q, list %+v", cur.Comment, one.Comment, all)
	}
}

// The rollout counts of thousands of devices, read from the index.
func testPolicyRollout(t *testing.T, s *store.Store, backend string) {
	ctx := t.Context()
	r, err := s.PolicyRollout(ctx)
	if err != nil || r.Total != 0 || r.Applied(1) != 0 || r.On(0) != 0 {
		t.Fatalf("empty store: %+v, %v", r, err)
	}
	const n = 4000
	ids := make([]string, n)
	versions := make([]int64, n)
	revoked := make([]bool, n)
	on := map[uint64]int{}
	total := 0
	for i := range n {
		ids[i] = fmt.Sprintf("dev-%05d", i)
		versions[i] = int64(i % 7) // 0 (none yet) to 6
		if i == 14 {
			// An agent that reported a version beyond int64: stored
			// negative, still the newest.
			versions[i] = -1
		}
		revoked[i] = i%10 == 3
		if !revoked[i] {
			on[uint64(versions[i])]++
			total++
		}
	}
	if err := s.SeedDevices(ctx, ids, versions, revoked); err != nil {
		t.Fatal(err)
	}
	r, err = s.PolicyRollout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != total {
		t.Errorf("total %d, want %d", r.Total, total)
	}
	for v := uint64(0); v <= 8; v++ {
		wantApplied := 0
		for ver, c := range on {
			if ver >= v {
				wantApplied += c
			}
		}
		if v == 0 {
			wantApplied = total
		}
		if got := r.Applied(v); got != wantApplied {
			t.Errorf("Applied(%d) = %d, want %d", v, got, wantApplied)
		}
		if got := r.On(v); got != on[v] {
			t.Errorf("On(%d) = %d, want %d", v, got, on[v])
		}
	}
	if r.On(math.MaxUint64) != 1 || r.Applied(math.MaxUint64) != 1 {
		t.Errorf("the device on version 2^64-1: On %d, Applied %d", r.On(math.MaxUint64), r.Applied(math.MaxUint64))
	}
	plan, err := s.RolloutQueryPlan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "devices_rollout"
	if backend == "SQLite" {
		want = "USING COVERING INDEX devices_rollout"
	}
	if !strings.Contains(plan, want) {
		t.Errorf("the rollout query does not read the index devices_rollout:\n%s", plan)
	}
	t.Logf("plan:\n%s", plan)
}
