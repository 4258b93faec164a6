#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every file with translatable strings is in po/POTFILES.in.

  check-potfiles.py SOURCE_ROOT

Translatable: C sources (src/**/*.c, *.h) calling _(), N_(), C_() or
NC_() outside comments; GtkBuilder files (ui/**/*.ui) with
translatable="yes"; and the data files whose fields are translatable
(data/*.desktop.in, *.metainfo.xml.in, *.gschema.xml with a <summary> or
<description>, *.mime.xml.in). Lists the files missing from POTFILES.in,
and the files it lists that do not exist (xgettext would fail on them).
"""
import glob
import os
import re
import sys

C_CALL = re.compile(r'(?<![A-Za-z0-9_])(?:_|N_|C_|NC_)\s*\(')
# Comments and the contents of string and character literals, so that a
# comment saying "wrap it in _()" or a string holding "_(" does not count.
C_NOISE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def c_is_translatable(text):
    def blank(m):
        token = m.group(0)
        return '""' if token.startswith('"') else ("''" if token.startswith("'") else ' ')
    return C_CALL.search(C_NOISE.sub(blank, text)) is not None


def translatable_files(root):
    found = []
    for pattern in ('src/**/*.c', 'src/**/*.h'):
        for path in glob.glob(os.path.join(root, pattern), recursive=True):
            with open(path, encoding='utf-8', errors='replace') as f:
                if c_is_translatable(f.read()):
                    found.append(path)
    for path in glob.glob(os.path.join(root, 'ui/**/*.ui'), recursive=True):
        with open(path, encoding='utf-8', errors='replace') as f:
            if 'translatable="yes"' in f.read():
                found.append(path)
    for pattern in ('data/*.desktop.in', 'data/*.metainfo.xml.in', 'data/*.mime.xml.in'):
        found += glob.glob(os.path.join(root, pattern))
    for path in glob.glob(os.path.join(root, 'data/*.gschema.xml')):
        with open(path, encoding='utf-8') as f:
            if re.search(r'<(summary|description)>', f.read()):
                found.append(path)
    return sorted(os.path.relpath(p, root) for p in found)


def listed_files(root):
    with open(os.path.join(root, 'po', 'POTFILES.in'), encoding='utf-8') as f:
        lines = [line.strip() for line in f]
    return [line for line in lines if line and not line.startswith('#')]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    root = sys.argv[1]
    listed = listed_files(root)
    missing = [p for p in translatable_files(root) if p not in listed]
    gone = [p for p in listed if not os.path.isfile(os.path.join(root, p))]
    for path in missing:
        print('not in po/POTFILES.in: ' + path)
    for path in gone:
        print('in po/POTFILES.in but does not exist: ' + path)
    if missing or gone:
        sys.exit(1)
    print('po/POTFILES.in lists all %d files with translatable strings' % len(listed))


if __name__ == '__main__':
    main()
