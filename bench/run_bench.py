#!/usr/bin/env python3
"""Benchmark of ad-hoc runs on a fleet of real sshd hosts: horde, Ansible and parallel-ssh
side by side in one run, plus horde on the embedded lab. Prints wall times, CPU and ratios.

    bench/run.sh [HOSTS] [RUNS]      (the wrapper builds horde and the peers' venv)

Figures per tool: wall seconds (median of RUNS rounds, each running every tool once, after a
warm-up round), the tool's own CPU seconds, and the CPU
the whole machine spent meanwhile minus the tool's (the sshd side, on this one machine).
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HORDE = os.path.join(ROOT, "target/release/horde")
VENV = os.path.join(ROOT, "target/bench-venv/bin")
FLEET = os.path.join(ROOT, "tests/fleet/fleet.py")
HOSTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
HZ = os.sysconf("SC_CLK_TCK")


def machine_busy():
    """Busy CPU seconds of the whole machine so far (all cores)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / HZ


def timed(cmd, env=None):
    """Runs cmd; returns (wall, own cpu, machine cpu, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, t0 = machine_busy(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    busy = machine_busy() - busy0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.stderr.write(f"{cmd[0]} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}\n")
    return wall, own, busy, proc.returncode


def medians(cmds):
    """Runs every tool once per round, RUNS rounds after one warm-up round (not counted),
    so that a drift of the machine falls on all tools alike. The median run of each tool,
    every round's walls (for ratios within a round) and the warm-up round's."""
    runs = {name: [] for name in cmds}
    first = {}
    for round in range(RUNS + 1):
        for name, (cmd, env) in cmds.items():
            r = timed(cmd, env)
            if round > 0:
                runs[name].append(r)
            else:
                first[name] = r
    out = {}
    for name, rs in runs.items():
        out[name] = sorted(rs, key=lambda r: r[0])[len(rs) // 2]
    return out, runs, first


PSSH_SCRIPT = """
import json, sys
from pssh.clients import ParallelSSHClient
hosts = json.load(open(sys.argv[1]))
client = ParallelSSHClient([h["address"] for h in hosts], port=hosts[0]["port"], user=sys.argv[2],
                           pkey=sys.argv[3], pool_size=len(hosts), num_retries=1, timeout=30)
out = client.run_command("true")
client.join(out)
bad = [o.host for o in out if o.exit_code != 0]
sys.exit(1 if bad else 0)
"""


def main():
    work = tempfile.mkdtemp(prefix="horde-bench-")
    os.chmod(work, 0o755)  # sshd runs as the fleet user and must reach authorized_keys
    fleet = os.path.join(work, "fleet")
    subprocess.run([sys.executable, FLEET, "start", fleet, str(HOSTS), "--first-address", "127.0.60.1",
                    "--port", "2222"], check=True, stdout=subprocess.DEVNULL)
    try:
        user = "hordetest"
        inv = os.path.join(fleet, "inventory.ini")
        key = os.path.join(fleet, "id_ed25519")
        known = os.path.join(fleet, "known_hosts")
        hosts_json = os.path.join(fleet, "hosts.json")
        pssh_script = os.path.join(work, "pssh_run.py")
        with open(pssh_script, "w") as f:
            f.write(PSSH_SCRIPT)
        ansible_env = dict(os.environ, ANSIBLE_HOME=os.path.join(work, "ansible"),
                           ANSIBLE_PIPELINING="True", ANSIBLE_HOST_KEY_CHECKING="True",
                           ANSIBLE_SSH_ARGS=f"-o UserKnownHostsFile={known} -o ControlMaster=auto -o ControlPersist=60s",
                           ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3")
        # The command as Ansible runs it out of the box: its own ssh arguments (with
        # ControlPersist=60s, so rounds after the first reuse connections), no pipelining,
        # interpreter discovery; only where known_hosts is comes from us.
        ansible_default_env = dict(os.environ, ANSIBLE_HOME=os.path.join(work, "ansible-defaults"),
                                   ANSIBLE_HOST_KEY_CHECKING="True",
                                   ANSIBLE_SSH_ARGS=f"-C -o ControlMaster=auto -o ControlPersist=60s "
                                                    f"-o UserKnownHostsFile={known}")
        results, rounds, first = medians({
            "horde": ([HORDE, "run", "-i", inv, "all", "-a", "true", "-f", str(HOSTS),
                       "--known-hosts", known, "--host-key-checking", "strict"], None),
            "parallel-ssh 2.16": ([os.path.join(VENV, "python"), pssh_script, hosts_json, user, key], None),
            "ansible 2.19 (pipelining)": ([os.path.join(VENV, "ansible"), "-i", inv, "all", "-m", "command",
                                           "-a", "true", "-f", str(HOSTS)], ansible_env),
            "ansible 2.19 (defaults)": ([os.path.join(VENV, "ansible"), "-i", inv, "all", "-m", "command",
                                         "-a", "true", "-f", str(HOSTS)], ansible_default_env),
        })
        print(f"\nad-hoc `true` on {HOSTS} real sshd hosts (median of {RUNS} rounds after a warm-up round):")
        print(f"{'tool':<28} {'wall s':>8} {'own CPU s':>10} {'rest of machine CPU s':>22} {'horde faster':>13}")
        hw = results["horde"][0]
        for name, (wall, own, busy, rc) in results.items():
            ratio = f"{wall / hw:.1f}x" if name != "horde" else "-"
            print(f"{name:<28} {wall:>8.2f} {own:>10.2f} {max(busy - own, 0):>22.2f} {ratio:>13}{'' if rc == 0 else '  (exit %d)' % rc}")
        for name in results:
            if name != "horde":
                per_round = sorted(p[0] / h[0] for p, h in zip(rounds[name], rounds["horde"]))
                print(f"{name}: ratio within each round, median {statistics.median(per_round):.1f}x, "
                      f"range {per_round[0]:.1f}x-{per_round[-1]:.1f}x")
        print("the warm-up round (first contact: no connection left by an earlier run): " + ", ".join(
            f"{name} {r[0]:.2f} s" + ("" if name == "horde" else f" ({r[0] / first['horde'][0]:.1f}x)")
            for name, r in first.items()))
        h = results["horde"]
        print(f"horde's own CPU is {h[1] / max(h[2] - h[1], 1e-9):.2f} of the sshd side's "
              f"({h[1]:.2f} s against {max(h[2] - h[1], 0):.2f} s)")
    finally:
        subprocess.run([sys.executable, FLEET, "stop", fleet], stdout=subprocess.DEVNULL)

    print("\nthe embedded lab, 1000 hosts, `true` on each (one run):")
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", HORDE, "run", "-i", "lab:1000", "all", "-a", "true", "-f", "100"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, rss = out.stderr.strip().splitlines()[-1].split()
    print(f"exit {out.returncode}, wall {float(wall):.2f} s, peak RSS {int(rss) / 1024:.1f} MiB")
    print("\nRerun: bench/run.sh", HOSTS, RUNS)


if __name__ == "__main__":
    main()
