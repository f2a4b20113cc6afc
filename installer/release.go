// Package installer builds the packages MDM rolls out (deb, rpm, msi, pkg,
// mobileconfig) from Linux: `make packages` runs cmd/vcguard-package, which
// builds the agent for every target and hands a Release to each format's
// builder (installer/linuxpkg for deb and rpm, installer/msi, installer/macpkg,
// installer/mobileconfig).
package installer

import (
	"fmt"
	"regexp"
)

// Target is an OS and architecture as Go names them.
type Target struct{ GOOS, GOARCH string }

func (t Target) String() string { return t.GOOS + "/" + t.GOARCH }

// Release is what every package is built from.
type Release struct {
	// Version is the release's version, "1.4.0" or "1.4.0-rc.1"; packages
	// of a newer version upgrade older ones.
	Version string
	// Agent is the vcguard-agent binary built for each target.
	Agent map[Target]string
	// OutDir is where the packages are written.
	OutDir string
	// SignCert and SignKey (PEM files), when both are set, sign the
	// Windows installer with osslsigncode.
	SignCert, SignKey string
}

var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)

// Validate checks the version (packaging formats refuse or misorder
// others) and that an agent is given for every target a builder needs.
func (r Release) Validate(need ...Target) error {
	if !versionRE.MatchString(r.Version) {
		return fmt.Errorf("version %q: want MAJOR.MINOR.PATCH with an optional -PRERELEASE", r.Version)
	}
	for _, t := range need {
		if r.Agent[t] == "" {
			return fmt.Errorf("no vcguard-agent built for %s", t)
		}
	}
	if r.OutDir == "" {
		return fmt.Errorf("no output directory")
	}
	return nil
}
