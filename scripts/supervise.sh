#!/usr/bin/env bash
# supervise.sh PIDFILE LOG -- COMMAND…: what restarts a crashed `kumo server` or `kumo agent` in `make run`.
# Runs COMMAND (its output appended to LOG, its pid in PIDFILE), and when it exits for any reason other than
# our own SIGTERM, starts it again: after 1 s, doubling to 30 s, back to 1 s once it has stayed up 60 s. Each
# restart is a line in LOG. SIGTERM/SIGINT stop COMMAND (SIGTERM: the daemons' graceful stop) and then the loop.
# Production supervises the daemons with systemd instead: docs/operations.md has the units.
set -u
pidfile=$1 log=$2
shift 2
[ "${1:-}" = "--" ] && shift
child=0 stopping=0 delay=1
trap 'stopping=1; [ "$child" -gt 0 ] && kill -TERM "$child" 2>/dev/null' TERM INT
while :; do
  started=$(date +%s)
  "$@" >>"$log" 2>&1 &
  child=$!
  echo "$child" >"$pidfile"
  # `wait` returns early when a trapped signal arrives: wait until the child is really gone
  status=0
  while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
  [ "$stopping" = 1 ] && break
  up=$(( $(date +%s) - started ))
  [ "$up" -ge 60 ] && delay=1
  echo "supervise.sh: $(basename "$1") exited with status $status after ${up}s; restarting in ${delay}s" >>"$log"
  sleep "$delay" & wait $!
  [ "$stopping" = 1 ] && break
  delay=$(( delay * 2 > 30 ? 30 : delay * 2 ))
done
rm -f "$pidfile"
