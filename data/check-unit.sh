#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# custos-archiver.service is a valid unit, and its sandbox stays tight:
# systemd-analyze's exposure score (0 best, 10 worst) must stay at or
# below 2.0, which systemd calls "OK".
#
#   check-unit.sh UNIT ARCHIVER_BINARY
set -eu

unit=$1
archiver=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The unit names the installed binary; verify checks that it is executable,
# so point it at the one just built.
sed "s|^ExecStart=[^ ]*custos-archiver|ExecStart=$archiver|" "$unit" > "$tmp/custos-archiver.service"
cd "$tmp"
systemd-analyze verify --man=no ./custos-archiver.service
systemd-analyze security --offline=true --no-pager ./custos-archiver.service | tail -n 1
systemd-analyze security --offline=true --threshold=20 ./custos-archiver.service > /dev/null
