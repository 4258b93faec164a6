#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline checks of the Flatpak manifests (no runtime can be downloaded here).

  check-manifests.py FLATPAK_DIR SCHEMA_XML

- flatpak-builder --show-manifest parses each manifest without a warning
  (an unknown or misspelt key is only a warning there);
- the sandbox gets exactly the permissions flatpak/README.md lists;
- every download is https with a sha256, every local file exists;
- the Devel manifest is the stable one but for its id, profile and name;
- the GSettings override is valid against the viewer's schema.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

MANIFESTS = ('org.custos.Custos.yml', 'org.custos.Custos.Devel.yml')
FINISH_ARGS = {'--share=ipc', '--socket=wayland', '--socket=fallback-x11', '--device=dri',
               '--share=network', '--socket=pcsc'}
OVERRIDE = 'org.custos.Custos.flatpak.gschema.override'


def show(directory, name, problems):
    run = subprocess.run(['flatpak-builder', '--show-manifest', name], cwd=directory,
                         capture_output=True, text=True)
    if run.returncode != 0 or run.stderr.strip():
        problems.append('%s: flatpak-builder --show-manifest: %s' % (name, run.stderr.strip()))
        return None
    return json.loads(run.stdout)


def sources(manifest):
    for module in manifest.get('modules', []):
        for source in module.get('sources', []):
            yield module['name'], source


def check_one(directory, name, manifest, problems):
    args = set(manifest.get('finish-args', []))
    if args != FINISH_ARGS:
        problems.append('%s: finish-args %s, expected %s' %
                        (name, sorted(args), sorted(FINISH_ARGS)))
    for module, source in sources(manifest):
        if 'url' in source:
            if not source['url'].startswith('https://'):
                problems.append('%s: %s: not https: %s' % (name, module, source['url']))
            if not re.fullmatch(r'[0-9a-f]{64}', source.get('sha256', '')):
                problems.append('%s: %s: %s has no sha256' % (name, module, source['url']))
        elif 'path' in source and not os.path.exists(os.path.join(directory, source['path'])):
            problems.append('%s: %s: %s does not exist' % (name, module, source['path']))
    custos = [m for m in manifest['modules'] if m['name'] == 'custos']
    profile = 'development' if manifest['id'].endswith('.Devel') else 'default'
    if not custos or '-Dprofile=' + profile not in custos[0].get('config-opts', []):
        problems.append('%s: the custos module must build with -Dprofile=%s' % (name, profile))


def normalized(manifest):
    m = json.loads(json.dumps(manifest))
    m['id'] = 'ID'
    m.pop('desktop-file-name-suffix', None)
    m.pop('tags', None)
    for module in m['modules']:
        module['config-opts'] = [o for o in module.get('config-opts', [])
                                 if not o.startswith('-Dprofile=')]
    return m


def check_override(directory, schema, problems):
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(schema, tmp)
        shutil.copy(os.path.join(directory, OVERRIDE), tmp)
        run = subprocess.run(['glib-compile-schemas', '--strict', '--dry-run', tmp],
                             capture_output=True, text=True)
        if run.returncode != 0 or run.stderr.strip():
            problems.append('%s: %s' % (OVERRIDE, run.stderr.strip()))
    with open(os.path.join(directory, 'opensc.module'), encoding='utf-8') as f:
        module_path = re.search(r'^module:\s*(\S+)', f.read(), re.M).group(1)
    with open(os.path.join(directory, OVERRIDE), encoding='utf-8') as f:
        if module_path not in f.read():
            problems.append('%s does not load %s, the module opensc.module names' %
                            (OVERRIDE, module_path))


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    directory, schema = sys.argv[1], sys.argv[2]
    problems = []
    parsed = {}
    for name in MANIFESTS:
        manifest = show(directory, name, problems)
        if manifest is not None:
            parsed[name] = manifest
            check_one(directory, name, manifest, problems)
    if len(parsed) == 2 and normalized(parsed[MANIFESTS[0]]) != normalized(parsed[MANIFESTS[1]]):
        problems.append('%s and %s differ in more than id, profile and name' % MANIFESTS)
    check_override(directory, schema, problems)
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print('%d manifests ok' % len(parsed))


if __name__ == '__main__':
    main()
