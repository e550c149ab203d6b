#!/usr/bin/env python3
"""Playbook parity: run a playbook with ansible-playbook and with `horde apply` on a fleet of
real sshd hosts (tests/fleet/fleet.py) and compare what each left behind.

    playbook_parity.py run --tool ansible|horde --fleet FLEETDIR --base BASEDIR
                           [--horde BIN] [--venv DIR] PLAYBOOK
    playbook_parity.py compare --fleet FLEETDIR --horde BIN [--expected] [--stdout]
                           [--keep] PLAYBOOK [PLAYBOOK ...]
    playbook_parity.py record --fleet FLEETDIR [--venv DIR] PLAYBOOK [PLAYBOOK ...]

`run` prints ONE JSON object:

    {"tool", "playbook", "args", "exit_code", "recap": {host: {ok, changed, unreachable,
     failed, skipped, rescued, ignored}}, "runs": [{"exit_code", "recap", "wall_seconds"}],
     "files": {relpath: {type, mode, owner, group, content_sha1 [, content] | target}},
     "wall_seconds", "stdout", "stderr"}

"exit_code" and "recap" are those of the last run; "runs" holds every run (see `# runs:`),
"files" is the tree under BASEDIR after the last run. File contents and link targets are
hashed with BASEDIR replaced by "<BASE>" (so trees from different base directories compare
equal), relpaths too (fetch copies the source's full path under its dest; the directories
it makes for BASE's ancestors are left out), and Ansible's
backup names (NAME.PID.YYYY-MM-DD@HH:MM:SS~) become NAME.<BACKUP>~ (then ~2, ~3 ... in
name order when a file has several). Timestamps are never recorded.

`compare` runs Ansible then horde, each into the same freshly made base directory
(emptied between the two), and prints every difference: exit code, recap per host for
every run, the file trees. Exit 0 when equal, 1 when not, 2 on a usage or setup error.
`--expected` compares horde against tests/parity/playbooks/expected/NAME.json instead
of running Ansible. `--stdout` also compares the task/host lines of the default callback
(a stricter check: task banners and `ok:`/`changed:`/`skipping:`/`failed:` per host).

`record` runs Ansible and writes playbooks/expected/NAME.json (the `run` object without
stdout, stderr and timings).

Playbook headers, read from the leading comment lines of the playbook:

    # args: -t web --skip-tags db      extra ansible-playbook arguments (shell-quoted)
    # runs: 2                          run the playbook this many times in a row
    # stdout: unordered                 --stdout compares the outline's lines as a multiset
                                        (strategy: free interleaves tasks at random)

Both tools get `-i FLEETDIR/inventory.ini -e base=BASEDIR ARGS PLAYBOOK`; horde also gets
`--known-hosts FLEETDIR/known_hosts --host-key-checking strict` (Ansible gets the known_hosts
file through ANSIBLE_SSH_ARGS, as in bench/run_bench.py). Every subprocess is bounded by
--timeout seconds (300 by default). Python 3 standard library only.
"""

import argparse
import grp
import hashlib
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOKS = os.path.join(HERE, "playbooks")
EXPECTED = os.path.join(PLAYBOOKS, "expected")
def default_venv():
    """$HORDE_PARITY_VENV, else target/parity-venv (or a target-parity-venv link) of the repo."""
    if os.environ.get("HORDE_PARITY_VENV"):
        return os.environ["HORDE_PARITY_VENV"]
    for d in (os.path.join(ROOT, "target", "parity-venv"), os.path.join(ROOT, "target-parity-venv")):
        if os.path.exists(os.path.join(d, "bin", "ansible-playbook")):
            return d
    return os.path.join(ROOT, "target", "parity-venv")


DEFAULT_VENV = default_venv()
RECAP_FIELDS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
RECAP_RE = re.compile(
    r"^(\S+)\s+:\s+" + r"\s+".join(rf"{f}=(\d+)" for f in RECAP_FIELDS) + r"\s*$"
)
BACKUP_RE = re.compile(r"^(.*)\.\d+\.\d{4}-\d{2}-\d{2}@\d{2}:\d{2}:\d{2}~$")
INLINE_CONTENT_MAX = 4096


