#!/bin/sh
# Used by 05-script.yml: prints its arguments and the directory it runs in.
echo "script args: $*"
echo "first: $1"
exit 0
