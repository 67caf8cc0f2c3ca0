#!/bin/sh
# /usr/local/sbin/wbs — run a 'wbs' command on the production server.
#
#     install -m 0755 deploy/wbs.sh /usr/local/sbin/wbs
#     wbs check
#
# It runs the command as the user "wbs" (the server's own user, so every file
# it makes belongs to the server) with the configuration /etc/wbs/wbs.toml.
# Files you pass in (org.pub.json, a reply bundle) must be readable by that
# user, e.g. copied to /tmp first; folders it writes into (a backup) must be
# writable by it. Never run /opt/wbs/.venv/bin/wbs as root against the data
# folder: files it creates there would belong to root and stop the server.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "wbs: run this as root (sudo wbs ...); it switches to the user wbs itself" >&2
    exit 1
fi
# Whatever it writes (backups, exports) is for the wbs user only.
umask 077
exec runuser -u wbs -- env WBS_CONFIG=/etc/wbs/wbs.toml /opt/wbs/.venv/bin/wbs "$@"
