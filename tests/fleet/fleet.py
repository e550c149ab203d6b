#!/usr/bin/env python3
"""A test fleet of real OpenSSH sshd processes on loopback addresses.

    fleet.py start DIR N [--port 2222] [--first-address 127.0.10.1] [--max-startups 200:30:400]
                         [--ttl 3600] [--user NAME] [--sshd /usr/sbin/sshd]
    fleet.py stop DIR
    fleet.py kill DIR HOST
    fleet.py restart DIR HOST
    fleet.py tarpit DIR [--address 127.0.9.9] [--port 2222] [--ttl 600]

Host i listens on its own address of 127.0.0.0/8 (counting up from --first-address,
skipping addresses that end in .0 or .255). Every server runs under `timeout`, so it dies
by itself after TTL seconds, and is stopped by the pid recorded in DIR/pids (the pid of
`timeout`, which leads the process group of that host's sshd), never by name.
See tests/fleet/README.md. Python 3 standard library only.
"""

import argparse
import base64
import concurrent.futures
import fcntl
import hashlib
import hmac
import ipaddress
import json
import os
import pwd
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEFAULT_USER = "hordetest"
DEFAULT_USER_PASSWORD = "hordetest-pw"
READY_TIMEOUT = 20.0  # seconds for every host of a start to answer
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
EXIT_ADDRESS_IN_USE = 75  # EX_TEMPFAIL: a caller may retry with other addresses or ports

SSHD_CONFIG = """\
# Written by tests/fleet/fleet.py for host {name}.
ListenAddress {address}:{port}
HostKey {host_key}
PidFile none
UsePAM no
StrictModes no
AuthorizedKeysFile {authorized_keys}
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin yes
MaxStartups {max_startups}
MaxSessions 64
LogLevel ERROR
AcceptEnv LANG LC_*
PrintMotd no
UseDNS no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
"""


class FleetError(Exception):
    """A failure to report as `fleet.py: MESSAGE`, with an exit code."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def log(message):
    print(f"fleet: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Addresses, names, keys


def loopback_addresses(first, n):
    """N addresses of 127.0.0.0/8 from FIRST upward, skipping those ending in .0 or .255."""
    try:
        addr = ipaddress.IPv4Address(first)
    except ValueError as e:
        raise FleetError(f"bad --first-address {first!r}: {e}")
    loopback = ipaddress.IPv4Network("127.0.0.0/8")
    out = []
    while len(out) < n:
        if addr not in loopback:
            raise FleetError(f"{n} addresses from {first} do not fit in 127.0.0.0/8")
        if int(addr) & 0xFF not in (0, 255):
            out.append(str(addr))
        addr += 1
    return out


def host_names(n):
    width = max(3, len(str(n)))
    return [f"host{i:0{width}d}" for i in range(1, n + 1)]


def known_hosts_name(address, port):
    """How OpenSSH names ADDRESS:PORT in known_hosts."""
    return address if port == 22 else f"[{address}]:{port}"


def hashed_known_hosts_name(name):
    """OpenSSH's HashKnownHosts form: |1|base64(salt)|base64(HMAC-SHA1(salt, name))."""
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def fingerprint_sha256(public_key_line):
    """`ssh-keygen -l -E sha256` of a public key line: SHA256:<unpadded base64>."""
    blob = base64.b64decode(public_key_line.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def keygen(path, comment):
    """An ed25519 key without passphrase at PATH (kept if it already exists); its public line."""
    if not os.path.exists(path):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
            check=True,
            stdin=subprocess.DEVNULL,
        )
    with open(path + ".pub") as f:
        return " ".join(f.read().split()[:2])


# ---------------------------------------------------------------------------------------
# The login user


