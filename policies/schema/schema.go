// Package schema validates catalog entries against the published JSON
// Schema (catalog-entry.schema.json, for editors and other tools). The
// catalog loader in package policies applies the same rules in Go, so the
// agent does not link a JSON Schema implementation; this package's tests
// hold the two to the same verdicts.
package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/vcguard/vcguard/policies"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// CatalogSchemaJSON is the JSON Schema of a catalog entry, for editors and
// for validation at load.
//
//go:embed catalog-entry.schema.json
var CatalogSchemaJSON []byte

const catalogSchemaURL = "https://vcguard.eu/schema/catalog-entry.schema.json"

// catalogSchema compiles the embedded schema once; the result never
// changes afterwards.
var catalogSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compile("catalog schema", catalogSchemaURL, CatalogSchemaJSON)
})

// compile compiles one embedded schema.
func compile(what, url string, data []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}

// ValidateApp checks one catalog entry (YAML or JSON) against the schema
// and returns the first (deepest) violation as a *policies.FieldError with
// its line.
func ValidateApp(file string, data []byte) error {
	return validateDocument(file, data, catalogSchema)
}

// validateDocument parses a YAML (or JSON) document and validates it.
func validateDocument(file string, data []byte, schema func() (*jsonschema.Schema, error)) error {
	sch, err := schema()
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
	return validate(file, doc.Content[0], sch)
}

func validate(file string, root *yaml.Node, schema *jsonschema.Schema) error {
	var v any
	if err := root.Decode(&v); err != nil {
		return &policies.FieldError{File: file, Line: root.Line, Msg: err.Error()}
	}
	inst, err := toJSONValue(v)
	if err != nil {
		return &policies.FieldError{File: file, Line: root.Line, Msg: err.Error()}
	}
	err = schema.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return &policies.FieldError{File: file, Line: root.Line, Msg: err.Error()}
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	msg := leaf.ErrorKind.LocalizedString(message.NewPrinter(language.English))
	if v, ok := valueAt(inst, leaf.InstanceLocation); ok {
		msg = fmt.Sprintf("%q: %s", v, msg)
	}
	return &policies.FieldError{File: file, Line: policies.LineOf(root, leaf.InstanceLocation...), Field: strings.Join(leaf.InstanceLocation, "."), Msg: "schema: " + msg}
}

// toJSONValue turns what YAML decoded into what the schema validator
// takes: JSON's types, with numbers as json.Number and an unquoted date
// (which YAML reads as a timestamp) as its YYYY-MM-DD text.
func toJSONValue(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			j, err := toJSONValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = j
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			j, err := toJSONValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = j
		}
		return out, nil
	case time.Time:
		if x.Equal(x.Truncate(24 * time.Hour)) {
			return x.Format(time.DateOnly), nil
		}
		return x.Format(time.RFC3339), nil
	case int:
		return json.Number(fmt.Sprint(x)), nil
	case uint64:
		return json.Number(fmt.Sprint(x)), nil
	case float64:
		return json.Number(fmt.Sprint(x)), nil
	case string, bool, nil:
		return x, nil
	default:
		return nil, fmt.Errorf("unsupported YAML value %v (%T)", v, v)
	}
}

// valueAt returns the scalar at path in a decoded JSON value, as text.
func valueAt(v any, path []string) (string, bool) {
	for _, key := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				return "", false
			}
			v = x[i]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}
