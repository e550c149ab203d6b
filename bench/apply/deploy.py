# Workload A of bench/apply.sh for pyinfra 3: the operations of site.yml, one for one
# (the shell task, its register and the assert are one python.call that runs the
# pipeline on the host and asserts on its output, as Ansible's assert runs on the
# controller). Run as: pyinfra -y INVENTORY deploy.py --data bench_dir=DIR
import os

from pyinfra import host
from pyinfra.operations import files, python, server

HERE = os.path.dirname(os.path.abspath(__file__))
root = f"{host.data.bench_dir}/{host.name}"

files.directory(name="the host's directories", path=f"{root}/etc", mode="755")

server.shell(name="a command", commands=["uname -s"])


def shell_and_assert():
    ok, output = host.run_shell_command(f"echo {host.name} | tr a-z A-Z")
    assert ok, f"the pipeline failed: {output.stderr}"
    assert output.stdout == host.name.upper(), f"unexpected output {output.stdout!r}"


python.call(name="a shell pipeline, asserted on", function=shell_and_assert)

files.put(name="copy a 10 KB file", src=f"{HERE}/files/data-10k.bin", dest=f"{root}/small.bin", mode="644")
files.put(name="copy a 1 MB file", src=f"{HERE}/files/data-1m.bin", dest=f"{root}/big.bin", mode="644")

files.template(
    name="a template",
    src=f"{HERE}/templates/app.conf.j2",
    dest=f"{root}/etc/app.conf",
    mode="644",
    inventory_hostname=host.name,
    app_port=8080,
    app_workers=[1, 2, 3, 4],
)

files.link(name="a symbolic link to it", path=f"{root}/current.conf", target=f"{root}/etc/app.conf")

files.line(name="a line in a file", path=f"{root}/etc/access.conf", line="^allow ", replace="allow 127.0.0.1")

server.shell(name="a command guarded by creates", commands=[f"test -e {root}/done || touch {root}/done"])
