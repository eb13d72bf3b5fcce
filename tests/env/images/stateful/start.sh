#!/bin/sh
# Entry point of stateful:v1 (busybox sh, PID 1).
set -e
mkdir -p /data
echo "boot $(date -u +%Y-%m-%dT%H:%M:%SZ) $(hostname)" >>/data/boot.log
# httpd as PID 1 would ignore SIGTERM: stay PID 1 and exit 0 on TERM.
trap 'exit 0' TERM INT
httpd -f -p 8080 -h /data &
wait
