#!/bin/sh
# Used by 05-script.yml: exits 3 (a failure the playbook ignores on purpose).
echo "about to fail" >&2
exit 3
