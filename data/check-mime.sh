#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The shared-mime-info entry works the way a file manager uses it: with the
# package installed in a private XDG data dir, GIO types a real fusion file
# as application/x-custos-fusion by its name and, without the .fusion
# extension, by its magic; other files are not; and the desktop file
# claims the type.
#
#   check-mime.sh MIME_XML DESKTOP_FILE FUSION_FILE
set -eu

mime_xml=$1
desktop=$2
fusion=$3
type=application/x-custos-fusion

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/data/mime/packages" "$tmp/home" "$tmp/files"
export XDG_DATA_HOME="$tmp/home"
export XDG_DATA_DIRS="$tmp/data:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}"
xmllint --noout "$mime_xml"
cp "$mime_xml" "$tmp/data/mime/packages/"
update-mime-database "$tmp/data/mime"

content_type() {
  gio info -a standard::content-type "$1" | sed -n 's/^ *standard::content-type: //p'
}

fail=0
expect() { # FILE TYPE|not:TYPE
  got=$(content_type "$1")
  case $2 in
    not:*) [ "$got" != "${2#not:}" ] || { echo "FAIL: $(basename "$1") is $got"; fail=1; } ;;
    *) [ "$got" = "$2" ] || { echo "FAIL: $(basename "$1") is '$got', not $2"; fail=1; } ;;
  esac
  echo "$(basename "$1"): $got"
}

cp "$fusion" "$tmp/files/clip.fusion"
cp "$fusion" "$tmp/files/clip-without-extension"
# The magic at the wrong place, and the right sync bytes with another magic.
printf 'CUSTOSFS not a fusion stream\n' > "$tmp/files/text-without-extension"
printf '\317\001\000\000\000\064NOTCUSTxxxxxxxx' > "$tmp/files/other-without-extension"

expect "$tmp/files/clip.fusion" "$type"
expect "$tmp/files/clip-without-extension" "$type"
expect "$tmp/files/text-without-extension" "not:$type"
expect "$tmp/files/other-without-extension" "not:$type"

if ! grep -q "^MimeType=.*$type;" "$desktop"; then
  echo "FAIL: $desktop does not list $type in MimeType="
  fail=1
fi
exit $fail
