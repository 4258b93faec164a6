#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every language in po/LINGUAS is complete for the current sources.

  check-translations.py SOURCE_ROOT

Makes a fresh template from the files po/POTFILES.in lists, with the
xgettext arguments of meson's i18n preset 'glib' (what `custos-pot`
runs), merges each po/LANG.po onto it with msgmerge (as `custos-update-po`
would), and fails if a merged file has an untranslated or fuzzy message,
or if msgfmt --check finds a broken one (a format directive that differs
from the msgid, a wrong plural header, a lost or doubled mnemonic "_").
So a string added or changed in the sources without its translations
fails here, not in a user's hands.

Also checks that po/LINGUAS and the po/*.po files agree. Nothing in the
source tree is written: the template and merged files go to a temporary
folder.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Meson's i18n.gettext(preset: 'glib') (mesonbuild/modules/i18n.py).
GLIB_PRESET = [
    '--from-code=UTF-8', '--add-comments',
    '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
    '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3', '--keyword=g_dpgettext2:2c,3',
    '--flag=N_:1:pass-c-format', '--flag=C_:2:pass-c-format', '--flag=NC_:2:pass-c-format',
    '--flag=g_dngettext:2:pass-c-format', '--flag=g_strdup_printf:1:c-format',
    '--flag=g_string_printf:2:c-format', '--flag=g_string_append_printf:2:c-format',
    '--flag=g_error_new:3:c-format', '--flag=g_set_error:4:c-format',
    '--flag=g_markup_printf_escaped:1:c-format', '--flag=g_log:3:c-format',
    '--flag=g_print:1:c-format', '--flag=g_printerr:1:c-format', '--flag=g_printf:1:c-format',
    '--flag=g_fprintf:2:c-format', '--flag=g_sprintf:2:c-format', '--flag=g_snprintf:3:c-format',
]
STATS = re.compile(r'(\d+) (translated messages?|fuzzy translations?|untranslated messages?)')
# How many problem messages to show per language.
SHOW = 25


def listed_files(root):
    files = []
    with open(os.path.join(root, 'po', 'POTFILES.in'), encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#') and line not in files:
                files.append(line)
    # A listed file that does not exist is the potfiles test's failure.
    return [p for p in files if os.path.isfile(os.path.join(root, p))]


def linguas(root):
    with open(os.path.join(root, 'po', 'LINGUAS'), encoding='utf-8') as f:
        return [w for line in f for w in line.split('#', 1)[0].split()]


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def make_template(root, tmp):
    files = os.path.join(tmp, 'POTFILES')
    with open(files, 'w', encoding='utf-8') as f:
        f.write('\n'.join(listed_files(root)) + '\n')
    pot = os.path.join(tmp, 'custos.pot')
    r = run(['xgettext', '--package-name=custos', '-D', root, '-k_', '-o', pot,
             '--files-from=' + files] + GLIB_PRESET)
    if r.returncode != 0:
        sys.exit('xgettext failed:\n' + r.stderr)
    return pot


def messages(path, *select):
    """The msgids msgattrib selects (e.g. --untranslated), one line each."""
    r = run(['msgattrib', '--no-wrap', '--no-location', '--no-obsolete'] + list(select) + [path])
    ids = re.findall(r'^msgid ((?:".*"\n)+)', r.stdout, re.M)
    ids = [''.join(re.findall(r'"(.*)"', m)) for m in ids]
    return [m for m in ids if m]


def check_language(lang, root, pot, tmp):
    po = os.path.join(root, 'po', lang + '.po')
    if not os.path.isfile(po):
        return ['po/LINGUAS lists %s but po/%s.po does not exist' % (lang, lang)]
    problems = []
    r = run(['msgfmt', '--check', '-o', os.devnull, po])
    if r.returncode != 0:
        problems.append('po/%s.po does not pass msgfmt --check:\n%s' % (lang, r.stderr.strip()))
    merged = os.path.join(tmp, lang + '.po')
    r = run(['msgmerge', '--quiet', '--previous', '-o', merged, po, pot])
    if r.returncode != 0:
        return problems + ['msgmerge po/%s.po failed:\n%s' % (lang, r.stderr.strip())]
    r = run(['msgfmt', '--check', '--check-accelerators=_', '--statistics', '-o', os.devnull,
             merged])
    counts = {kind.split()[0]: int(n) for n, kind in STATS.findall(r.stderr)}
    if r.returncode != 0:
        problems.append('po/%s.po merged with the sources does not pass msgfmt --check:\n%s'
                        % (lang, r.stderr.strip()))
    for kind, select in (('untranslated', '--untranslated'), ('fuzzy', '--only-fuzzy')):
        n = counts.get(kind, 0)
        if n == 0:
            continue
        ids = messages(merged, select)
        shown = '\n'.join('    ' + m for m in ids[:SHOW])
        more = '\n    … and %d more' % (len(ids) - SHOW) if len(ids) > SHOW else ''
        problems.append('po/%s.po: %d %s message%s for the current sources:\n%s%s'
                        % (lang, n, kind, '' if n == 1 else 's', shown, more))
    print('%s: %d translated, %d fuzzy, %d untranslated'
          % (lang, counts.get('translated', 0), counts.get('fuzzy', 0),
             counts.get('untranslated', 0)))
    return problems


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    root = os.path.abspath(sys.argv[1])
    for tool in ('xgettext', 'msgmerge', 'msgfmt', 'msgattrib'):
        if shutil.which(tool) is None:
            print('%s is not installed (gettext): skipped' % tool)
            sys.exit(77)
    langs = linguas(root)
    problems = []
    if not langs:
        problems.append('po/LINGUAS lists no language')
    for po in sorted(glob.glob(os.path.join(root, 'po', '*.po'))):
        lang = os.path.basename(po)[:-3]
        if lang not in langs:
            problems.append('po/%s.po exists but po/LINGUAS does not list %s' % (lang, lang))
    with tempfile.TemporaryDirectory(prefix='custos-po-') as tmp:
        pot = make_template(root, tmp)
        for lang in langs:
            problems += check_language(lang, root, pot, tmp)
    for p in problems:
        print(p)
    if problems:
        print('Fix: meson compile -C BUILDDIR custos-update-po, then translate the messages above.')
        sys.exit(1)


if __name__ == '__main__':
    main()
