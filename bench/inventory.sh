#!/usr/bin/env bash
# Benchmark: `horde inventory --list` against `ansible-inventory --list` on a generated
# 50,000-host inventory (YAML and INI, 500 groups). Prints wall times and ratios.
#
#   bench/inventory.sh [HOSTS] [GROUPS]
#
# Needs the release build (made here) and ansible-core (scripts/setup-test-env makes the
# venv this uses). Not a test: it prints figures for a person to read.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-50000}
groups=${2:-500}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/setup-test-env
cargo build --release --quiet
python3 bench/gen_inventory.py "$work" "$hosts" "$groups"
export ANSIBLE_HOME="$work/ansible-home" ANSIBLE_LOCAL_TEMP="$work/ansible-tmp"
python3 - "$work" <<'PY'
import os, statistics, subprocess, sys, time
work = sys.argv[1]
horde = os.path.abspath("target/release/horde")
ansible = os.path.abspath("target/parity-venv/bin/ansible-inventory")

def timed(cmd, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)

print(f"{'inventory':<12} {'horde (s)':>10} {'ansible-inventory (s)':>22} {'ratio':>8}")
for name in ("hosts.yml", "hosts.ini"):
    h = timed([horde, "inventory", "-i", name, "--list"], 5)
    a = timed([ansible, "-i", name, "--list"], 1)
    print(f"{name:<12} {h:>10.3f} {a:>22.2f} {a / h:>7.0f}x")
print("horde: median of 5 runs; ansible-inventory: one run. Rerun: bench/inventory.sh")
PY
