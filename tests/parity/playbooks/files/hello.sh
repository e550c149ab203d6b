#!/bin/sh
# Used by 05-script.yml and 43-environment.yml: prints its arguments and $PARITY_PLAY.
echo "script args: $*"
echo "first: $1"
echo "env: ${PARITY_PLAY:-unset}"
exit 0
