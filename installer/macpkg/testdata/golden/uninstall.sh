#!/bin/sh
# Remove vcguard-agent from this Mac. Run as root:
#
#   sudo "/Library/Application Support/vcguard/uninstall.sh"          # keep state
#   sudo "/Library/Application Support/vcguard/uninstall.sh" --purge  # remove state too
#
# Without --purge the agent's state (agent.yaml, enrollment certificate,
# policy.d, outbox) stays in /Library/Application Support/vcguard so a
# reinstall keeps its enrollment; --purge deletes that directory and the
# logs. Managed preferences installed by a profile are removed by removing
# the profile in the MDM, not here.
set -u

DAEMON=eu.vcguard.agent
AGENT=eu.vcguard.notifier
DIR="/Library/Application Support/vcguard"

purge=0
for arg in "$@"; do
	case "$arg" in
	--purge) purge=1 ;;
	-h | --help)
		echo "usage: $0 [--purge]"
		exit 0
		;;
	*)
		echo "$0: unknown argument $arg (want --purge or nothing)" >&2
		exit 2
		;;
	esac
done

if [ "$(/usr/bin/id -u)" != 0 ]; then
	echo "$0: run as root (sudo)" >&2
	exit 1
fi

for uid in $(/bin/ps -axo uid=,comm= | /usr/bin/awk '$2 ~ /loginwindow$/ { print $1 }' | /usr/bin/sort -u); do
	/bin/launchctl bootout "gui/$uid/$AGENT" 2>/dev/null || true
done
/bin/launchctl bootout "system/$DAEMON" 2>/dev/null || true

/bin/rm -f "/Library/LaunchDaemons/$DAEMON.plist" "/Library/LaunchAgents/$AGENT.plist"
/bin/rm -f "$DIR/vcguard-agent"
if [ "$purge" = 1 ]; then
	/bin/rm -rf "$DIR" /Library/Logs/vcguard
else
	/bin/rm -f "$DIR/uninstall.sh"
fi
/usr/sbin/pkgutil --forget "$DAEMON" >/dev/null 2>&1 || true
echo "vcguard-agent removed$([ "$purge" = 1 ] && echo ', state deleted' || echo "; state kept in $DIR (run with --purge to delete it)")"
exit 0