class Failure(Exception):
    pass


# ---------------------------------------------------------------------------------------
# Headers


def read_headers(playbook):
    """(extra args, number of runs, unordered stdout) from the playbook's leading `# key: value` lines."""
    args, runs, unordered = [], 1, False
    with open(playbook, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if s == "---" or not s:
                continue
            if not s.startswith("#"):
                break
            m = re.match(r"#\s*(args|runs|stdout)\s*:\s*(.*)$", s)
            if m and m.group(1) == "args":
                args += shlex.split(m.group(2))
            elif m and m.group(1) == "runs":
                runs = int(m.group(2))
            elif m and m.group(1) == "stdout":
                unordered = m.group(2).strip() == "unordered"
    return args, runs, unordered


# ---------------------------------------------------------------------------------------
# Fleet and environment


def fleet_user(fleet):
    try:
        with open(os.path.join(fleet, "fleet.json")) as f:
            return json.load(f)["user"]
    except (OSError, KeyError, ValueError) as e:
        raise Failure(f"{fleet} is not a started fleet (fleet.json: {e})")


def prepare_base(base, user):
    """An empty BASE the fleet user can write into (the hosts log in as that user)."""
    if os.path.lexists(base):
        shutil.rmtree(base)
    os.makedirs(base)
    os.chmod(base, 0o755)
    if os.geteuid() == 0:
        pw = pwd.getpwnam(user)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    elif pwd.getpwuid(os.getuid()).pw_name != user:
        os.chmod(base, 0o777)


def tool_env(fleet):
    """The environment of both tools: Ansible configured as in bench/run_bench.py."""
    home = os.path.join(fleet, "parity-ansible-home")
    os.makedirs(os.path.join(home, "tmp"), exist_ok=True)
    cfg = os.path.join(home, "ansible.cfg")
    if not os.path.exists(cfg):
        with open(cfg, "w") as f:
            f.write("# empty: every setting comes from the environment\n")
    known = os.path.join(fleet, "known_hosts")
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("ANSIBLE_") or k.startswith("HORDE_"):
            del env[k]
    env.update(
        ANSIBLE_CONFIG=cfg,
        ANSIBLE_HOME=home,
        ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"),
        ANSIBLE_PIPELINING="True",
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_SSH_ARGS=f"-o UserKnownHostsFile={known} -o ControlMaster=auto -o ControlPersist=60s",
        ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
    )
    env.pop("LC_CTYPE", None)
    return env


def tool_command(tool, fleet, base, playbook, extra, horde, venv):
    inv = os.path.join(fleet, "inventory.ini")
    common = ["-i", inv, "-e", f"base={base}"] + extra + [playbook]
    if tool == "ansible":
        exe = os.path.join(venv, "bin", "ansible-playbook")
        if not os.path.exists(exe):
            raise Failure(f"no {exe} (pass --venv DIR)")
        return [exe] + common
    if not horde:
        raise Failure("--horde BIN is needed for --tool horde")
    known = os.path.join(fleet, "known_hosts")
    return [horde, "apply", "--known-hosts", known, "--host-key-checking", "strict"] + common


# ---------------------------------------------------------------------------------------
# Output and file tree


def parse_recap(stdout):
    recap, seen = {}, False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            seen, recap = True, {}
            continue
        if seen:
            m = RECAP_RE.match(line)
            if m:
                recap[m.group(1)] = {f: int(v) for f, v in zip(RECAP_FIELDS, m.groups()[1:])}
    return recap


def normalise_bytes(data, base):
    return data.replace(base.encode(), b"<BASE>")


def snapshot(base):
    """{relpath: description} of everything under BASE (BASE itself excluded)."""
    raw = {}
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            try:
                owner = pwd.getpwuid(st.st_uid).pw_name
            except KeyError:
                owner = str(st.st_uid)
            try:
                group = grp.getgrgid(st.st_gid).gr_name
            except KeyError:
                group = str(st.st_gid)
            d = {"owner": owner, "group": group}
            if stat.S_ISLNK(st.st_mode):
                d["type"] = "link"
                d["target"] = normalise_bytes(os.readlink(path).encode(), base).decode(
                    "utf-8", "replace")
            else:
                d["mode"] = "%04o" % stat.S_IMODE(st.st_mode)
                if stat.S_ISDIR(st.st_mode):
                    d["type"] = "directory"
                elif stat.S_ISREG(st.st_mode):
                    d["type"] = "file"
                    with open(path, "rb") as f:
                        data = normalise_bytes(f.read(), base)
                    d["size"] = len(data)
                    d["nlink"] = st.st_nlink
                    d["content_sha1"] = hashlib.sha1(data).hexdigest()
                    if len(data) <= INLINE_CONTENT_MAX:
                        try:
                            d["content"] = data.decode("utf-8")
                        except UnicodeDecodeError:
                            pass
                else:
                    d["type"] = "other"
            raw[os.path.relpath(path, base)] = d
    # Normalise relpaths: the base path (fetch) and backup timestamps.
    out, backups = {}, {}
    base_rel = base.strip("/")
    base_parts = base_rel.split("/")
    ancestors = {"/".join(base_parts[:i]) for i in range(1, len(base_parts))}
    for rel in sorted(raw):
        # fetch recreates the source's full path: its directories above BASE are left out.
        if any(rel.endswith("/" + a) for a in ancestors):
            continue
        key = rel.replace(base_rel, "<BASE>")
        head, tail = os.path.split(key)
        m = BACKUP_RE.match(tail)
        if m:
            stem = os.path.join(head, m.group(1) + ".<BACKUP>")
            backups[stem] = backups.get(stem, 0) + 1
            n = backups[stem]
            key = stem + ("~" if n == 1 else f"~{n}")
        out[key] = raw[rel]
    return out


def run_bounded(cmd, cwd, env, timeout):
    """(exit code or "timeout", stdout, stderr) of CMD, run in a process group of its own
    that is killed as a whole (ssh clients included) when TIMEOUT seconds pass."""
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        code = p.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        code = "timeout"
        err += f"\n(timed out after {timeout} s)".encode()
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def run_tool(tool, fleet, base, playbook, horde=None, venv=DEFAULT_VENV, timeout=300):
    playbook = os.path.abspath(playbook)
    base = os.path.abspath(base)
    extra, runs, _ = read_headers(playbook)
    user = fleet_user(fleet)
    prepare_base(base, user)
    env = tool_env(fleet)
    cmd = tool_command(tool, fleet, base, playbook, extra, horde, venv)
    result = {"tool": tool, "playbook": os.path.basename(playbook), "args": extra, "runs": []}
    stdouts, stderrs, total = [], [], 0.0
    for i in range(runs):
        t0 = time.monotonic()
        code, out, err = run_bounded(cmd, os.path.dirname(playbook), env, timeout)
        wall = round(time.monotonic() - t0, 2)
        total += wall
        stdouts.append(out)
        stderrs.append(err)
        result["runs"].append({"exit_code": code, "recap": parse_recap(out), "wall_seconds": wall})
    result["exit_code"] = result["runs"][-1]["exit_code"]
    result["recap"] = result["runs"][-1]["recap"]
    result["files"] = snapshot(base)
    result["wall_seconds"] = round(total, 2)
    sep = "\n" + "=" * 20 + " next run " + "=" * 20 + "\n"
    result["stdout"] = sep.join(stdouts)
    result["stderr"] = sep.join(stderrs)
    return result


# ---------------------------------------------------------------------------------------
# Comparison


TASK_LINE_RE = re.compile(
    r"^(PLAY \[.*\]|TASK \[.*\]|RUNNING HANDLER \[.*\]|PLAY RECAP|"
    r"(ok|changed|skipping|failed|fatal|unreachable|included|rescued|ignored): .*?(?=( =>|$)))"
)


def stdout_outline(stdout):
    """The lines of the default callback that name a play, task or host status."""
    out, group = [], []
    for line in stdout.splitlines():
        m = TASK_LINE_RE.match(line)
        if not m:
            continue
        text = re.sub(r"\*+$", "", line.split(" => {")[0]).rstrip()
        if m.group(2):  # a host line: hosts answer in any order within a task
            group.append(text)
            continue
        out += sorted(group) + [text]
        group = []
    return out + sorted(group)


def unordered_outline(outline):
    """Each host line prefixed with its task banner, sorted; banners themselves dropped
    (strategy: free prints a banner again whenever another host reaches the task)."""
    out, banner = [], ""
    for line in outline:
        if re.match(r"^(PLAY|TASK|RUNNING HANDLER) \[|^PLAY RECAP", line):
            banner = line
        else:
            out.append(f"{banner} | {line}")
    return sorted(out)


def differences(a, b, names=("ansible", "horde"), with_stdout=False, unordered=False):
    diffs = []
    na, nb = names
    if a["exit_code"] != b["exit_code"]:
        diffs.append(f"exit code: {na} {a['exit_code']}, {nb} {b['exit_code']}")
    runs_a, runs_b = a.get("runs", []), b.get("runs", [])
    if len(runs_a) != len(runs_b):
        diffs.append(f"number of runs: {na} {len(runs_a)}, {nb} {len(runs_b)}")
    for i, (ra, rb) in enumerate(zip(runs_a, runs_b), 1):
        tag = f"run {i}: " if len(runs_a) > 1 else ""
        if len(runs_a) > 1 and ra["exit_code"] != rb["exit_code"]:
            diffs.append(f"{tag}exit code: {na} {ra['exit_code']}, {nb} {rb['exit_code']}")
        for host in sorted(set(ra["recap"]) | set(rb["recap"])):
            ha, hb = ra["recap"].get(host), rb["recap"].get(host)
            if ha is None or hb is None:
                diffs.append(f"{tag}recap {host}: only in {na if hb is None else nb}")
                continue
            bad = [f"{f}={ha[f]}/{hb[f]}" for f in RECAP_FIELDS if ha[f] != hb[f]]
            if bad:
                diffs.append(f"{tag}recap {host} ({na}/{nb}): " + " ".join(bad))
    fa, fb = a["files"], b["files"]
    for rel in sorted(set(fa) | set(fb)):
        da, db = fa.get(rel), fb.get(rel)
        if da is None or db is None:
            diffs.append(f"file {rel}: only in {na if db is None else nb}")
            continue
        for k in ("type", "mode", "owner", "group", "target", "nlink", "content_sha1"):
            if da.get(k) != db.get(k):
                va, vb = da.get(k), db.get(k)
                if k == "content_sha1" and "content" in da and "content" in db:
                    va, vb = json.dumps(da["content"]), json.dumps(db["content"])
                    k = "content"
                diffs.append(f"file {rel}: {k} {na} {va}, {nb} {vb}")
    if with_stdout:
        oa, ob = stdout_outline(a.get("stdout", "")), stdout_outline(b.get("stdout", ""))
        if unordered:
            oa, ob = unordered_outline(oa), unordered_outline(ob)
        if oa != ob:
            import difflib
            diffs.append("stdout outline:\n" + "\n".join(
                difflib.unified_diff(oa, ob, na, nb, lineterm="", n=2)))
    return diffs


def expected_path(playbook):
    return os.path.join(EXPECTED, os.path.splitext(os.path.basename(playbook))[0] + ".json")


def recordable(result):
    r = {k: v for k, v in result.items() if k not in ("stdout", "stderr", "wall_seconds")}
    r["runs"] = [{k: v for k, v in run.items() if k != "wall_seconds"} for run in r["runs"]]
    return r


# ---------------------------------------------------------------------------------------
# Commands


def cmd_run(args):
    r = run_tool(args.tool, os.path.abspath(args.fleet), args.base, args.playbook,
                 horde=args.horde, venv=args.venv, timeout=args.timeout)
    print(json.dumps(r, indent=2, sort_keys=True))
    return 0


def fresh_base(keep):
    d = tempfile.mkdtemp(prefix="horde-parity-", dir="/tmp")
    os.chmod(d, 0o755)
    return d


def cmd_compare(args):
    fleet = os.path.abspath(args.fleet)
    horde = os.path.abspath(args.horde)
    status = 0
    for playbook in args.playbooks:
        name = os.path.basename(playbook)
        work = fresh_base(args.keep)
        base = os.path.join(work, "base")
        try:
            if args.expected:
                with open(expected_path(playbook)) as f:
                    a = json.load(f)
                a.setdefault("stdout", "")
            else:
                a = run_tool("ansible", fleet, base, playbook, venv=args.venv, timeout=args.timeout)
                shutil.rmtree(base)
            b = run_tool("horde", fleet, base, playbook, horde=horde, timeout=args.timeout)
            if args.expected:
                b = json.loads(json.dumps(recordable(b)))  # the same shape as the file
                b["stdout"] = ""
        finally:
            if args.keep:
                print(f"{name}: kept {work}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)
        unordered = read_headers(playbook)[2]
        diffs = differences(a, b, ("ansible", "horde"), args.stdout and not args.expected, unordered)
        if diffs:
            status = 1
            print(f"DIFFER {name}")
            for d in diffs:
                print("  " + d.replace("\n", "\n  "))
            if args.verbose:
                for r in (a, b):
                    print(f"  ---- {r['tool']} stdout ----\n" + r.get("stdout", ""))
                    print(f"  ---- {r['tool']} stderr ----\n" + r.get("stderr", ""))
        else:
            print(f"same   {name}")
        sys.stdout.flush()
    return status


def cmd_record(args):
    fleet = os.path.abspath(args.fleet)
    os.makedirs(EXPECTED, exist_ok=True)
    for playbook in args.playbooks:
        work = fresh_base(False)
        try:
            r = run_tool("ansible", fleet, os.path.join(work, "base"), playbook,
                         venv=args.venv, timeout=args.timeout)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        with open(expected_path(playbook), "w") as f:
            json.dump(recordable(r), f, indent=2, sort_keys=True)
            f.write("\n")
        recap = " ".join(
            f"{h}:" + ",".join(f"{k}={v}" for k, v in c.items() if v) for h, c in r["recap"].items())
        print(f"{os.path.basename(playbook):36} exit={r['exit_code']} "
              f"{r['wall_seconds']:6.2f}s runs={len(r['runs'])} {recap}")
        sys.stdout.flush()
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="playbook_parity.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def common(s):
        s.add_argument("--fleet", required=True, help="a directory started by tests/fleet/fleet.py")
        s.add_argument("--venv", default=DEFAULT_VENV, help="virtualenv with ansible-core")
        s.add_argument("--timeout", type=float, default=300, help="seconds per tool run")

    s = sub.add_parser("run", help="run one tool, print JSON")
    common(s)
    s.add_argument("--tool", choices=("ansible", "horde"), required=True)
    s.add_argument("--base", required=True, help="directory for the hosts' files (emptied first)")
    s.add_argument("--horde", help="the horde binary")
    s.add_argument("playbook")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("compare", help="run both tools and print the differences")
    common(s)
    s.add_argument("--horde", required=True)
    s.add_argument("--expected", action="store_true",
                   help="compare with playbooks/expected/NAME.json instead of running Ansible")
    s.add_argument("--stdout", action="store_true", help="also compare the task/host lines")
    s.add_argument("--keep", action="store_true", help="keep the base directory")
    s.add_argument("-v", "--verbose", action="store_true", help="print both outputs on a difference")
    s.add_argument("playbooks", nargs="+")
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("record", help="run Ansible, write playbooks/expected/NAME.json")
    common(s)
    s.add_argument("playbooks", nargs="+")
    s.set_defaults(func=cmd_record)

    args = p.parse_args(argv)
    try:
        return args.func(args)
    except Failure as e:
        print(f"playbook_parity.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
