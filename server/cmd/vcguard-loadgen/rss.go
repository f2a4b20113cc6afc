package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// parseStatusKiB returns the value of field (e.g. "VmRSS") in the text of a
// Linux /proc/PID/status file, in KiB.
func parseStatusKiB(status, field string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: want \"N kB\", got %q", field, strings.TrimSpace(rest))
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no %s line", field)
}
