package wine

import "golang.org/x/sys/windows"

// running looks for wine_get_version, which Wine's ntdll exports and
// Windows' does not (the documented way to detect Wine).
func running() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
