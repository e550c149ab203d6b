#!/bin/sh
# Self-check of playbook_parity.py: stands in for the horde binary by running
# ansible-playbook, so `compare --horde tests/parity/ansible_as_horde.sh` compares Ansible
# with itself and must print `same` for every playbook (anything else is flakiness in a
# playbook or in the driver's normalisation). Drops `apply` and horde's host key flags.
# The venv: $HORDE_PARITY_VENV, else target/parity-venv of this repository.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${HORDE_PARITY_VENV:-$root/target/parity-venv}
[ -x "$venv/bin/ansible-playbook" ] || venv=$root/target-parity-venv
[ "${1:-}" = apply ] && shift
while [ $# -gt 0 ]; do
    case $1 in
        --known-hosts|--host-key-checking) shift 2 ;;
        *) break ;;
    esac
done
exec "$venv/bin/ansible-playbook" "$@"
