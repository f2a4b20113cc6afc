package schema

import (
	_ "embed"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// PolicySchemaJSON is the JSON Schema of a policy document, for editors
// and for the server's and tools' validation. The agent does not link it:
// policies.ParsePolicy applies the same rules, and more (catalog app ids,
// alternatives), in Go.
//
//go:embed policy.schema.json
var PolicySchemaJSON []byte

const policySchemaURL = "https://vcguard.eu/schema/policy.schema.json"

// policySchema compiles the embedded schema once; the result never
// changes afterwards.
var policySchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compile("policy schema", policySchemaURL, PolicySchemaJSON)
})

// ValidatePolicy checks one policy document (YAML or JSON) against the
// schema and returns the first (deepest) violation as a
// *policies.FieldError with its line.
func ValidatePolicy(file string, data []byte) error {
	return validateDocument(file, data, policySchema)
}
