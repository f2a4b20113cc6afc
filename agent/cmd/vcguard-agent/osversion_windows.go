package main

import (
	"strings"

	"github.com/shirou/gopsutil/v4/host"
)

// osVersion names the Windows edition, its feature update and the exact
// build with its update revision, which tells IT the patch level:
// "Microsoft Windows 11 Pro 24H2 (10.0.26100.2605)". gopsutil's platform
// version is only the feature update ("24H2"), empty on builds before 20H2.
func osVersion() string {
	platform, _, feature, err := host.PlatformInformation()
	if err != nil {
		return ""
	}
	build := ""
	if k, err := host.KernelVersion(); err == nil {
		// "10.0.26100.2605 Build 26100.2605"
		if f := strings.Fields(k); len(f) > 0 {
			build = "(" + f[0] + ")"
		}
	}
	return joinVersion(platform, feature, build)
}
