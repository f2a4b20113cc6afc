package main

import (
	"fmt"
	"os"
	"strconv"
)

// readRSS returns the resident memory of process pid in KiB.
func readRSS(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read the server's memory (--server-pid %d): %w", pid, err)
	}
	return parseStatusKiB(string(data), "VmRSS")
}
