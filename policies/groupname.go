package policies

// GroupNameRule describes a valid device group name, for messages.
const GroupNameRule = "lower case letters, digits and '-', at most 41, starting with a letter or digit"

// ValidGroupName reports whether name is a device group name a policy can
// target (its groups: keys): the one rule for group names everywhere,
// enrollment secrets included.
func ValidGroupName(name string) bool { return groupNamePattern.MatchString(name) }
