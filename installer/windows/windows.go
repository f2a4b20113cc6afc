// Package windows holds the sources of the Windows installer: the WiX
// template that installer/msi renders and builds with wixl, and
// notifier.reg, the notifier's autostart value the installer writes.
package windows

import _ "embed"

// WiXTemplate is the text/template of the installer's WiX source
// (vcguard-agent.wxs.tmpl); installer/msi documents its data.
//
//go:embed vcguard-agent.wxs.tmpl
var WiXTemplate string
