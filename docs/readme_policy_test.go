package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
)

// The policy the README shows under "Policies" is a valid policy: a
// reader who copies it gets what it says, not an error.
func TestReadmePolicyExampleParses(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n## Policies\n")
	if !ok {
		t.Fatal("README has no Policies section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	if !ok {
		t.Fatal("the Policies section has no yaml block")
	}
	doc, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("the yaml block is not closed")
	}
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policies.ParsePolicy("README.md", []byte(doc), cat); err != nil {
		t.Errorf("the README's example policy does not parse: %v", err)
	}
}