def resolve_user(requested):
    """The user the fleet's sshd let in: created if it is our dedicated one and missing."""
    me = pwd.getpwuid(os.getuid()).pw_name
    if os.geteuid() != 0:
        if requested not in (None, DEFAULT_USER, me):
            raise FleetError(f"not root: sshd can only let in the current user {me}, not {requested}")
        if requested == DEFAULT_USER:
            log(f"not root: using the current user {me} instead of {DEFAULT_USER}")
        return me
    user = requested or DEFAULT_USER
    if user != DEFAULT_USER:
        try:
            pwd.getpwnam(user)
        except KeyError:
            raise FleetError(f"user {user} does not exist (only {DEFAULT_USER} is created)")
        return user
    # Parallel starts (one per test process) must not race useradd or chpasswd.
    lock_dir = "/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir()
    with open(os.path.join(lock_dir, "horde-fleet-user.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(user)
        except KeyError:
            # An empty skeleton: no .bashrc or .profile in the home (FACTS.md: rc files cost).
            with tempfile.TemporaryDirectory() as skel:
                subprocess.run(
                    ["useradd", "--create-home", "--skel", skel, "--shell", "/bin/sh", user],
                    check=True,
                )
            log(f"created user {user} (shell /bin/sh, empty home)")
        if account_locked(user):
            # With UsePAM no, sshd refuses a locked account even with a key.
            subprocess.run(
                ["chpasswd"], input=f"{user}:{DEFAULT_USER_PASSWORD}\n", text=True, check=True
            )
    return user


def account_locked(user):
    with open("/etc/shadow") as f:
        for line in f:
            fields = line.split(":")
            if fields[0] == user:
                return not fields[1].startswith("$")
    return True


def check_traversable(path, user):
    """sshd reads AuthorizedKeysFile as the user: every directory above it must let them in."""
    pw = pwd.getpwnam(user)
    if pw.pw_uid == 0:
        return
    d = os.path.dirname(path)
    while True:
        st = os.stat(d)
        ok = st.st_mode & 0o001 or (st.st_uid == pw.pw_uid and st.st_mode & 0o100)
        if not ok:
            raise FleetError(
                f"{d} is not searchable by {user}, so sshd cannot read {path}: "
                "put the fleet directory under a world-searchable one such as /tmp"
            )
        if d == "/":
            return
        d = os.path.dirname(d)


# ---------------------------------------------------------------------------------------
# Processes: launched under `timeout`, recorded in DIR/pids, stopped by pid


def read_pids(d):
    """[(name, pid)] from DIR/pids."""
    try:
        with open(os.path.join(d, "pids")) as f:
            return [(n, int(p)) for n, p in (line.split() for line in f if line.strip())]
    except FileNotFoundError:
        return []


def write_pids(d, entries):
    path = os.path.join(d, "pids")
    if not entries:
        if os.path.exists(path):
            os.remove(path)
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(f"{n} {p}\n" for n, p in entries)
    os.replace(tmp, path)


def append_pid(d, name, pid):
    with open(os.path.join(d, "pids"), "a") as f:
        f.write(f"{name} {pid}\n")


def proc_stat(pid):
    """(state, pgrp) of PID, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return rest[0], int(rest[2])
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def live_groups():
    """The process groups that have a live (not zombie) member."""
    groups = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(entry)
            if st and st[0] != "Z":
                groups.add(st[1])
    return groups


def ours(pid, d):
    """Whether signalling group PID reaches our processes, not a reused pid.

    Each recorded pid is a `timeout` that leads its own process group (setsid), and its
    command line names a file under DIR. While a group has members, Linux does not hand its
    id out again, so a group whose leader has exited still holds only our processes."""
    st = proc_stat(pid)
    if st is None or st[0] == "Z":
        return True
    d = os.path.realpath(d).encode()
    return any(a == d or a.startswith(d + b"/") for a in proc_cmdline(pid).split(b"\0"))


def stop_groups(d, pids, grace=STOP_GRACE):
    """SIGTERM the process groups led by PIDS, SIGKILL what is left after GRACE seconds."""
    targets = [p for p in pids if ours(p, d)]
    for p in set(pids) - set(targets):
        log(f"pid {p} is no longer one of ours (reused): left alone")
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        for p in targets:
            try:
                os.killpg(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        delay = 0.005
        while True:
            live = live_groups()
            targets = [p for p in targets if p in live]
            if not targets or time.monotonic() > deadline:
                break
            time.sleep(delay)  # polling interval, bounded by the deadline
            delay = min(delay * 2, 0.1)
        if not targets:
            return
    for p in targets:
        log(f"process group {p} survived SIGKILL")


def launch(d, name, argv, ttl):
    """Start ARGV under `timeout TTL` in its own session, output to DIR/logs/NAME.log."""
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    log_path = os.path.join(d, "logs", f"{name}.log")
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            ["timeout", "--signal=TERM", str(ttl)] + argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,  # its own group: outlives us, stopped as a group
        )
    append_pid(d, name, proc.pid)
    return proc


def log_tail(d, name, limit=2000):
    try:
        with open(os.path.join(d, "logs", f"{name}.log"), errors="replace") as f:
            text = f.read().strip()
    except FileNotFoundError:
        return "(no log)"
    return text[-limit:] if text else "(empty log)"


def check_free(address, port):
    """Fails with EXIT_ADDRESS_IN_USE if something already listens on ADDRESS:PORT."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as sshd binds
        try:
            s.bind((address, port))
        except OSError as e:
            raise FleetError(f"{address}:{port} is taken: {e.strerror}", EXIT_ADDRESS_IN_USE)


def wait_ready(proc, address, port, deadline, banner=True):
    """None once ADDRESS:PORT accepts (and sends an SSH-2.0 banner), else why not."""
    delay = 0.002
    why = "no answer"
    while True:
        if proc is not None and proc.poll() is not None:
            return f"exited with status {proc.returncode}"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return f"not up after {READY_TIMEOUT:.0f} s ({why})"
        try:
            with socket.create_connection((address, port), timeout=min(remaining, 2.0)) as s:
                if not banner:
                    return None
                got = b""
                while b"\n" not in got and len(got) < 256:
                    chunk = s.recv(256)
                    if not chunk:
                        break
                    got += chunk
                if got.startswith(b"SSH-2.0-"):
                    # Finish the identification exchange so sshd has nothing to complain of.
                    s.sendall(b"SSH-2.0-horde_fleet_probe\r\n")
                    return None
                why = f"unexpected banner {got[:40]!r}"
        except OSError as e:
            why = e.strerror or str(e)
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))  # polling interval
        delay = min(delay * 2, 0.05)


