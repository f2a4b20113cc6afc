package policies

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
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

// Budgets of a document, checked before it is decoded into Go values: the
// decoder compares every key of a mapping with every other (duplicate
// check), so a mapping of 84,000 groups took 30 s on the server and on every
// agent it was pushed to. Real policies and catalog entries are far below
// these.
const (
	// MaxDocumentBytes bounds a policy or catalog document.
	MaxDocumentBytes = 1 << 20
	// MaxCollectionEntries bounds the keys of one mapping or the items of
	// one sequence (groups, apps, rules, ...).
	MaxCollectionEntries = 2000
	// MaxDocumentNodes bounds the YAML nodes of a document.
	MaxDocumentNodes = 100_000
)

// checkBudget refuses a parsed document over the budgets, naming where.
func checkBudget(file string, root *yaml.Node) error {
	nodes := 0
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		nodes++
		if nodes > MaxDocumentNodes {
			return &FieldError{File: file, Line: n.Line, Msg: fmt.Sprintf("document has more than %d YAML nodes", MaxDocumentNodes)}
		}
		entries := len(n.Content)
		if n.Kind == yaml.MappingNode {
			entries /= 2
		}
		if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && entries > MaxCollectionEntries {
			return &FieldError{File: file, Line: n.Line, Msg: fmt.Sprintf("has %d entries; at most %d are accepted", entries, MaxCollectionEntries)}
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root)
}

// decodeStrict parses one YAML (or JSON, which is YAML) document into v,
// refusing unknown fields and documents over the budgets, and returns the
// root node for position look-ups.
func decodeStrict(file string, data []byte, v any) (*yaml.Node, error) {
	if len(data) > MaxDocumentBytes {
		return nil, &FieldError{File: file, Line: 1, Msg: fmt.Sprintf("document is %d bytes; at most %d are accepted", len(data), MaxDocumentBytes)}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&root)
	if errors.Is(err, io.EOF) {
		// Nothing but white space and comments.
		return nil, &FieldError{File: file, Line: 1, Msg: "document is empty"}
	}
	if err != nil {
		return nil, yamlError(file, nil, err)
	}
	if len(root.Content) == 0 || isNull(root.Content[0]) {
		return nil, &FieldError{File: file, Line: 1, Msg: "document is empty"}
	}
	// A second document, even a broken one, is refused: only the first
	// would be applied, and the person would not know.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(file, nil, err)
		}
		return nil, &FieldError{File: file, Line: extra.Line, Msg: "more than one YAML document in file"}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, &FieldError{File: file, Line: doc.Line, Msg: "document must be a mapping"}
	}
	if err := checkBudget(file, doc); err != nil {
		return nil, err
	}
	strictDec := yaml.NewDecoder(bytes.NewReader(data))
	strictDec.KnownFields(true)
	if err := strictDec.Decode(v); err != nil {
		return nil, yamlError(file, doc, err)
	}
	return doc, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// yamlError turns the yaml package's errors ("yaml: line 3: ...") into a
// FieldError carrying the file and line. With the document's root node, an
// unknown field is reported by its path instead of the Go type it missed.
func yamlError(file string, doc *yaml.Node, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		line, msg := splitYAMLLine(te.Errors[0])
		var name, typ string
		if n, _ := fmt.Sscanf(msg, "field %s not found in type %s", &name, &typ); n == 2 && doc != nil {
			if path := keyPath(doc, name, line); path != nil {
				return &FieldError{File: file, Line: line, Field: strings.Join(path, "."), Msg: "unknown field"}
			}
		}
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

// keyPath returns the path of mapping keys from node to the key named name
// on line, or nil.
func keyPath(node *yaml.Node, name string, line int) []string {
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			key := node.Content[i]
			if key.Value == name && key.Line == line {
				return []string{name}
			}
			if sub := keyPath(node.Content[i+1], name, line); sub != nil {
				return append([]string{key.Value}, sub...)
			}
		}
	case yaml.SequenceNode:
		for _, item := range node.Content {
			if sub := keyPath(item, name, line); sub != nil {
				return sub
			}
		}
	}
	return nil
}

// LineOf returns the line of the key at path below node (mapping keys), or
// of the deepest key found on the way; a number steps into a sequence. The key's line, not its value's: the
// value of "zoom:" in a block mapping starts on the next line.
func LineOf(node *yaml.Node, path ...string) int {
	line := node.Line
	for _, key := range path {
		if node.Kind == yaml.SequenceNode {
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node.Content) {
				return line
			}
			node = node.Content[i]
			line = node.Line
			continue
		}
		if node.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == key {
				line = node.Content[i].Line
				node = node.Content[i+1]
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
