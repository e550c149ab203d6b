#!/usr/bin/env bash
# Benchmark: `horde apply` against ansible-playbook (pipelining) and pyinfra on the same
# fleet of real sshd hosts, in one run: a 10-task playbook (and its idempotent second run),
# and one task looped 50 times per host. See bench/apply_bench.py --help.
#   bench/apply.sh [HOSTS=100] [RUNS=3] [--quick] [--ansible-loop-hosts N] [...]
# HORDE=/path/to/horde skips the build and measures that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
ANSIBLE_CORE_VERSION=2.19.14   # the pin of scripts/setup-test-env and bench/run.sh
PYINFRA_VERSION=3.10.0
PSSH_VERSION=2.16.0.post1
scripts/setup-test-env
if [ -z "${HORDE:-}" ]; then
  cargo build --release --quiet
  export HORDE="$PWD/target/release/horde"
fi
venv=target/bench-venv
if ! "$venv/bin/python" -c "
import sys, ansible, pssh, pyinfra.version as v
sys.exit(ansible.__version__ != '$ANSIBLE_CORE_VERSION' or v.__version__ != '$PYINFRA_VERSION')" 2>/dev/null; then
  [ -x "$venv/bin/pip" ] || { rm -rf "$venv"; python3 -m venv "$venv"; }
  echo "apply.sh: installing ansible-core $ANSIBLE_CORE_VERSION, pyinfra $PYINFRA_VERSION, parallel-ssh $PSSH_VERSION into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "ansible-core==$ANSIBLE_CORE_VERSION" "pyinfra==$PYINFRA_VERSION" "parallel-ssh==$PSSH_VERSION"
fi
exec python3 bench/apply_bench.py "$@"