def lock_dir(d):
    """An exclusive lock on DIR for commands that change its state (held until exit)."""
    f = open(os.path.join(d, ".lock"), "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


# ---------------------------------------------------------------------------------------
# Files a client needs


def write_file(path, text, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_client_files(d, hosts, user, key):
    known = "".join(
        f"{known_hosts_name(h['address'], h['port'])} {h['host_key_pub']}\n" for h in hosts
    )
    write_file(os.path.join(d, "known_hosts"), known)
    hashed = "".join(
        f"{hashed_known_hosts_name(known_hosts_name(h['address'], h['port']))} {h['host_key_pub']}\n"
        for h in hosts
    )
    write_file(os.path.join(d, "known_hosts_hashed"), hashed)

    ini = ["[fleet]"]
    ini += [f"{h['name']} ansible_host={h['address']} ansible_port={h['port']}" for h in hosts]
    ini += ["", "[fleet:vars]", f"ansible_user={user}", f"ansible_ssh_private_key_file={key}", ""]
    write_file(os.path.join(d, "inventory.ini"), "\n".join(ini))

    q = json.dumps  # a JSON string is a YAML string
    yml = ["all:", "  children:", "    fleet:", "      hosts:"]
    for h in hosts:
        yml += [
            f"        {h['name']}:",
            f"          ansible_host: {q(h['address'])}",
            f"          ansible_port: {h['port']}",
        ]
    yml += [
        "      vars:",
        f"        ansible_user: {q(user)}",
        f"        ansible_ssh_private_key_file: {q(key)}",
        "",
    ]
    write_file(os.path.join(d, "inventory.yml"), "\n".join(yml))

    cfg = []
    for h in hosts:
        cfg += [
            f"Host {h['name']}",
            f"  HostName {h['address']}",
            f"  Port {h['port']}",
            f"  User {user}",
            f"  IdentityFile {key}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {os.path.join(d, 'known_hosts')}",
            "  GlobalKnownHostsFile /dev/null",
            "  StrictHostKeyChecking yes",
            "  BatchMode yes",
            "",
        ]
    write_file(os.path.join(d, "ssh_config"), "\n".join(cfg))


def write_hosts_json(d, hosts):
    path = os.path.join(d, "hosts.json")
    write_file(path, json.dumps(hosts, indent=2) + "\n")
    return path


def read_json(d, name):
    try:
        with open(os.path.join(d, name)) as f:
            return json.load(f)
    except FileNotFoundError:
        raise FleetError(f"{d} holds no fleet ({name} is missing)")


# ---------------------------------------------------------------------------------------
# Commands


def sshd_argv(meta, d, name):
    argv = [meta["sshd"], "-D", "-e", "-f", os.path.join(d, "hosts", name, "sshd_config")]
    if meta.get("pid_namespace"):
        # sshd as init of its own PID namespace: when it dies, the kernel kills every
        # process of that host (sessions and the commands they run), which is what a dead
        # host looks like to a client; and sshd reaps the orphans of its sessions.
        argv = ["unshare", "--pid", "--fork", "--kill-child"] + argv
    return argv


def pid_namespaces_work():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = ["unshare", "--pid", "--fork", "--kill-child", "true"]
    return subprocess.run(probe, stderr=subprocess.DEVNULL).returncode == 0


def cmd_start(args):
    t0 = time.monotonic()
    d = os.path.realpath(args.dir)
    if any(c.isspace() for c in d):
        raise FleetError(f"the fleet directory may not contain whitespace: {d!r}")
    if args.n < 1:
        raise FleetError("N must be at least 1")
    sshd = args.sshd or shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.isabs(sshd) or not os.access(sshd, os.X_OK):
        raise FleetError(f"sshd not found at {sshd} (scripts/setup-test-env installs it)")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)  # the login user must reach DIR/authorized_keys
    lock = lock_dir(d)
    groups = live_groups()
    live = [p for _, p in read_pids(d) if p in groups and ours(p, d)]
    if live:
        raise FleetError(f"{d} already has running processes ({len(live)}): stop it first")
    write_pids(d, [])

    user = resolve_user(args.user)
    authorized_keys = os.path.join(d, "authorized_keys")
    check_traversable(authorized_keys, user)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir

    names = host_names(args.n)
    addresses = loopback_addresses(args.first_address, args.n)
    for a in addresses:
        check_free(a, args.port)

    key = os.path.join(d, "id_ed25519")
    client_pub = keygen(key, "horde-fleet-client")
    os.chmod(key, 0o600)
    write_file(authorized_keys, client_pub + "\n")

    def host_key(name):
        hd = os.path.join(d, "hosts", name)
        os.makedirs(hd, exist_ok=True)
        return keygen(os.path.join(hd, "ssh_host_ed25519_key"), f"horde-fleet-{name}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        pubs = list(pool.map(host_key, names))
    t_keys = time.monotonic()

    meta = {
        "user": user,
        "port": args.port,
        "ttl": args.ttl,
        "sshd": sshd,
        "pid_namespace": not args.no_pid_namespace and pid_namespaces_work(),
        "dir": d,
    }
    write_file(os.path.join(d, "fleet.json"), json.dumps(meta, indent=2) + "\n")
    hosts = []
    for name, address, pub in zip(names, addresses, pubs):
        hd = os.path.join(d, "hosts", name)
        config = SSHD_CONFIG.format(
            name=name,
            address=address,
            port=args.port,
            host_key=os.path.join(hd, "ssh_host_ed25519_key"),
            authorized_keys=authorized_keys,
            max_startups=args.max_startups,
        )
        write_file(os.path.join(hd, "sshd_config"), config)
        hosts.append(
            {
                "name": name,
                "address": address,
                "port": args.port,
                "pid": None,
                "host_key_pub": pub,
                "host_key_fingerprint_sha256": fingerprint_sha256(pub),
            }
        )

    procs = []
    try:
        for h in hosts:
            procs.append(launch(d, h["name"], sshd_argv(meta, d, h["name"]), args.ttl))
            h["pid"] = procs[-1].pid
        failures = wait_all(d, hosts, procs)
        if failures:
            # Lost a race for an address (checked free, taken before sshd bound it)?
            code = EXIT_ADDRESS_IN_USE if "Address already in use" in str(failures) else 1
            raise FleetError("some hosts did not come up:\n" + "\n".join(failures), code)
    except BaseException:
        stop_groups(d, [p.pid for p in procs], grace=1.0)
        write_pids(d, [])
        raise
    write_client_files(d, hosts, user, key)
    path = write_hosts_json(d, hosts)
    t1 = time.monotonic()
    log(
        f"{args.n} hosts up in {t1 - t0:.2f} s (keys {t_keys - t0:.2f} s, "
        f"sshd {t1 - t_keys:.2f} s), {addresses[0]}..{addresses[-1]} port {args.port}, user {user}"
    )
    lock.close()
    print(path)


def wait_all(d, hosts, procs):
    """Probes every host in parallel (one connection each); the failures, described."""
    deadline = time.monotonic() + READY_TIMEOUT

    def probe(i):
        h = hosts[i]
        why = wait_ready(procs[i], h["address"], h["port"], deadline)
        if why is None:
            return None
        return f"  {h['name']} ({h['address']}:{h['port']}): {why}\n    sshd said: " + log_tail(
            d, h["name"]
        ).replace("\n", "\n    ")

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(hosts), 32)) as pool:
        return [f for f in pool.map(probe, range(len(hosts))) if f]


