package policies

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Documents over the budgets are refused before they are decoded into Go
// values (which is quadratic in a mapping's size), naming file and line.
func TestPolicyBudgets(t *testing.T) {
	cat, err := EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	manyGroups := func(n int) []byte {
		var b strings.Builder
		b.WriteString("name: Many groups\ngroups:\n")
		for i := range n {
			fmt.Fprintf(&b, "  g%d: {default: restricted}\n", i)
		}
		return []byte(b.String())
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		want string
	}{
		{"84,000 groups", manyGroups(84_000), "policy.yaml:1: document is 2676916 bytes; at most 1048576 are accepted"},
		{"2,001 groups", manyGroups(MaxCollectionEntries + 1), "policy.yaml:3: has 2001 entries; at most 2000 are accepted"},
		{"a long sequence", []byte("name: x\nrules: [" + strings.Repeat("{}, ", MaxCollectionEntries) + "{}]\n"), "has 2001 entries"},
	} {
		start := time.Now()
		_, err := ParsePolicy("policy.yaml", tc.doc, cat)
		var fe *FieldError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ParsePolicy = %v, want an error containing %q", tc.name, err, tc.want)
		}
		t.Logf("%s (%d bytes): refused in %s", tc.name, len(tc.doc), time.Since(start).Round(time.Millisecond))
	}
	// At the budget the document is decoded as usual.
	start := time.Now()
	if _, err := ParsePolicy("policy.yaml", manyGroups(MaxCollectionEntries), cat); err != nil {
		t.Errorf("a policy of %d groups: %v", MaxCollectionEntries, err)
	}
	t.Logf("%d groups parsed in %s", MaxCollectionEntries, time.Since(start).Round(time.Millisecond))
}
