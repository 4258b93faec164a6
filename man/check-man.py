#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks a hand-written man page.

  check-man.py lint PAGE
      groff -man -ww and man --warnings report nothing, at 80 columns and at
      a narrow 60 (where long lines would not break).
  check-man.py options PAGE PROGRAM
      every long option PROGRAM --help shows is on the page; when --help
      lists commands (custos-cli), every command is a .SS section and each
      command's options are on the page.
"""
import os
import re
import subprocess
import sys

HELP_OPTIONS = {'help', 'help-all', 'help-gst'}


def lint(page):
    problems = []
    run = subprocess.run(['groff', '-man', '-ww', '-z', '-Tutf8', page],
                         capture_output=True, text=True)
    if run.returncode != 0 or run.stderr.strip():
        problems.append('groff -man -ww: ' + run.stderr.strip())
    for width in ('80', '60'):
        env = dict(os.environ, MANWIDTH=width, MAN_KEEP_FORMATTING='0')
        try:
            run = subprocess.run(['man', '--warnings', '-l', page], capture_output=True,
                                 text=True, env=env)
        except FileNotFoundError:
            break
        if run.returncode != 0 or run.stderr.strip():
            problems.append('man --warnings at %s columns: %s' % (width, run.stderr.strip()))
    return problems


def page_text(page):
    """The page's source with the escapes that hide option names removed."""
    with open(page, encoding='utf-8') as f:
        text = f.read()
    text = text.replace('\\-', '-').replace('\\&', '')
    return re.sub(r'\\f[BIRP]', '', text)


def help_of(program, *args):
    run = subprocess.run([program, *args, '--help'], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit('%s %s --help failed (%d): %s' %
                         (program, ' '.join(args), run.returncode, run.stderr))
    return run.stdout


def long_options(help_text):
    found = []
    for line in help_text.splitlines():
        m = re.match(r'\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)', line)
        if m and m.group(1) not in HELP_OPTIONS:
            found.append(m.group(1))
    return found


def commands(help_text):
    """The names under "Commands:" in a top-level --help, if any."""
    names = []
    in_commands = False
    for line in help_text.splitlines():
        if line.strip() == 'Commands:':
            in_commands = True
            continue
        if in_commands:
            m = re.match(r'\s+([a-z][a-z0-9-]*)\s', line)
            if not m:
                break
            names.append(m.group(1))
    return names


def has_option(text, option):
    return re.search(r'--' + re.escape(option) + r'(?![a-z0-9-])', text) is not None


def options(page, program):
    text = page_text(page)
    problems = []
    top = help_of(program)
    names = commands(top)
    for option in long_options(top):
        if not has_option(text, option):
            problems.append('--%s (%s --help) is not on the page' % (option, program))
    for name in names:
        if not re.search(r'^\.SS ' + re.escape(name) + r'\s*$', text, re.M):
            problems.append('command %s has no ".SS %s" section' % (name, name))
        for option in long_options(help_of(program, name)):
            if not has_option(text, option):
                problems.append('--%s (%s %s --help) is not on the page' %
                                (option, os.path.basename(program), name))
    return problems


def main():
    if len(sys.argv) == 3 and sys.argv[1] == 'lint':
        problems = lint(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == 'options':
        problems = options(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
    for problem in problems:
        print('%s: %s' % (sys.argv[2], problem))
    if problems:
        sys.exit(1)
    print('%s: ok' % sys.argv[2])


if __name__ == '__main__':
    main()