def find_host(d, name):
    hosts = read_json(d, "hosts.json")
    for h in hosts:
        if h["name"] == name:
            return hosts, h
    raise FleetError(f"no host {name} in {d} (hosts: {', '.join(h['name'] for h in hosts)})")


def kill_named(d, name):
    entries = read_pids(d)
    stop_groups(d, [p for n, p in entries if n == name], grace=2.0)
    write_pids(d, [(n, p) for n, p in entries if n != name])


def cmd_kill(args):
    d = os.path.realpath(args.dir)
    lock = lock_dir(d)
    hosts, h = find_host(d, args.host)
    kill_named(d, args.host)
    h["pid"] = None
    write_hosts_json(d, hosts)
    lock.close()


def cmd_restart(args):
    d = os.path.realpath(args.dir)
    lock = lock_dir(d)
    meta = read_json(d, "fleet.json")
    hosts, h = find_host(d, args.host)
    kill_named(d, args.host)
    check_free(h["address"], h["port"])
    proc = launch(d, h["name"], sshd_argv(meta, d, h["name"]), meta["ttl"])
    why = wait_ready(proc, h["address"], h["port"], time.monotonic() + READY_TIMEOUT)
    if why:
        kill_named(d, args.host)
        raise FleetError(f"{h['name']} did not come back: {why}\n{log_tail(d, h['name'])}")
    h["pid"] = proc.pid
    write_hosts_json(d, hosts)
    lock.close()


