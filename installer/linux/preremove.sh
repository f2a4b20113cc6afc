#!/bin/sh
# vcguard-agent: before removal, stop and disable the service; before an
# upgrade, leave it running (the new package's postinstall restarts it).
# Shipped as the deb's prerm and the rpm's %preun; source:
# installer/linux/preremove.sh.
#   deb: prerm remove | upgrade NEW-VERSION | deconfigure ... | failed-upgrade ...
#   rpm: %preun 0 (erase) | 1 and more (upgrade)
# Where systemd does not run it does nothing.
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now vcguard-agent.service ||
		echo "vcguard-agent: could not stop and disable vcguard-agent.service" >&2
fi
# The browsers' managed policies the agent wrote go with it (only those:
# it keeps a record of what it wrote).
if [ -x /usr/bin/vcguard-agent ]; then
	/usr/bin/vcguard-agent remove-browser-policies ||
		echo "vcguard-agent: could not remove the browser policies it wrote" >&2
fi
exit 0
