package policies

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed examples/*.yaml
var examplesFS embed.FS

// Status is what a policy says about a tool.
type Status string

const (
	// StatusApproved tools may be used.
	StatusApproved Status = "approved"
	// StatusRestricted tools may be used with a caveat shown to the user.
	StatusRestricted Status = "restricted"
	// StatusForbidden tools must not be used.
	StatusForbidden Status = "forbidden"
)

func (s Status) valid() bool {
	return s == StatusApproved || s == StatusRestricted || s == StatusForbidden
}

// Policy is an allow-list: what the organisation decides about each tool.
type Policy struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Default is the status of catalog tools the policy does not name;
	// empty leaves them unlisted.
	Default Status `yaml:"default,omitempty" json:"default,omitempty"`
	// Apps maps a catalog app id to the rule for it.
	Apps map[string]AppRule `yaml:"apps" json:"apps"`
}

// AppRule is the decision about one tool.
type AppRule struct {
	Status Status `yaml:"status" json:"status"`
	// Alternative is the app id of the approved tool to use instead.
	Alternative string `yaml:"alternative,omitempty" json:"alternative,omitempty"`
	// Note is shown to the user (e.g. the caveat of a restricted tool).
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
}

// ParsePolicy parses and validates a policy document (YAML or JSON) against
// the catalog. Errors name the file, line and field.
func ParsePolicy(file string, data []byte, cat *Catalog) (*Policy, error) {
	var p Policy
	root, err := decodeStrict(file, data, &p)
	if err != nil {
		return nil, err
	}
	fail := func(msg string, field ...string) error {
		return &FieldError{File: file, Line: LineOf(root, field...), Field: strings.Join(field, "."), Msg: msg}
	}
	if strings.TrimSpace(p.Name) == "" {
		return nil, fail("is required", "name")
	}
	if p.Default != "" && !p.Default.valid() {
		return nil, fail(fmt.Sprintf("%q is not one of approved, restricted, forbidden", p.Default), "default")
	}
	ids := make([]string, 0, len(p.Apps))
	for id := range p.Apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rule := p.Apps[id]
		if _, ok := cat.App(id); !ok {
			return nil, fail(fmt.Sprintf("%q is not an app id of the catalog", id), "apps", id)
		}
		if !rule.Status.valid() {
			return nil, fail(fmt.Sprintf("%q is not one of approved, restricted, forbidden", rule.Status), "apps", id, "status")
		}
		if rule.Alternative != "" {
			if _, ok := cat.App(rule.Alternative); !ok {
				return nil, fail(fmt.Sprintf("%q is not an app id of the catalog", rule.Alternative), "apps", id, "alternative")
			}
			if alt, ok := p.Apps[rule.Alternative]; !ok || alt.Status == StatusForbidden {
				return nil, fail(fmt.Sprintf("alternative %q is not approved or restricted by this policy", rule.Alternative), "apps", id, "alternative")
			}
		}
	}
	return &p, nil
}

// ExamplePolicy returns an example policy shipped in policies/examples by its
// file name without extension (e.g. "eu-default").
func ExamplePolicy(name string) ([]byte, error) {
	data, err := examplesFS.ReadFile("examples/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("example policy %q: %w", name, err)
	}
	return data, nil
}
