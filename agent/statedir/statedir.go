// Package statedir describes the agent's state directory: the one place
// that names its files, so the agent, its commands (status, enroll-secret)
// and the installers agree on them. A leaf package: it only names and
// joins paths; the packages that own a file read and write it.
//
// The directory is root's (SYSTEM's on Windows) and private (agent/fsperm
// checks it); every file in it is written through internal/atomicfile.
package statedir

import (
	"os"
	"path/filepath"
)

// File is one entry of the state directory.
type File struct {
	// Name is the entry's name in the directory.
	Name string
	// Mode is the permission it is written with (a directory for Outbox).
	Mode os.FileMode
	// Owner is the package that reads and writes it.
	Owner string
	// What says what it holds.
	What string
}

// The entries of the state directory.
var (
	ClientKey    = File{"client-key.pem", 0o600, "agent/uplink", "the device's private key (PKCS#8 PEM); never leaves the laptop"}
	ClientCert   = File{"client.pem", 0o644, "agent/uplink", "the device's client certificate, renewed when a third of its lifetime is left"}
	CA           = File{"ca.pem", 0o644, "agent/uplink", "the server's CA certificate, pinned at enrollment"}
	Identity     = File{"identity.json", 0o644, "agent/uplink", "device id and server address, written by enrollment"}
	PolicyKey    = File{"policy-key.pub", 0o644, "agent/uplink", "the Ed25519 key signed policies are checked with"}
	EnrollSecret = File{"enroll-secret", 0o600, "agent/uplink", "the enrollment secret until enrollment succeeds"}
	Policy       = File{"policy.json", 0o644, "agent", "the last signed policy received (protobuf JSON), applied at start and offline"}
	Catalog      = File{"catalog.json", 0o600, "agent", "the last signed catalog version the server pushed (protobuf JSON), used at start when it is newer than the catalog built into the agent"}
	Outbox       = File{"outbox", 0o700 | os.ModeDir, "agent/outbox", "the durable event spool (events.log, acked, dropped)"}
	// BrowserPolicies is named by agent/browserpolicy (ManifestName); a
	// test of vcguard-agent checks that the two agree.
	BrowserPolicies = File{"browser-policies.json", 0o600, "agent/browserpolicy", "what the agent wrote into the browsers' managed policies (paths, registry values, hashes), so that it removes exactly that and never another's"}
)

// Files lists every entry, for documentation and checks.
func Files() []File {
	return []File{ClientKey, ClientCert, CA, Identity, PolicyKey, EnrollSecret, Policy, Catalog, Outbox, BrowserPolicies}
}

// Path is the entry's path in the state directory dir.
func (f File) Path(dir string) string { return filepath.Join(dir, f.Name) }
