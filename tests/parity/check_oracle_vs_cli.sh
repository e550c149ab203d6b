#!/usr/bin/env bash
# Cross-check the oracle's in-process pattern evaluation against the real
# `ansible -i ... PATTERN --list-hosts` CLI.
#
#   tests/parity/check_oracle_vs_cli.sh          # 10 patterns taken from PATTERNS
#   tests/parity/check_oracle_vs_cli.sh --all    # every line of PATTERNS (slow)
#
# Prints one "OK" or "MISMATCH" line per pattern and exits non-zero on any
# mismatch. Environment: ANSIBLE_VENV (default /tmp/av/venv) is the virtualenv
# holding ansible-core.
#
# Patterns listed by the oracle as order-unstable (see ansible_oracle.py) are
# compared as sets. Nothing is written into the repository: ANSIBLE_HOME,
# ANSIBLE_LOCAL_TEMP and ANSIBLE_CONFIG point into a temporary directory.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fixtures=$(cd "$here/../fixtures/inventory" && pwd)
venv=${ANSIBLE_VENV:-/tmp/av/venv}
py="$venv/bin/python"
[ -x "$py" ] || { echo "no python in $venv (set ANSIBLE_VENV)" >&2; exit 2; }

mode=${1:-sample}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/horde-check-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '[defaults]\n' > "$tmp/ansible.cfg"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_LOCALHOST_WARNING=False \
       ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_HOME="$tmp/home" \
       ANSIBLE_LOCAL_TEMP="$tmp/tmp" ANSIBLE_CONFIG="$tmp/ansible.cfg" \
       ANSIBLE_RETRY_FILES_ENABLED=False ANSIBLE_BIN_DIR="$venv/bin" PYTHONDONTWRITEBYTECODE=1

exec "$py" - "$here" "$fixtures" "$mode" <<'PY'
import os
import subprocess
import sys

here, fixtures, mode = sys.argv[1:4]
sys.path.insert(0, here)
import ansible_oracle as oracle  # noqa: E402

# The sample: 10 lines of PATTERNS covering group, union, intersection+exclusion,
# subscripts, regex, glob, implicit localhost, IPv6, spaces around commas and a
# host named like a group.
SAMPLE = [
    ("01-doc-basic-ini", "localhost"),
    ("01-doc-basic-ini", "dbservers , webservers"),
    ("04-doc-southeast-ini", "host[!3]"),
    ("15-multi-group-membership", "webservers:dbservers:&staging:!phoenix"),
    ("22-inventory-directory", "all"),
    ("33-ipv6-hosts", "2001:db8::*"),
    ("34-host-named-like-group", "db"),
    ("43-ini-deep-forward-refs", "infra"),
    ("44-realistic-datacenter", "~(web|db).*"),
    ("44-realistic-datacenter", "webservers[1:3]"),
]

entries = []
with open(os.path.join(fixtures, "PATTERNS"), encoding="utf-8") as fh:
    for line in fh:
        line = line.rstrip("\n")
        if not line:
            continue
        fx, pat = line.split("\t", 1)
        entries.append((fx, pat))

if mode == "--all":
    chosen = entries
else:
    missing = [e for e in SAMPLE if e not in entries]
    if missing:
        print(f"sample entries missing from PATTERNS: {missing}")
        sys.exit(2)
    chosen = SAMPLE


def cli_hosts(fixture_dir, sources, pattern):
    cmd = [os.path.join(os.environ["ANSIBLE_BIN_DIR"], "ansible")]
    for s in sources:
        cmd += ["-i", s]
    cmd += [pattern, "--list-hosts"]
    proc = subprocess.run(cmd, cwd=fixture_dir, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc={proc.returncode}"}
    lines = proc.stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("hosts ("))
    count = int(lines[start].strip()[len("hosts ("):].split(")")[0])
    hosts = [ln[4:] for ln in lines[start + 1:start + 1 + count]]
    return hosts


oracle.setup_env(os.environ["ANSIBLE_HOME"].rsplit("/", 1)[0], strict=False)
bad = 0
for fx, pat in chosen:
    fdir = os.path.join(fixtures, fx)
    sources = oracle.read_args(fdir)
    os.chdir(fdir)
    results, unstable = oracle.eval_patterns(sources, [pat])
    mine = results[pat]
    theirs = cli_hosts(fdir, sources, pat)
    if isinstance(mine, dict):
        # the ad-hoc CLI swallows pattern errors and lists 0 hosts
        ok = theirs == []
    elif unstable:
        ok = isinstance(theirs, list) and sorted(mine) == sorted(theirs)
    else:
        ok = mine == theirs
    tag = "OK" if ok else "MISMATCH"
    note = " (compared as sets: order unstable)" if unstable else ""
    print(f"{tag}\t{fx}\t{pat!r}\t{len(theirs) if isinstance(theirs, list) else theirs} host(s){note}")
    if not ok:
        print(f"    oracle: {mine}\n    cli:    {theirs}")
        bad += 1

print(f"{len(chosen) - bad} passed, {bad} failed")
sys.exit(1 if bad else 0)
PY
