#!/bin/sh
# Every replica needs its own NODE_ID: default it to the container's host name, which
# compose makes unique per replica (poller_1, poller_2, ...).
: "${NODE_ID:=$(hostname)}"
export NODE_ID
mkdir -p "${DP_CONTROL_DIR:-/run/distpoll}"
exec "$@"
