package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/vcguard/vcguard/policies"
	"go.yaml.in/yaml/v3"
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
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(PolicySchemaJSON))
	if err != nil {
		return nil, fmt.Errorf("policy schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(policySchemaURL, doc); err != nil {
		return nil, fmt.Errorf("policy schema: %w", err)
	}
	s, err := c.Compile(policySchemaURL)
	if err != nil {
		return nil, fmt.Errorf("policy schema: %w", err)
	}
	return s, nil
})

// ValidatePolicy checks one policy document (YAML or JSON) against the
// schema and returns the first (deepest) violation as a
// *policies.FieldError with its line.
func ValidatePolicy(file string, data []byte) error {
	schema, err := policySchema()
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &policies.FieldError{File: file, Msg: err.Error()}
	}
	if len(doc.Content) == 0 {
		return &policies.FieldError{File: file, Line: 1, Msg: "document is empty"}
	}
	return validate(file, doc.Content[0], schema)
}
