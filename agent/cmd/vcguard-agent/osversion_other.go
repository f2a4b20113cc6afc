//go:build !windows

package main

import "github.com/shirou/gopsutil/v4/host"

// osVersion names the OS and its version ("debian 12.8", "darwin 15.1").
func osVersion() string {
	platform, _, ver, err := host.PlatformInformation()
	if err != nil {
		return ""
	}
	return joinVersion(platform, ver)
}
