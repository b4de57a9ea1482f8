#!/bin/sh
# Raise the open-file limit to the hard limit (11,000 sockets need it), then run the command.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec "$@"
