# Workload B of bench/apply.sh for pyinfra 3: the equivalent of loop.yml. One server.shell
# operation with 50 commands: pyinfra runs each command of an operation as its own remote
# execution, in order, as Ansible runs one module execution per loop item. So both make 50
# remote command runs per host from one task/operation, and the benchmark checks the same
# file (0..49, one per line) afterwards. Run as: pyinfra -y INVENTORY loop_deploy.py --data bench_dir=DIR
from pyinfra import host
from pyinfra.operations import server

server.shell(
    name="echo each item",
    commands=[f"echo {i} >> {host.data.bench_dir}/{host.name}" for i in range(50)],
)
