package msi

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The archive format msiinfo export writes and msibuild -i reads: tab
// separated, the column names, their types, then the table's name and
// key columns, then one row a line.

// secureProperties adds props to the SecureCustomProperties row of a
// Property table export (creating the row when there is none), keeping the
// properties already there (wixl puts its upgrade properties in it).
// wixl ignores Secure="yes", so this is done on the built package.
func secureProperties(idt []byte, props []string) ([]byte, error) {
	lines := strings.Split(strings.TrimRight(string(idt), "\r\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	if len(lines) < 3 || lines[0] != "Property\tValue" || !strings.HasPrefix(lines[2], "Property\t") {
		return nil, fmt.Errorf("not an export of the Property table: %q", firstLine(idt))
	}
	found := false
	for i := 3; i < len(lines); i++ {
		name, value, ok := strings.Cut(lines[i], "\t")
		if !ok || name != "SecureCustomProperties" {
			continue
		}
		found = true
		have := strings.Split(value, ";")
		if value == "" {
			have = nil
		}
		for _, p := range props {
			if !slices.Contains(have, p) {
				have = append(have, p)
			}
		}
		lines[i] = name + "\t" + strings.Join(have, ";")
	}
	if !found {
		lines = append(lines, "SecureCustomProperties\t"+strings.Join(props, ";"))
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n"), nil
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return string(line)
}

// conditionTable is the Condition table (an archive file for msibuild -i)
// that leaves each policy value's feature out (level 0) when its property
// is not set. wixl writes no Condition table.
func conditionTable(ps []policy) []byte {
	var b strings.Builder
	b.WriteString("Feature_\tLevel\tCondition\r\ns38\ti2\tS255\r\nCondition\tFeature_\tLevel\r\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "%s\t0\tNOT %s\r\n", policyFeature(p), p.Property)
	}
	return []byte(b.String())
}

// msidbCustomActionTypeHideTarget keeps a custom action's target (its
// formatted command line) out of the installer's log.
const msidbCustomActionTypeHideTarget = 0x2000

// hideTargets sets the HideTarget bit of the named actions in a
// CustomAction table export: wixl 0.101 reads HideTarget="yes" but does not
// set it.
func hideTargets(idt []byte, actions []string) ([]byte, error) {
	lines := strings.Split(strings.TrimRight(string(idt), "\r\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "Action\tType\t") || !strings.HasPrefix(lines[2], "CustomAction\t") {
		return nil, fmt.Errorf("not an export of the CustomAction table: %q", firstLine(idt))
	}
	done := map[string]bool{}
	for i := 3; i < len(lines); i++ {
		cols := strings.Split(lines[i], "\t")
		if len(cols) < 2 || !slices.Contains(actions, cols[0]) {
			continue
		}
		typ, err := strconv.Atoi(cols[1])
		if err != nil {
			return nil, fmt.Errorf("custom action %s: type %q: %w", cols[0], cols[1], err)
		}
		cols[1] = strconv.Itoa(typ | msidbCustomActionTypeHideTarget)
		lines[i] = strings.Join(cols, "\t")
		done[cols[0]] = true
	}
	for _, a := range actions {
		if !done[a] {
			return nil, fmt.Errorf("no custom action %s", a)
		}
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n"), nil
}
