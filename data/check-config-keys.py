#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every configuration key a daemon reads is documented.

  check-config-keys.py SRC_DIR HEADER MAN_PAGE [SAMPLE]

The keys are those the code in SRC_DIR/*.c reads (the config_*/get_*
helpers and g_key_file_get_* calls with a literal key) and those HEADER
documents ("key=" lines of its comment). Each must appear in the man page
as "key=", and in the sample configuration, if any, as "key=" or "#key=".
"""
import glob
import os
import re
import sys

CALL = re.compile(r'\b(?:config_path|get_path|config_uint|get_uint|get_double|get_boolean|get_string|'
                  r'g_key_file_get_\w+|g_key_file_has_key)\s*\(([^;"]*"[a-z][a-z0-9-]*")')
HEADER_KEY = re.compile(r'^\s*\*\s+([a-z][a-z0-9-]*)=', re.M)


def code_keys(src_dir, header):
    keys = {}
    for path in sorted(glob.glob(os.path.join(src_dir, '*.c'))):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for call in CALL.finditer(text):
            key = re.search(r'"([a-z][a-z0-9-]*)"$', call.group(1)).group(1)
            keys.setdefault(key, os.path.basename(path))
    with open(header, encoding='utf-8') as f:
        for key in HEADER_KEY.findall(f.read()):
            keys.setdefault(key, os.path.basename(header))
    return keys


def main():
    if len(sys.argv) not in (4, 5):
        raise SystemExit(__doc__)
    src_dir, header, page = sys.argv[1:4]
    sample = sys.argv[4] if len(sys.argv) == 5 else None
    keys = code_keys(src_dir, header)
    sample_text = None
    if sample is not None:
        with open(sample, encoding='utf-8') as f:
            sample_text = f.read()
    with open(page, encoding='utf-8') as f:
        page_text = re.sub(r'\\f[BIRP]', '', f.read().replace('\\-', '-'))
    problems = []
    for key, where in sorted(keys.items()):
        if sample and not re.search(r'^#?' + re.escape(key) + '=', sample_text, re.M):
            problems.append('%s= (read in %s) is not in %s' % (key, where, sample))
        # ".BR key =\fIVALUE\fR" puts a space before the "=".
        if not re.search(r'(?<![a-z0-9-])' + re.escape(key) + ' ?=', page_text):
            problems.append('%s= (read in %s) is not in %s' % (key, where, page))
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print('%d keys, all documented' % len(keys))


if __name__ == '__main__':
    main()
