// Package darwin holds the macOS files the agent's package installs: the
// LaunchDaemon and the notifier's LaunchAgent, the installer scripts and
// the uninstall script. installer/macpkg embeds them from here so the files
// reviewed in the repository are byte for byte the ones shipped.
package darwin

import "embed"

// Files holds the files named by the constants below (read-only).
//
//go:embed eu.vcguard.agent.plist eu.vcguard.notifier.plist preinstall postinstall uninstall.sh
var Files embed.FS

// Names of the files in Files.
const (
	// AgentPlist is the LaunchDaemon, installed as
	// /Library/LaunchDaemons/eu.vcguard.agent.plist.
	AgentPlist = "eu.vcguard.agent.plist"
	// NotifierPlist is the per-user LaunchAgent, installed as
	// /Library/LaunchAgents/eu.vcguard.notifier.plist.
	NotifierPlist = "eu.vcguard.notifier.plist"
	// Preinstall stops an installed older version before an upgrade.
	Preinstall = "preinstall"
	// Postinstall bootstraps the LaunchDaemon and the console user's
	// LaunchAgent.
	Postinstall = "postinstall"
	// Uninstall removes the agent (uninstall.sh [--purge]); installed as
	// /Library/Application Support/vcguard/uninstall.sh.
	Uninstall = "uninstall.sh"
)
