//go:build !linux && !windows && !darwin

package browserpolicy

// DefaultTargets is empty where vcguard knows no browser policy places;
// New then returns an error wrapping errors.ErrUnsupported.
func DefaultTargets() []Target { return nil }
