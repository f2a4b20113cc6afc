#!/bin/sh
# vcguard-agent: after removal, let systemd forget the service; after a
# purge (deb) or an erase (rpm), delete the agent's state and configuration.
# An upgrade keeps everything. Shipped as the deb's postrm and the rpm's
# %postun; source: installer/linux/postremove.sh.
#   deb: postrm remove | purge | upgrade NEW-VERSION | disappear | abort-install ...
#   rpm: %postun 0 (erase) | 1 and more (upgrade)
# rpm has no purge: erasing it removes the state too, as purging does with
# dpkg. `dpkg --remove` keeps /etc/vcguard and /var/lib/vcguard, so a
# reinstall finds the device still enrolled.
set -e

case "$1" in
remove | purge | 0) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
	systemctl reset-failed vcguard-agent.service >/dev/null 2>&1 || true
fi
# A link left by `systemctl enable` run where systemd was not running
# (an image build) now points at nothing.
wants=/etc/systemd/system/multi-user.target.wants/vcguard-agent.service
if [ -L "$wants" ] && [ ! -e "$wants" ]; then
	rm -f "$wants"
fi

case "$1" in
purge | 0)
	# State (device key, certificate, outbox), configuration with what was
	# added beside it (enrollment secret, CA, policy drop-ins), logs, and
	# what a service run outside systemd left in /run.
	rm -rf /var/lib/vcguard /etc/vcguard /var/log/vcguard /run/vcguard
	;;
esac
exit 0
