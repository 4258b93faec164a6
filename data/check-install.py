#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""meson install puts everything in its place.

  check-install.py MESON BUILD_DIR PATH...

Runs `meson install --destdir` into a temporary folder and checks that
each PATH (absolute, as installed without DESTDIR) is there and not empty.
"""
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    meson, build_dir, expected = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory() as destdir:
        run = subprocess.run([meson, 'install', '-C', build_dir, '--no-rebuild', '--quiet',
                              '--destdir', destdir], capture_output=True, text=True)
        if run.returncode != 0:
            print(run.stdout + run.stderr)
            raise SystemExit('meson install failed (%d)' % run.returncode)
        missing = []
        for path in expected:
            where = os.path.join(destdir, path.lstrip('/'))
            if not os.path.isfile(where) or os.path.getsize(where) == 0:
                missing.append(path)
            else:
                print('ok   ' + path)
        for path in missing:
            print('MISSING ' + path)
        if missing:
            sys.exit(1)


if __name__ == '__main__':
    main()
