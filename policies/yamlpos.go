package policies

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is a problem with one field of a YAML or JSON document: it names
// the file, the line and the field so a person can fix it.
type FieldError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %s", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// decodeStrict parses one YAML (or JSON, which is YAML) document into v,
// refusing unknown fields, and returns the root node for position look-ups.
func decodeStrict(file string, data []byte, v any) (*yaml.Node, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, yamlError(file, err)
	}
	if len(root.Content) == 0 {
		return nil, &FieldError{File: file, Line: 1, Msg: "document is empty"}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &FieldError{File: file, Line: extra.Line, Msg: "more than one YAML document in file"}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, &FieldError{File: file, Line: doc.Line, Msg: "document must be a mapping"}
	}
	strictDec := yaml.NewDecoder(bytes.NewReader(data))
	strictDec.KnownFields(true)
	if err := strictDec.Decode(v); err != nil {
		return nil, yamlError(file, err)
	}
	return doc, nil
}

// yamlError turns the yaml package's errors ("yaml: line 3: ...") into a
// FieldError carrying the file and line.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		line, msg := splitYAMLLine(te.Errors[0])
		return &FieldError{File: file, Line: line, Msg: msg}
	}
	line, msg := splitYAMLLine(strings.TrimPrefix(err.Error(), "yaml: "))
	return &FieldError{File: file, Line: line, Msg: msg}
}

func splitYAMLLine(s string) (int, string) {
	var line int
	if n, _ := fmt.Sscanf(s, "line %d:", &line); n == 1 {
		if i := strings.Index(s, ":"); i >= 0 {
			return line, strings.TrimSpace(s[i+1:])
		}
	}
	return 0, s
}

// lineOf returns the line of the value at path below node (mapping keys), or
// of the deepest node found on the way.
func lineOf(node *yaml.Node, path ...string) int {
	line := node.Line
	for _, key := range path {
		if node.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == key {
				node = node.Content[i+1]
				line = node.Line
				found = true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}
