#!/bin/sh
# vcguard-agent: after install or upgrade, enable and (re)start the service.
# Shipped as the deb's postinst and the rpm's %post; source:
# installer/linux/postinstall.sh.
#   deb: postinst configure [most-recently-configured-version]
#        postinst abort-upgrade | abort-remove | abort-deconfigure ...
#   rpm: %post 1 (install) | 2 and more (upgrade)
# Where systemd does not run (a container, a chroot building an image) it
# does nothing: there, `systemctl enable vcguard-agent` is yours to run.
# A systemctl failure is reported and does not fail the package.
set -e

case "$1" in
configure | abort-upgrade | abort-remove | abort-deconfigure | [0-9]*) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
	# Enabled on every install and upgrade: the agent is meant to run on
	# every managed machine (`systemctl mask vcguard-agent` keeps it off).
	systemctl enable vcguard-agent.service ||
		echo "vcguard-agent: could not enable vcguard-agent.service" >&2
	# Starts it after an install; runs the new binary after an upgrade.
	systemctl restart vcguard-agent.service ||
		echo "vcguard-agent: could not start vcguard-agent.service: see journalctl -u vcguard-agent" >&2
fi
exit 0
