package agent

import (
	"os"
	"strconv"
)

// scriptOf reads the script an interpreter process runs from its
// /proc/PID/cmdline.
func scriptOf(pid int32) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/cmdline")
	if err != nil {
		return ""
	}
	return parseScript(b)
}
