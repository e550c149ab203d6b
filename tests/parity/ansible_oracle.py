#!/usr/bin/env python3
"""Ansible "oracle" for the horde inventory parity suite.

Run it with the Python of a virtualenv that has ansible-core installed
(for example /tmp/av/venv/bin/python):

    ansible_oracle.py [--strict] FIXTURE_DIR [PATTERN ...]

It changes into FIXTURE_DIR, reads the ARGS file there (one line; every
whitespace-separated word is one ``-i`` source, in order) and prints ONE JSON
object on stdout:

    {
      "fixture": "<basename of FIXTURE_DIR>",
      "sources": ["hosts.ini", ...],              # the -i arguments, from ARGS
      "list":   <object printed by `ansible-inventory -i ... --list`>,
      "list_export": <object printed by `ansible-inventory -i ... --list --export`>,
      "list_yaml": <the YAML printed by `ansible-inventory -i ... --list --yaml`, loaded>,
      "graph":  "<text printed by `ansible-inventory -i ... --graph`>",
      "host":   {"<host>": <object printed by `ansible-inventory -i ... --host <host>`>, ...},
      "patterns": {"<pattern>": ["host", ...] | {"error": "<message>"}, ...},
      "patterns_order_unstable": ["<pattern>", ...],
      "warnings": ["[WARNING]: ...", ...]           # header lines from stderr of the --list run
    }

"host" holds the first 3 hosts of the inventory in definition order (the order
in which Ansible first saw them), plus any host named in an optional HOSTS file
in the fixture dir (one name a line).

"list", "graph", "host" and "list_export" come from running the real CLI as a
subprocess. "graph" is the exact stdout text (it ends with a newline). If a CLI
run exits non-zero, its value is {"error": "<last stderr line>", "rc": N}.

"patterns" are evaluated in-process with Ansible's own InventoryManager, the way
`ansible PATTERN --list-hosts` does (InventoryManager.list_hosts, which also
returns the implicit localhost for 'localhost'/'127.0.0.1'/'::1'), with a fresh
InventoryManager per pattern because the manager keeps per-instance state (the
implicit localhost object, pattern caches). An AnsibleError becomes
{"error": "<message>"}. NOTE: the ad-hoc `ansible` CLI itself swallows such
errors and prints "hosts (0)"; the oracle keeps them visible on purpose.

"patterns_order_unstable" lists patterns whose host ORDER is not deterministic
in Ansible: Group.get_hosts() walks grand-children breadth-first over a Python
set of Group objects hashed by id(), so when two groups in the same BFS level
both have children, the relative order of their hosts changes from run to run.
The oracle detects this by re-evaluating the pattern with the BFS frontier
iterated in name order and in reverse name order; if the three orders differ
the pattern is listed there and a parity test should compare that pattern's
result as a set (membership is still deterministic unless a subscript is used).

--strict sets ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=True so that inventories
Ansible cannot parse make the CLI fail (useful with tests/fixtures/inventory-bad).

Nothing is written into the repository: ANSIBLE_HOME, ANSIBLE_LOCAL_TEMP and
ANSIBLE_CONFIG point into a temporary directory that is removed at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HOST_SAMPLE = 3


def usage() -> None:
    sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
    sys.exit(2)


def read_args(fixture_dir: str) -> list[str]:
    with open(os.path.join(fixture_dir, 'ARGS'), encoding='utf-8') as fh:
        line = fh.readline()
    sources = line.split()
    if not sources:
        raise SystemExit(f'{fixture_dir}/ARGS is empty')
    return sources


def setup_env(tmp: str, strict: bool) -> dict[str, str]:
    """Environment for both the subprocesses and the in-process API."""
    cfg = os.path.join(tmp, 'ansible.cfg')
    with open(cfg, 'w', encoding='utf-8') as fh:
        fh.write('[defaults]\n')
    env = {
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
        'ANSIBLE_HOME': os.path.join(tmp, 'home'),
        'ANSIBLE_LOCAL_TEMP': os.path.join(tmp, 'tmp'),
        'ANSIBLE_CONFIG': cfg,
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
    }
    if strict:
        env['ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED'] = 'True'
    os.environ.update(env)
    full = dict(os.environ)
    # never let a developer's own config leak in
    for k in list(full):
        if k.startswith('ANSIBLE_') and k not in env and k not in ('ANSIBLE_BIN_DIR',):
            del full[k]
            os.environ.pop(k, None)
    return full


def ansible_bin(name: str) -> str:
    bindir = os.environ.get('ANSIBLE_BIN_DIR') or os.path.dirname(sys.executable)
    path = os.path.join(bindir, name)
    if not os.path.exists(path):
        found = shutil.which(name)
        if not found:
            raise SystemExit(f'cannot find {name} (looked in {bindir} and PATH)')
        path = found
    return path


def inv_cmd(sources: list[str], *extra: str) -> list[str]:
    cmd = [ansible_bin('ansible-inventory')]
    for s in sources:
        cmd += ['-i', s]
    cmd += list(extra)
    return cmd


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            stdin=subprocess.DEVNULL)


def finish(proc: subprocess.Popen, as_json: bool):
    out, err = proc.communicate()
    out_t = out.decode('utf-8', errors='surrogateescape')
    err_t = err.decode('utf-8', errors='replace')
    if proc.returncode != 0:
        lines = [ln for ln in err_t.strip().splitlines() if ln.strip()]
        msg = next((ln for ln in lines if ln.startswith('[ERROR]')), lines[-1] if lines else '')
        return {'error': msg, 'rc': proc.returncode}, err_t
    if as_json:
        return json.loads(out_t), err_t
    return out_t, err_t


def warning_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines()
            if re.match(r'^\[(WARNING|DEPRECATION WARNING|ERROR)\]', ln)]


# ---------------------------------------------------------------- in-process

def load_inventory(sources: list[str]):
    from ansible.parsing.dataloader import DataLoader
    from ansible.inventory.manager import InventoryManager
    return InventoryManager(loader=DataLoader(), sources=list(sources))


def host_names(hosts) -> list[str]:
    return [h.name if hasattr(h, 'name') else str(h) for h in hosts]


def eval_pattern(sources: list[str], pattern: str):
    from ansible.errors import AnsibleError
    try:
        inv = load_inventory(sources)
        # this is what `ansible PATTERN --list-hosts` does (CLI.get_host_list without a --limit)
        return host_names(inv.list_hosts(pattern))
    except AnsibleError as ex:
        return {'error': getattr(ex, 'message', None) or str(ex)}


def _ordered_walk(reverse: bool):
    """Replacement for Group._walk_relationship that iterates the BFS frontier in name order."""
    from itertools import chain

    def _walk_relationship(self, rel, include_self=False, preserve_ordering=False):
        seen = set([])
        unprocessed = set(getattr(self, rel))
        if include_self:
            unprocessed.add(self)
        if preserve_ordering:
            ordered = [self] if include_self else []
            ordered.extend(getattr(self, rel))
        while unprocessed:
            seen.update(unprocessed)
            new_unprocessed = set([])
            frontier = sorted(unprocessed, key=lambda g: g.name, reverse=reverse)
            for new_item in chain.from_iterable(getattr(g, rel) for g in frontier):
                new_unprocessed.add(new_item)
                if preserve_ordering:
                    if new_item not in seen:
                        ordered.append(new_item)
            new_unprocessed.difference_update(seen)
            unprocessed = new_unprocessed
        if preserve_ordering:
            return ordered
        return seen

    return _walk_relationship


def eval_patterns(sources: list[str], patterns: list[str]):
    from ansible.inventory.group import Group

    results = {}
    for p in patterns:
        results[p] = eval_pattern(sources, p)

    unstable = []
    original = Group._walk_relationship
    variants = []
    try:
        for rev in (False, True):
            Group._walk_relationship = _ordered_walk(rev)
            variants.append({p: eval_pattern(sources, p) for p in patterns})
    finally:
        Group._walk_relationship = original
    for p in patterns:
        if any(v[p] != results[p] for v in variants):
            unstable.append(p)
    return results, unstable


def sample_hosts(sources: list[str], fixture_dir: str) -> list[str]:
    inv = load_inventory(sources)
    names = list(inv._inventory.hosts)[:HOST_SAMPLE]
    extra = os.path.join(fixture_dir, 'HOSTS')
    if os.path.exists(extra):
        with open(extra, encoding='utf-8') as fh:
            for ln in fh:
                ln = ln.strip()
                if ln and ln not in names:
                    names.append(ln)
    return names


def main(argv: list[str]) -> int:
    strict = False
    if argv and argv[0] == '--strict':
        strict = True
        argv = argv[1:]
    if not argv or argv[0] in ('-h', '--help'):
        usage()
    fixture_dir = os.path.abspath(argv[0])
    patterns = argv[1:]
    sources = read_args(fixture_dir)

    tmp = tempfile.mkdtemp(prefix='horde-oracle-')
    try:
        env = setup_env(tmp, strict)
        os.chdir(fixture_dir)

        procs = {
            'list': start(inv_cmd(sources, '--list'), env),
            'graph': start(inv_cmd(sources, '--graph'), env),
            'list_export': start(inv_cmd(sources, '--list', '--export'), env),
            'list_yaml': start(inv_cmd(sources, '--list', '--yaml'), env),
        }

        # in-process work overlaps with the subprocesses
        try:
            hosts = sample_hosts(sources, fixture_dir)
        except Exception:  # e.g. --strict on a broken inventory
            hosts = []
        host_procs = {h: start(inv_cmd(sources, '--host', h), env) for h in hosts}
        if patterns:
            pat_results, unstable = eval_patterns(sources, patterns)
        else:
            pat_results, unstable = {}, []

        result = {'fixture': os.path.basename(fixture_dir), 'sources': sources}
        list_stderr = ''
        for key in ('list', 'list_export', 'graph'):
            value, err = finish(procs[key], as_json=(key != 'graph'))
            result[key] = value
            if key == 'list':
                list_stderr = err
        yaml_text, _ = finish(procs['list_yaml'], as_json=False)
        if isinstance(yaml_text, str):
            import yaml
            yaml_text = yaml.safe_load(yaml_text)
        result['list_yaml'] = yaml_text
        result['host'] = {h: finish(p, as_json=True)[0] for h, p in host_procs.items()}
        result['patterns'] = pat_results
        result['patterns_order_unstable'] = unstable
        result['warnings'] = warning_lines(list_stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # YAML output loads dates back as date objects; show them as Ansible's JSON does.
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False,
                                default=lambda o: o.isoformat()) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
