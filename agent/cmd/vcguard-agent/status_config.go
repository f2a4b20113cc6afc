package main

import (
	"fmt"
	"io"

	"github.com/vcguard/vcguard/agent/uplink"
)

// printConfigSources shows the enrollment settings and where each came
// from ("managed: registry", "flag --server", "file /etc/vcguard/agent.yaml",
// "environment VCGUARD_SERVER"). The secret's value is never shown.
func printConfigSources(w io.Writer, c *config) {
	from := func(key string) string {
		if s, ok := c.sources[key]; ok {
			return " (" + s + ")"
		}
		return ""
	}
	if c.ConfigFile != "" {
		fmt.Fprintf(w, "Config file: %s\n", c.ConfigFile)
	}
	if c.Server != "" {
		fmt.Fprintf(w, "Server:      %s%s\n", c.Server, from("server"))
	}
	switch {
	case c.caPEM != "":
		fmt.Fprintf(w, "CA:          certificate%s\n", from("ca_certificate"))
	case c.CAFile != "":
		fmt.Fprintf(w, "CA:          %s%s\n", c.CAFile, from("ca_file"))
	}
	if c.CAFingerprint != "" {
		fmt.Fprintf(w, "CA SHA-256:  %s%s\n", c.CAFingerprint, from("ca_fingerprint"))
	}
	switch {
	case c.enrollSecret != "":
		fmt.Fprintf(w, "Secret:      set%s\n", from("enroll_secret"))
	case c.EnrollSecretFile != "":
		fmt.Fprintf(w, "Secret:      file %s%s\n", c.EnrollSecretFile, from("enroll_secret_file"))
	case uplink.HasStoredSecret(c.StateDir):
		fmt.Fprintf(w, "Secret:      stored in the state directory (until enrolled)\n")
	}
	if c.DeviceGroup != "" {
		fmt.Fprintf(w, "Group:       %s%s\n", c.DeviceGroup, from("device_group"))
	}
}
