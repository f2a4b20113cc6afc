//go:build !linux && !darwin && !windows

package browsersite

// browserDirs is empty where the agent knows no browser's layout: Profiles
// and Read return errors.ErrUnsupported.
var browserDirs = map[string][]browserDir{}