def cmd_stop(args):
    d = os.path.realpath(args.dir)
    if not os.path.isdir(d):
        return
    lock = lock_dir(d)
    stop_groups(d, [p for _, p in read_pids(d)])
    write_pids(d, [])
    lock.close()


def cmd_tarpit(args):
    d = os.path.realpath(args.dir)
    os.makedirs(d, exist_ok=True)
    lock = lock_dir(d)
    try:
        loopback = ipaddress.IPv4Address(args.address) in ipaddress.IPv4Network("127.0.0.0/8")
    except ValueError as e:
        raise FleetError(f"bad --address {args.address!r}: {e}")
    if not loopback:
        raise FleetError("the tarpit listens on 127.0.0.0/8 only")
    check_free(args.address, args.port)
    name = f"tarpit-{args.address}-{args.port}"
    argv = [sys.executable, os.path.realpath(__file__), "_tarpit", d, args.address, str(args.port)]
    proc = launch(d, name, argv, args.ttl)
    why = wait_ready(proc, args.address, args.port, time.monotonic() + READY_TIMEOUT, banner=False)
    if why:
        kill_named(d, name)
        raise FleetError(f"the tarpit did not come up: {why}\n{log_tail(d, name)}")
    lock.close()
    print(f"{args.address}:{args.port}")


def cmd_tarpit_serve(args):
    """Accepts connections and never sends a byte; what arrives is read and dropped."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.address, args.port))
    listener.listen(1024)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        for key, _ in sel.select():
            if key.fileobj is listener:
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
            else:
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


def main(argv=None):
    p = argparse.ArgumentParser(prog="fleet.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("start", help="start N sshd hosts; prints the path of hosts.json")
    s.add_argument("dir")
    s.add_argument("n", type=int)
    s.add_argument("--port", type=int, default=2222)
    s.add_argument("--first-address", default="127.0.10.1")
    s.add_argument("--max-startups", default="200:30:400", help="sshd MaxStartups")
    s.add_argument("--ttl", type=int, default=3600, help="seconds before each sshd exits by itself")
    s.add_argument("--user", help=f"login user (default {DEFAULT_USER}, created when root)")
    s.add_argument("--sshd", help="path of sshd (default: sshd on PATH or /usr/sbin/sshd)")
    s.add_argument(
        "--no-pid-namespace",
        action="store_true",
        help="run sshd in our PID namespace (then killing a host leaves its sessions running)",
    )
    s.set_defaults(func=cmd_start)

    s = sub.add_parser("stop", help="stop every process recorded in DIR/pids")
    s.add_argument("dir")
    s.set_defaults(func=cmd_stop)

    s = sub.add_parser("kill", help="stop one host's sshd")
    s.add_argument("dir")
    s.add_argument("host")
    s.set_defaults(func=cmd_kill)

    s = sub.add_parser("restart", help="(re)start one host's sshd, same address and key")
    s.add_argument("dir")
    s.add_argument("host")
    s.set_defaults(func=cmd_restart)

    s = sub.add_parser("tarpit", help="a listener that accepts and never answers")
    s.add_argument("dir")
    s.add_argument("--address", default="127.0.9.9")
    s.add_argument("--port", type=int, default=2222)
    s.add_argument("--ttl", type=int, default=600)
    s.set_defaults(func=cmd_tarpit)

    s = sub.add_parser("_tarpit")  # the tarpit process itself
    s.add_argument("dir")
    s.add_argument("address")
    s.add_argument("port", type=int)
    s.set_defaults(func=cmd_tarpit_serve)

    args = p.parse_args(argv)
    try:
        args.func(args)
    except FleetError as e:
        print(f"fleet.py: {e}", file=sys.stderr)
        return e.code
    except subprocess.CalledProcessError as e:
        print(f"fleet.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
