#!/usr/bin/env bash
# The local cloud of `make run` / `make stop`: a control plane and AGENTS node agents, each agent in its own
# network namespace ("host") on an underlay bridge that lives in a namespace of its own. The underlay is the /28
# 192.0.2.224/28 of 192.0.2.0/24: the machine itself may sit on 192.0.2.0/24 (here eth0 is 192.0.2.2 with its
# gateway at .1), and the more specific /28 route keeps the two apart. The server listens on 192.0.2.225, the
# root namespace's end of a veth into the underlay, so agents and the CLI both reach it; node-N is 192.0.2.(225+N).
# Usage: run-local.sh start|stop KUMO RUN_DIR [AGENTS]
# Every name starts with $KUMO_PREFIX (default kumo-): namespaces ${P}ul, ${P}h1…, links ${P}0, ${P}h1u….
set -euo pipefail
cmd=$1 kumo=$2 dir=$3 agents=${4:-3}
P=${KUMO_PREFIX:-kumo-}
server_ip=192.0.2.225
mask=/28
url=https://$server_ip:7480
ul=${P}ul

here=$(cd "$(dirname "$0")" && pwd)
# each daemon runs under supervise.sh, which restarts it when it crashes: NAME.supervisor.pid is the loop,
# NAME.pid the daemon itself (kill -9 $(cat .kumo-run/agent-1.pid) is a crash; the agent is back in ~1 s)
supervise="$here/supervise.sh"

SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
as_root() { $SUDO "$@"; }
pid_alive() { [ -f "$1" ] && $SUDO kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pid() {  # pidfile name
  local f=$1 what=$2
  if pid_alive "$f"; then
    local pid; pid=$(cat "$f")
    $SUDO kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do $SUDO kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    $SUDO kill -KILL "$pid" 2>/dev/null || true
    echo "stopped $what"
  fi
  rm -f "$f"
}

teardown() {
  for i in $(seq 1 9); do
    stop_pid "$dir/agent-$i.supervisor.pid" "agent node-$i"
    stop_pid "$dir/agent-$i.pid" "agent node-$i"
    if [ -d "$dir/agent-$i" ]; then
      # containers keep running when an agent stops; remove them and their sandboxes for good
      as_root "$kumo" agent reset --name "node-$i" --data-dir "$dir/agent-$i" --runc-root "$dir/agent-$i/runc" \
        >>"$dir/reset.log" 2>&1 || echo "kumo agent reset node-$i failed; see $dir/reset.log"
    fi
  done
  stop_pid "$dir/server.supervisor.pid" "kumo server"
  stop_pid "$dir/server.pid" "kumo server"
  for i in $(seq 1 9); do as_root ip netns del "${P}h$i" 2>/dev/null || true; done
  as_root ip netns del "$ul" 2>/dev/null || true
  as_root ip link del "${P}0" 2>/dev/null || true
}

case $cmd in
start)
  teardown >/dev/null 2>&1 || true
  rm -rf "$dir"
  mkdir -p "$dir"
  # underlay: a bridge in its own namespace; the root namespace joins it at 192.0.2.225
  as_root ip netns add "$ul"
  as_root ip -n "$ul" link add br0 type bridge
  as_root ip -n "$ul" link set br0 up
  as_root ip link add "${P}0" type veth peer name "${P}0u" netns "$ul"
  as_root ip addr add "$server_ip$mask" dev "${P}0"
  as_root ip link set "${P}0" up
  as_root ip -n "$ul" link set "${P}0u" master br0 up
  [ "$agents" -ge 1 ] && [ "$agents" -le 9 ] || { echo "AGENTS must be 1 to 9"; exit 2; }
  for i in $(seq 1 "$agents"); do
    h=${P}h$i
    as_root ip netns add "$h"
    as_root ip link add "${h}u" type veth peer name eth0 netns "$h"
    as_root ip link set "${h}u" netns "$ul"
    as_root ip -n "$ul" link set "${h}u" master br0 up
    as_root ip -n "$h" addr add "192.0.2.$((225 + i))$mask" dev eth0
    as_root ip -n "$h" link set eth0 up
    as_root ip -n "$h" link set lo up
  done
  nohup "$supervise" "$dir/server.pid" "$dir/server.log" -- "$kumo" server --data-dir "$dir/data" \
    --listen "$server_ip:7480" >/dev/null 2>&1 &
  echo $! >"$dir/server.supervisor.pid"
  # HTTPS only: the server made its cluster CA (data/ca.crt) at first start; everything here trusts only it
  ca=$dir/data/ca.crt
  ready() { [ -f "$ca" ] && curl -sf --cacert "$ca" "$url/readyz" >/dev/null 2>&1; }
  for _ in $(seq 1 100); do
    ready && break
    grep -q "supervise.sh: kumo exited" "$dir/server.log" 2>/dev/null \
      && { echo "kumo server failed to start:"; tail -20 "$dir/server.log"; exit 1; }
    sleep 0.1
  done
  ready || { echo "kumo server did not become ready; see $dir/server.log"; exit 1; }
  export KUMO_CONFIG=$dir/config
  "$kumo" login --server "$url" --token-file "$dir/data/admin.token" --ca "$ca" >/dev/null 2>&1 \
    || "$kumo" login --server "$url" --token-file "$dir/data/admin.token" --ca "$ca"
  "$kumo" token create --join --name local-agents --quiet >"$dir/join.token"
  chmod 600 "$dir/join.token"
  for i in $(seq 1 "$agents"); do
    # nsenter --net (not ip netns exec, whose private mount namespace would hide the pod namespaces the agent
    # names under /run/netns from everyone else, including the agent after a restart). The join token pins the
    # cluster CA (K10<sha256>::…): each agent checks the server against it before it sends the token.
    $SUDO nohup "$supervise" "$dir/agent-$i.pid" "$dir/agent-$i.log" -- \
      nsenter --net="/run/netns/${P}h$i" "$kumo" agent --server "$url" --join-token-file "$dir/join.token" \
      --name "node-$i" --data-dir "$dir/agent-$i" --runc-root "$dir/agent-$i/runc" --cpu 2 --memory 2Gi \
      --label "zone=zone-$(( (i - 1) % 2 + 1 ))" --listen 0.0.0.0:7481 --log-level "${KUMO_AGENT_LOG_LEVEL:-info}" >/dev/null 2>&1 &
    echo $! >"$dir/agent-$i.supervisor.pid"
  done
  for _ in $(seq 1 150); do
    ready=$("$kumo" get nodes 2>/dev/null | awk '$2 == "Ready"' | wc -l)
    [ "$ready" -ge "$agents" ] && break
    sleep 0.2
  done
  if [ "${ready:-0}" -lt "$agents" ]; then
    echo "only ${ready:-0} of $agents nodes became Ready; logs in $dir"; "$kumo" get nodes || true; exit 1
  fi
  "$kumo" image push busybox:latest --from-busybox >"$dir/image-push.log" 2>&1 \
    || { echo "pushing the demo image failed; see $dir/image-push.log"; exit 1; }
  # the VM demo: a tiny kernel image (built once from Debian packages, cached) and one small VM booting in the
  # background under TCG (~6 s); KUMO_NO_VM=1 skips it
  vm_msg="  (VM demo skipped: KUMO_NO_VM=1)"
  if [ -z "${KUMO_NO_VM:-}" ]; then
    if images=$(as_root "$here/build-vm-images.sh" 2>>"$dir/vm-images.log" | tail -1) && [ -f "$images/kernel/vmlinuz" ] \
      && "$kumo" image push tiny-vm:latest --kernel "$images/kernel/vmlinuz" --initrd "$images/kernel/initrd.img" \
        --cmdline "$(cat "$images/kernel/cmdline")" -q >>"$dir/image-push.log" 2>&1; then
      printf 'apiVersion: kumo/v1\nkind: Project\nmetadata: {name: vms}\n' >"$dir/vms-project.yaml"
      "$kumo" apply -f "$dir/vms-project.yaml" >/dev/null
      "$kumo" instance create vm1 --image tiny-vm:latest --memory 128Mi -p vms >/dev/null
      vm_msg="  a VM (vm1, project vms) is booting: kumo get instances -p vms -o wide; kumo describe instance/vm1 -p vms"
    else
      vm_msg="  (VM demo not started: building the VM images failed, see $dir/vm-images.log; run scripts/build-vm-images.sh)"
    fi
  fi
  cat <<MSG
