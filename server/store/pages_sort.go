package store

import (
	"fmt"
	"strings"
)

// DeviceSort is the order of the device list: by one column, then by
// hostname and id, all ascending or all descending. The zero value is by
// hostname, ascending.
type DeviceSort struct {
	// Key is one of DeviceSortKeys; "" is "hostname".
	Key  string
	Desc bool
}

// DeviceSortKeys are the columns the device list sorts by.
var DeviceSortKeys = []string{"hostname", "os", "group", "last_seen", "verdict", "policy"}

// sortColumns are the SQL expressions of the sort keys other than hostname.
var sortColumns = map[string]string{
	"os":        "os",
	"group":     "device_group",
	"last_seen": "last_seen",
	// The worst verdict of a running app, as verdictRank numbers it.
	"verdict": `COALESCE((SELECT MAX(` + verdictRank + `) FROM device_apps a WHERE a.device_id = devices.id AND a.running = 1), 0)`,
	"policy":  "policy_version",
}

// ParseDeviceSort reads a sort as String writes it: a key, with a
// leading "-" for descending ("" is by hostname).
func ParseDeviceSort(s string) (DeviceSort, error) {
	var o DeviceSort
	o.Key, o.Desc = strings.CutPrefix(s, "-")
	if o.Key == "" && !o.Desc {
		return DeviceSort{}, nil
	}
	for _, k := range DeviceSortKeys {
		if o.Key == k {
			if o.Key == "hostname" {
				o.Key = ""
			}
			return o, nil
		}
	}
	return DeviceSort{}, fmt.Errorf("%q: want one of %s, with a leading - for descending", s, strings.Join(DeviceSortKeys, ", "))
}

// String is the sort as ParseDeviceSort reads it; "" for the default.
func (o DeviceSort) String() string {
	k := o.Key
	if k == "" {
		if !o.Desc {
			return ""
		}
		k = "hostname"
	}
	if o.Desc {
		return "-" + k
	}
	return k
}

// columns are the ORDER BY columns.
func (o DeviceSort) columns() []string {
	if c, ok := sortColumns[o.Key]; ok {
		return []string{c, "hostname", "id"}
	}
	return []string{"hostname", "id"}
}

// expr is the sort column selected with each row (” for hostname, which
// the key holds anyway).
func (o DeviceSort) expr() string {
	if c, ok := sortColumns[o.Key]; ok {
		return c
	}
	return "''"
}

// numeric reports whether the sort column is a number.
func (o DeviceSort) numeric() bool {
	switch o.Key {
	case "last_seen", "verdict", "policy":
		return true
	}
	return false
}
