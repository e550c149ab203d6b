#!/usr/bin/env python3
"""A dynamic inventory script in Ansible's format, to copy and adapt: `--list` prints groups
and `_meta.hostvars`; `--host NAME` prints one host's variables. Try it:

    horde inventory -i examples/dynamic-inventory.py --graph
    horde hosts -i examples/dynamic-inventory.py 'workers:&zone_b'
"""
import json
import sys

WORKERS = {f"worker{n:02d}": {"ansible_host": f"127.0.1.{n}", "zone": "a" if n % 2 else "b"}
           for n in range(1, 9)}


def inventory():
    zones = {}
    for name, hv in WORKERS.items():
        zones.setdefault(f"zone_{hv['zone']}", []).append(name)
    groups = {"workers": {"hosts": sorted(WORKERS), "vars": {"ansible_user": "runner"}},
              "queue": {"hosts": ["broker"], "vars": {"port": 5672}}}
    groups.update({z: {"hosts": hs} for z, hs in sorted(zones.items())})
    groups["_meta"] = {"hostvars": dict(WORKERS, broker={"ansible_host": "127.0.1.100"})}
    return groups


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print(json.dumps(inventory()))
    elif len(sys.argv) == 3 and sys.argv[1] == "--host":
        print(json.dumps(inventory()["_meta"]["hostvars"].get(sys.argv[2], {})))
    else:
        sys.exit("usage: dynamic-inventory.py --list | --host NAME")
