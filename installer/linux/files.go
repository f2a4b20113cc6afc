// Package linux holds the Linux files the agent's packages install: the
// systemd unit, the configuration file, the notifier's XDG autostart entry
// and the maintainer scripts. installer/linuxpkg embeds them from here so
// the files reviewed in the repository are byte for byte the ones shipped.
package linux

import "embed"

// Files holds the files named by the constants below (read-only).
//
//go:embed vcguard-agent.service agent.yaml vcguard-notifier.desktop postinstall.sh preremove.sh postremove.sh
var Files embed.FS

// Names of the files in Files.
const (
	// Unit is the systemd unit, installed as
	// /usr/lib/systemd/system/vcguard-agent.service.
	Unit = "vcguard-agent.service"
	// Config is the agent's configuration with its defaults commented
	// out, installed as /etc/vcguard/agent.yaml (a configuration file the
	// package manager does not replace once changed).
	Config = "agent.yaml"
	// NotifierAutostart starts the per-user notifier at login, installed
	// as /etc/xdg/autostart/vcguard-notifier.desktop.
	NotifierAutostart = "vcguard-notifier.desktop"
	// PostInstall enables and (re)starts the service where systemd runs
	// (deb postinst, rpm %post).
	PostInstall = "postinstall.sh"
	// PreRemove stops and disables the service on removal, not on
	// upgrade (deb prerm, rpm %preun).
	PreRemove = "preremove.sh"
	// PostRemove deletes state and configuration on purge (deb) or erase
	// (rpm), not on upgrade (deb postrm, rpm %postun).
	PostRemove = "postremove.sh"
)
