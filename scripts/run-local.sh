#!/usr/bin/env bash
# Starts/stops the local Kumo of `make run` / `make stop`. Usage: run-local.sh start|stop KUMO RUN_DIR LISTEN
set -euo pipefail
cmd=$1 kumo=$2 dir=$3 listen=$4
pidfile=$dir/server.pid
url=http://$listen

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case $cmd in
start)
  mkdir -p "$dir"
  if running; then
    echo "kumo server already running (pid $(cat "$pidfile")) at $url"
  else
    nohup "$kumo" server --data-dir "$dir/data" --listen "$listen" >>"$dir/server.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if curl -sf "$url/readyz" >/dev/null 2>&1; then break; fi
      if ! running; then echo "kumo server failed to start; last log lines:"; tail -20 "$dir/server.log"; exit 1; fi
      sleep 0.1
    done
    curl -sf "$url/readyz" >/dev/null || { echo "kumo server did not become ready; see $dir/server.log"; exit 1; }
  fi
  KUMO_CONFIG=$dir/config "$kumo" login --server "$url" --token-file "$dir/data/admin.token" >/dev/null
  cat <<MSG
Kumo control plane is running.
  URL:          $url
  admin token:  $dir/data/admin.token
  CLI config:   $dir/config
  server log:   $dir/server.log
Try:
  export KUMO_CONFIG=$dir/config PATH=$(dirname "$kumo"):\$PATH
  kumo apply -f examples/project.yaml && kumo get projects && kumo history project/demo
Stop it with: make stop
MSG
  ;;
stop)
  if running; then
    pid=$(cat "$pidfile")
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    echo "kumo server stopped"
  else
    echo "kumo server is not running"
  fi
  rm -f "$pidfile"
  ;;
*) echo "usage: $0 start|stop KUMO RUN_DIR LISTEN" >&2; exit 2 ;;
esac
