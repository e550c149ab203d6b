#!/usr/bin/env python3
"""Writes a large generated inventory in YAML and INI: N hosts in G groups (nested under
region groups), a few vars per host and per group.

    gen_inventory.py OUT_DIR [HOSTS] [GROUPS]
"""
import os
import sys

out = sys.argv[1]
hosts = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
groups = int(sys.argv[3]) if len(sys.argv) > 3 else 500
regions = 10
os.makedirs(out, exist_ok=True)
per_group = hosts // groups

with open(os.path.join(out, "hosts.yml"), "w") as y, open(os.path.join(out, "hosts.ini"), "w") as ini:
    y.write("all:\n  vars:\n    ansible_user: deploy\n    ntp: pool.ntp.org\n  children:\n")
    for r in range(regions):
        y.write(f"    region{r}:\n      vars:\n        region: r{r}\n      children:\n")
        for g in range(r, groups, regions):
            y.write(f"        svc{g:03d}:\n          vars:\n            service: svc{g:03d}\n            port: {8000 + g}\n          hosts:\n")
            for h in range(per_group):
                n = g * per_group + h
                y.write(f"            node{n:05d}.example.com:\n              ansible_host: 10.{n // 65536}.{n // 256 % 256}.{n % 256}\n              rack: {n % 40}\n              weight: {n % 7}.5\n")
    for g in range(groups):
        ini.write(f"[svc{g:03d}]\n")
        for h in range(per_group):
            n = g * per_group + h
            ini.write(f"node{n:05d}.example.com ansible_host=10.{n // 65536}.{n // 256 % 256}.{n % 256} rack={n % 40} weight={n % 7}.5\n")
        ini.write(f"[svc{g:03d}:vars]\nservice=svc{g:03d}\nport={8000 + g}\n")
    for r in range(regions):
        ini.write(f"[region{r}:children]\n" + "".join(f"svc{g:03d}\n" for g in range(r, groups, regions)))
        ini.write(f"[region{r}:vars]\nregion=r{r}\n")
    ini.write("[all:vars]\nansible_user=deploy\nntp=pool.ntp.org\n")
print(f"wrote {hosts} hosts in {groups} groups to {out}/hosts.yml and {out}/hosts.ini")
