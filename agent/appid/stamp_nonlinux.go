//go:build !linux

package appid

// stampPaths: the executable's path (under Root).
func (in *Inspector) stampPaths(pid int32, exe string) []string {
	return []string{in.underRoot(exe)}
}
