// Package groupname is the one rule for device group names: the names a
// policy's groups: keys may use, and so the only names an enrollment secret
// may grant. A leaf package (no protobuf or gRPC), so that vcguardctl can
// check a name before it asks the server.
package groupname

import "regexp"

// Rule describes a valid device group name, for messages.
const Rule = "lower case letters, digits and '-', at most 41, starting with a letter or digit"

var pattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,40}$`)

// Valid reports whether name is a device group name a policy can target.
func Valid(name string) bool { return pattern.MatchString(name) }
