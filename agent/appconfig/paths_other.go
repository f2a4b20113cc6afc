//go:build !linux && !windows && !darwin

package appconfig

// current is empty where no app's file locations are known: readers return
// ErrUnsupported.
func (p osPaths) current() []string { return nil }
