#!/usr/bin/env bash
# Benchmark: `horde run all -a true` against Ansible (pipelining) and parallel-ssh on the
# same fleet of real sshd hosts, in one run; then 1,000 lab hosts for peak memory.
#   bench/run.sh [HOSTS=100] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-env
cargo build --release --quiet
if [ ! -x target/bench-venv/bin/python ] || ! target/bench-venv/bin/python -c "import pssh, ansible" 2>/dev/null; then
  rm -rf target/bench-venv
  python3 -m venv target/bench-venv
  target/bench-venv/bin/pip install --quiet --disable-pip-version-check "parallel-ssh==2.16.0.post1" "ansible-core==2.19.14"
fi
exec python3 bench/run_bench.py "$@"