Kumo is running: a control plane and $agents node agents, each in its own network namespace.
  API:          $url   (HTTPS; admin token: $dir/data/admin.token)
  cluster CA:   $ca   (the CLI config and every agent trust only it)
  CLI config:   $dir/config
  logs:         $dir/server.log, $dir/agent-N.log
  hosts:        ip netns exec ${P}hN …   (underlay 192.0.2.224/28; node-N is 192.0.2.(225+N))
Try:
  export KUMO_CONFIG=$dir/config PATH=$(dirname "$kumo"):\$PATH
  kumo get nodes -o wide
  kumo apply -f examples/project.yaml -f examples/workload.yaml -f examples/service.yaml
  kumo get replicas -p demo -o wide
  ip netns exec ${P}h1 curl -s http://10.96.0.80/     # the service VIP, from any host: replies rotate over the replicas
  curl -s http://192.0.2.226:30080/                   # its external port on node-1's underlay address
  kumo describe service/web -p demo                   # endpoints, each node's HAProxy: sessions, queue, req/min, timings
  kumo state lb/node-1                                # one node's load balancer in full
  kumo logs replica/NAME -p demo
  kumo scale workload/web -p demo --replicas 5
VMs:
$vm_msg
  kumo console instance/vm1 -p vms -f      (serial console)
  kumo state dhcp/node-1                   (the node's dnsmasq: hosts, leases, DHCP counters)
  kumo instance stop|start|reboot|delete vm1 -p vms
Stop it with: make stop   (run make run again to start afresh)
MSG
  ;;
stop)
  teardown
  echo "local Kumo removed"
  ;;
*) echo "usage: $0 start|stop KUMO RUN_DIR [AGENTS]" >&2; exit 2 ;;
esac
